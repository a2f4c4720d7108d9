/**
 * What producers were told, and the checks of what a node serves against it
 * (the Kafka system tests' VerifiableProducer/Consumer idea): every record
 * carries a unique payload; the ledger remembers each payload's outcome
 * (acked at shard/seq, failed, or still unknown), and a read-back must show
 * every acked payload at its acked seq, byte for byte, and no payload twice.
 */
import type { Client } from '../../../src/client/client.js';
import type { ShardInfo } from '../../../src/client/types.js';
import { bytesEqual, readRange, text } from './records.js';

export interface Ack {
  shard: number;
  seq: number;
}

export class Ledger {
  /** payload -> where it was acked. */
  readonly acked = new Map<string, Ack>();
  /** shard -> seq -> payload acked there. */
  readonly bySeq = new Map<number, Map<number, string>>();
  /** payloads sent and not (yet) acked; failed ones stay here (outcome unknown). */
  readonly pending = new Set<string>();
  readonly failed = new Map<string, string>();
  readonly violations: string[] = [];
  attempted = 0;

  attempt(payload: string): void {
    this.attempted++;
    this.pending.add(payload);
  }

  ack(payload: string, shard: number, seq: number): void {
    this.pending.delete(payload);
    const before = this.acked.get(payload);
    if (before !== undefined) {
      this.violations.push(`payload ${payload} acked twice: shard ${before.shard} seq ${before.seq}, then shard ${shard} seq ${seq}`);
      return;
    }
    let m = this.bySeq.get(shard);
    if (m === undefined) this.bySeq.set(shard, (m = new Map()));
    const other = m.get(seq);
    if (other !== undefined) this.violations.push(`shard ${shard} seq ${seq} acked for two payloads: ${other} and ${payload}`);
    m.set(seq, payload);
    this.acked.set(payload, { shard, seq });
  }

  fail(payload: string, err: unknown): void {
    this.failed.set(payload, err instanceof Error ? `${(err as { codeName?: string }).codeName ?? err.name}: ${err.message}` : String(err));
  }

  /** Highest acked seq per shard (-1 when none). */
  maxAckedSeq(shard: number): number {
    let max = -1;
    for (const s of this.bySeq.get(shard)?.keys() ?? []) if (s > max) max = s;
    return max;
  }

  /** Lowest acked seq per shard among a set of acks (Infinity when none). */
  static minSeq(acks: Iterable<Ack>, shard: number): number {
    let min = Infinity;
    for (const a of acks) if (a.shard === shard && a.seq < min) min = a.seq;
    return min;
  }
}

export interface ReadBackReport {
  /** Records read and validated (CRC, serverCrc, seq) client side. */
  recordsRead: number;
  /** Acked records found at their seq with identical bytes. */
  ackedChecked: number;
  /** Records present whose send had no ack (outcome was unknown to the producer). */
  unackedPresent: number;
}

const encoder = new TextEncoder();

/**
 * Reads shards [from, endSeq) and checks them against the ledger. `acks` are
 * the acknowledgements that must be present (all of the ledger's when omitted).
 * Full mode (from = startSeq of every shard) also proves no payload is stored
 * twice and none was invented.
 */
export async function readBack(
  client: Client,
  ns: string,
  stream: string,
  shards: number,
  ledger: Ledger,
  opts: { from?: (shard: number) => number; acks?: Map<string, Ack>; full: boolean },
): Promise<ReadBackReport> {
  const desc = await client.describeStream(stream, { namespace: ns });
  const must = opts.acks ?? ledger.acked;
  const report: ReadBackReport = { recordsRead: 0, ackedChecked: 0, unackedPresent: 0 };
  const seen = new Map<string, Ack>();
  const problems: string[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const info = servingShard(desc.shardInfo[shard]!);
    const from = Math.max(info.startSeq, opts.from?.(shard) ?? info.startSeq);
    const expected = ledger.bySeq.get(shard) ?? new Map<number, string>();
    let mustMax = -1;
    for (const a of must.values()) if (a.shard === shard && a.seq > mustMax) mustMax = a.seq;
    if (mustMax >= info.endSeq) problems.push(`shard ${shard}: acked seq ${mustMax} is at or past endSeq ${info.endSeq}: acked records were lost`);
    if (info.startSeq > 0 && opts.full) problems.push(`shard ${shard}: startSeq is ${info.startSeq}, but no retention is configured: records vanished`);
    report.recordsRead += await readRange(client, ns, stream, shard, from, info.endSeq, (r) => {
      const payload = text(r.payload);
      const want = expected.get(r.seq);
      if (want !== undefined) {
        if (!bytesEqual(r.payload, encoder.encode(want))) problems.push(`shard ${shard} seq ${r.seq}: acked payload ${want} but the node serves ${payload}`);
        else report.ackedChecked++;
      } else {
        report.unackedPresent++;
        if (opts.full && !ledger.pending.has(payload) && !ledger.acked.has(payload)) problems.push(`shard ${shard} seq ${r.seq}: payload ${payload.slice(0, 80)} was never sent`);
      }
      const dup = seen.get(payload);
      if (dup !== undefined) problems.push(`payload ${payload.slice(0, 80)} is stored twice: shard ${dup.shard} seq ${dup.seq} and shard ${shard} seq ${r.seq}`);
      seen.set(payload, { shard, seq: r.seq });
    });
    for (const [payload, a] of must) {
      if (a.shard !== shard || a.seq < from) continue;
      const got = seen.get(payload);
      if (got === undefined || got.seq !== a.seq) problems.push(`acked payload ${payload} (shard ${shard} seq ${a.seq}) is ${got === undefined ? 'missing' : `at seq ${got.seq}`}`);
      if (problems.length > 50) break;
    }
  }
  if (problems.length > 0) throw new Error(`${problems.length} read-back problem(s): ${problems.slice(0, 10).join('; ')}`);
  return report;
}

/** A described shard that serves (its figures are numbers); throws naming the reason when it failed. */
export function servingShard(s: ShardInfo): { shard: number; startSeq: number; endSeq: number; bytes: number; segments: number } {
  if (s.failed !== null || s.startSeq === null || s.endSeq === null || s.bytes === null || s.segmentFiles === null) {
    throw new Error(`shard ${s.shard} does not serve: ${s.failed ?? 'no figures'}`);
  }
  return { shard: s.shard, startSeq: s.startSeq, endSeq: s.endSeq, bytes: s.bytes, segments: s.segmentFiles };
}
