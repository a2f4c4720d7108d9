/**
 * append and fetch: record bytes go to and come from shard handles as they
 * are; the main thread reads only the control header (zero serde).
 */
import { APPEND_PARTS_MAX, FETCH_BYTES_MAX } from '../protocol/limits.js';
import { FieldError, arr, asFields, int } from '../protocol/fields.js';
import type { AppendPartResult } from '../protocol/ops.js';
import type { ClientAccount } from './memory-budget.js';
import type { NodeContext, Reply } from './node-context.js';
import { ProtocolError, toWireError } from './protocol-error.js';
import { streamRef } from './admin-handlers.js';
import type { RoutedShard } from './router.js';
import type { Acks } from '../replication/sequencer.js';

const SHARD_FIELD_MAX = 1_000_000;

interface Part {
  shard: number;
  start: number;
  end: number;
}

function parseParts(h: Record<string, unknown>, bodyBytes: number): Part[] {
  const parts: Part[] = [];
  let pos = 0;
  for (const raw of arr(h, 'parts', APPEND_PARTS_MAX)) {
    const p = asFields(raw);
    const shard = int(p, 'shard', 0, SHARD_FIELD_MAX);
    const bytes = int(p, 'bytes', 0, bodyBytes - pos);
    if (bytes % 8 !== 0) throw new FieldError(`part for shard ${shard} is ${bytes} bytes; records are 8-byte aligned`);
    parts.push({ shard, start: pos, end: pos + bytes });
    pos += bytes;
  }
  if (pos !== bodyBytes) throw new FieldError(`parts cover ${pos} bytes but the body has ${bodyBytes}`);
  return parts;
}

const ACKS = ['none', 'leader', 'quorum'] as const;

function parseAcks(h: Record<string, unknown>): Acks {
  const v = h['acks'];
  if (v === undefined || v === null) return 'quorum';
  if (typeof v !== 'string' || !(ACKS as readonly string[]).includes(v)) throw new FieldError('field "acks" must be "none", "leader" or "quorum"');
  return v as Acks;
}

export async function append(ctx: NodeContext, header: unknown, body: Uint8Array): Promise<Reply> {
  const h = asFields(header);
  const { namespace, name } = streamRef(h);
  const parts = parseParts(h, body.length);
  const acks = parseAcks(h);
  const replication = ctx.replication;
  const stream = await ctx.router.stream(namespace, name);
  const results = await Promise.all(
    parts.map(async (part): Promise<AppendPartResult> => {
      try {
        const routed = stream.shards[part.shard];
        if (routed === undefined) {
          throw new ProtocolError('UNKNOWN_SHARD', `Stream "${name}" has ${stream.shards.length} shards; there is no shard ${part.shard}.`, { shards: stream.shards.length });
        }
        const records = body.subarray(part.start, part.end);
        // In a cluster the shard's sequencer stamps and replicates (acks: when to answer); a node alone writes it here.
        const r = replication !== undefined ? await replication.append(stream.config, part.shard, records, acks) : await routed.handle.append(records);
        return { shard: part.shard, firstSeq: r.firstSeq, lastSeq: r.lastSeq, count: r.count, appendTime: r.appendTime, duplicate: r.duplicate };
      } catch (err) {
        return { shard: part.shard, error: toWireError(err) };
      }
    }),
  );
  return { header: { results } };
}

/**
 * A fetch reserves its answer (maxBytes, at most a ring's worth) from the
 * connection's memory account before it reads, so the bytes copied out of the
 * ring are paid for; it waits for room when the node's budget (or its
 * connection's share) is full. maxBytes is clamped to one connection's share
 * of the budget: the shard still answers with at least one record, so a small
 * budget gives smaller answers instead of a fetch that can never start.
 */
export async function fetch(ctx: NodeContext, header: unknown, client: ClientAccount): Promise<Reply> {
  const h = asFields(header);
  const { namespace, name } = streamRef(h);
  const shard = int(h, 'shard', 0, SHARD_FIELD_MAX);
  const fromSeq = int(h, 'fromSeq', 0, Number.MAX_SAFE_INTEGER);
  const maxBytes = Math.min(int(h, 'maxBytes', 1, FETCH_BYTES_MAX), ctx.memory.connectionBytesMax);
  const maxWaitMs = Math.min(int(h, 'maxWaitMs', 0, Number.MAX_SAFE_INTEGER), ctx.config.fetchWaitMsMax);
  const routed = await ctx.router.shard(namespace, name, shard);
  const config = ctx.replication !== undefined ? (await ctx.router.stream(namespace, name)).config : null;
  const deadline = Date.now() + maxWaitMs;
  // A shard read never returns more than its ring carries; an answer above maxBytes (one big record) is paid for by resize() once read.
  const reserve = Math.min(maxBytes, ctx.config.ringBytes);
  for (;;) {
    const lease = await client.acquireAnswer(reserve);
    let r;
    try {
      if (config !== null) {
        // A cluster: only committed records, and none this node's store holds but cannot vouch for (no read-ahead).
        const cap = await ctx.replication!.readCap(config, shard);
        r = fromSeq >= cap ? { bytes: new Uint8Array(0), count: 0, firstSeq: fromSeq, nextSeq: fromSeq } : await readOrRange(routed, fromSeq, maxBytes, cap);
      } else {
        const ahead = await routed.readahead.take(fromSeq, maxBytes);
        r = ahead !== null && ahead.count > 0 ? ahead : await readOrRange(routed, fromSeq, maxBytes);
      }
    } catch (err) {
      lease.release();
      throw err;
    }
    const left = deadline - Date.now();
    if (r.count > 0 || left <= 0 || ctx.closing) {
      lease.resize(r.count > 0 ? r.bytes.length : 0);
      if (r.count > 0 && !ctx.closing && config === null) routed.readahead.afterAnswer(routed.handle, r.nextSeq, maxBytes, r.bytes.length, r.count, routed.signal.knownEndSeq);
      return { header: { shard, firstSeq: r.firstSeq, nextSeq: r.nextSeq, count: r.count }, body: r.count > 0 ? [r.bytes] : [], lease };
    }
    lease.release();
    await routed.signal.wait(fromSeq, left);
    if (ctx.closing) return { header: { shard, firstSeq: r.firstSeq, nextSeq: r.nextSeq, count: 0 }, body: [] };
  }
}

/** read(), with OUT_OF_RANGE errors carrying the valid range. */
async function readOrRange(routed: RoutedShard, fromSeq: number, maxBytes: number, endSeqMax?: number) {
  try {
    return await (routed.handle as RoutedShard['handle'] & { read(fromSeq: number, maxBytes: number, endSeqMax?: number): ReturnType<RoutedShard['handle']['read']> }).read(fromSeq, maxBytes, endSeqMax);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'OUT_OF_RANGE') throw err;
    const d = await routed.handle.describe();
    throw new ProtocolError('OUT_OF_RANGE', `Sequence number ${fromSeq} is outside the shard's range [${d.startSeq}, ${d.endSeq}].`, {
      startSeq: d.startSeq,
      endSeq: d.endSeq,
    });
  }
}
