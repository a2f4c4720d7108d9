/**
 * Client-side checks of what a node serves: every record of every fetch is
 * validated here, independently of the node (length bounds, the producer's
 * CRC over [32, length), the node's serverCrc over seq/appendTime/epoch, and
 * the seq it should have), so a corrupt byte served by the node is caught.
 */
import { RECORD_BYTES_LIMIT } from '../../../src/record/layout.js';
import { dataViewOf, decodeRecord, encodeRecord, recordProblem, recordSeq } from '../../../src/record/record.js';
import { OP } from '../../../src/protocol/ops.js';
import type { Client } from '../../../src/client/client.js';
import { NativeLogError } from '../../../src/client/types.js';

/** Bytes asked for per fetch when reading a shard back. */
export const READ_BACK_FETCH_BYTES = 1024 * 1024;

export interface ServedRecord {
  seq: number;
  appendTime: number;
  payload: Uint8Array;
}

export class ServedCorruptError extends Error {}

/**
 * Validates the records of one fetch body, expected to start at firstSeq.
 * Throws ServedCorruptError naming the seq and the problem when any byte is wrong.
 */
export function checkFetchBody(body: Uint8Array, firstSeq: number, count: number, where: string): ServedRecord[] {
  const dv = dataViewOf(body);
  const out: ServedRecord[] = [];
  let off = 0;
  let seq = firstSeq;
  while (off < body.length) {
    const p = recordProblem(dv, off, body.length, RECORD_BYTES_LIMIT, true);
    if (typeof p !== 'number') throw new ServedCorruptError(`${where}: the node served a corrupt record at seq ${seq} (body byte ${off}): ${p[0]}: ${p[1]}`);
    const got = recordSeq(dv, off);
    if (got !== seq) throw new ServedCorruptError(`${where}: the node served seq ${got} where seq ${seq} belongs (seqs must be dense)`);
    const d = decodeRecord(body, off);
    out.push({ seq, appendTime: d.appendTime, payload: d.payload.slice() });
    off += p;
    seq++;
  }
  if (out.length !== count) throw new ServedCorruptError(`${where}: the fetch answer says ${count} records but its body holds ${out.length}`);
  return out;
}

export interface FetchOutcome {
  records: ServedRecord[];
  nextSeq: number;
}

/** One fetch from fromSeq (no long-poll), validated. Errors from the node are thrown as NativeLogError. */
export async function fetchChecked(client: Client, ns: string, stream: string, shard: number, fromSeq: number, maxBytes = READ_BACK_FETCH_BYTES): Promise<FetchOutcome> {
  const r = await client.connection.request(OP.FETCH, { namespace: ns, name: stream, shard, fromSeq, maxBytes, maxWaitMs: 0 }, { retry: true });
  const firstSeq = r.header['firstSeq'];
  const nextSeq = r.header['nextSeq'];
  const count = r.header['count'];
  if (typeof firstSeq !== 'number' || typeof nextSeq !== 'number' || typeof count !== 'number') {
    throw new ServedCorruptError(`fetch ${ns}/${stream}/${shard} from ${fromSeq}: answer lacks firstSeq/nextSeq/count`);
  }
  if (count > 0 && firstSeq !== fromSeq) throw new ServedCorruptError(`fetch ${ns}/${stream}/${shard} from ${fromSeq} answered from seq ${firstSeq}`);
  if (nextSeq !== fromSeq + count) throw new ServedCorruptError(`fetch ${ns}/${stream}/${shard} from ${fromSeq}: nextSeq ${nextSeq} != fromSeq + count ${fromSeq + count}`);
  return { records: checkFetchBody(r.body, fromSeq, count, `fetch ${ns}/${stream}/${shard} from ${fromSeq}`), nextSeq };
}

/** Every record of [fromSeq, toSeq) of a shard, validated; throws on any node error. */
export async function readRange(client: Client, ns: string, stream: string, shard: number, fromSeq: number, toSeq: number, onRecord: (r: ServedRecord) => void): Promise<number> {
  let seq = fromSeq;
  let n = 0;
  while (seq < toSeq) {
    const f = await fetchChecked(client, ns, stream, shard, seq);
    if (f.records.length === 0) throw new Error(`fetch ${ns}/${stream}/${shard} from ${seq} returned nothing before the end ${toSeq}`);
    for (const r of f.records) {
      if (r.seq >= toSeq) return n;
      onRecord(r);
      n++;
    }
    seq = f.nextSeq;
  }
  return n;
}

export function isCode(err: unknown, name: string): boolean {
  return err instanceof NativeLogError && err.codeName === name;
}

const decoder = new TextDecoder();
export function text(b: Uint8Array): string {
  return decoder.decode(b);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export type AppendOutcome = { ok: true; firstSeq: number; count: number } | { ok: false; name: string; message: string };

/** One append request of the given payloads to one shard, with the node's per-part answer (no retries). */
export async function appendRaw(client: Client, ns: string, stream: string, shard: number, payloads: Uint8Array[]): Promise<AppendOutcome> {
  const recs = payloads.map((payload) => encodeRecord({ payload }));
  const body = new Uint8Array(recs.reduce((n, r) => n + r.length, 0));
  let off = 0;
  for (const r of recs) {
    body.set(r, off);
    off += r.length;
  }
  try {
    const r = await client.connection.request(OP.APPEND, { namespace: ns, name: stream, parts: [{ shard, bytes: body.length }] }, { body: [body] });
    const res = (r.header['results'] as Record<string, unknown>[] | undefined)?.[0];
    if (res === undefined) throw new Error('append answer without results');
    const e = res['error'] as { name?: string; message?: string } | undefined;
    if (e !== undefined) return { ok: false, name: String(e.name), message: String(e.message) };
    return { ok: true, firstSeq: Number(res['firstSeq']), count: Number(res['count']) };
  } catch (err) {
    if (err instanceof NativeLogError) return { ok: false, name: err.codeName, message: err.message };
    throw err;
  }
}
