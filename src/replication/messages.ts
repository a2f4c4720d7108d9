/**
 * Peer message kinds of record replication (docs/REPLICATION.md, "Messages").
 * Each is checked at the edge (shape, ranges) before it is acted on; record
 * bytes travel as the frame's raw body, never through msgpack.
 *
 *   r-append        {ref, epoch, firstSeq, count, commit} + raw records   sequencer -> replica
 *   r-commit        {ref, epoch, commit}                                   sequencer -> replica (idle heartbeat)
 *   r-ack           {ref, epoch, endSeq, lastEpoch, error?}                replica -> sequencer (answers both; error SEQ_GAP, RESYNC, FENCED, ...)
 *   r-fence         {ref, id, epoch}                                       new sequencer -> replica
 *   r-fence-result  {id, endSeq, lastEpoch} | {id, error}                  replica -> new sequencer
 *   r-read          {ref, id, fromSeq, endSeq, maxBytes}                   new sequencer -> replica (recovery)
 *   r-read-result   {id, firstSeq, nextSeq, count} + raw | {id, error}     replica -> new sequencer
 *
 * ref = {ns, name, inc, shard}: the stream's namespace, name, incarnation
 * and the shard. `epoch` is the sender's sequencer epoch (the writer's, not
 * the records'); `commit` the seq after the last committed record as the
 * sequencer knows it; `endSeq` the seq after the replica's last record.
 */
import type { KindCheck } from '../cluster/peer-message.js';

export interface ShardKey {
  ns: string;
  name: string;
  inc: string;
  shard: number;
}

const SEQ_MAX = Number.MAX_SAFE_INTEGER;
const EPOCH_MAX = 0xffff_ffff;
const NAME_CHARS_MAX = 256;

function obj(b: unknown): b is Record<string, unknown> {
  return typeof b === 'object' && b !== null && !Array.isArray(b);
}

function intIn(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

function str(v: unknown): boolean {
  return typeof v === 'string' && v.length <= NAME_CHARS_MAX;
}

/** Null when `b` carries a valid shard ref, else why not. */
export function refProblem(b: Record<string, unknown>): string | null {
  if (!str(b.ns) || (b.ns as string).length === 0) return 'needs ns';
  if (!str(b.name) || (b.name as string).length === 0) return 'needs name';
  if (!str(b.inc)) return 'needs inc';
  if (!intIn(b.shard, 0, 1_000_000)) return 'needs shard';
  return null;
}

function check(fields: Record<string, [number, number]>, needRef: boolean, alt?: (b: Record<string, unknown>) => boolean): KindCheck {
  return (b) => {
    if (!obj(b)) return 'the body is not a map';
    if (alt !== undefined && alt(b)) return null;
    if (needRef) {
      const p = refProblem(b);
      if (p !== null) return p;
    }
    for (const [k, [min, max]] of Object.entries(fields)) if (!intIn(b[k], min, max)) return `needs ${k} in [${min}, ${max}]`;
    return null;
  };
}

const errorAnswer = (b: Record<string, unknown>): boolean => intIn(b.id, 0, 0xffff_ffff) && typeof b.error === 'string' && (b.error as string).length <= 64;

export const REPLICATION_KINDS: Record<string, KindCheck> = {
  'r-append': check({ epoch: [1, EPOCH_MAX], firstSeq: [0, SEQ_MAX], count: [1, 0xffff_ffff], commit: [0, SEQ_MAX] }, true),
  'r-commit': check({ epoch: [1, EPOCH_MAX], commit: [0, SEQ_MAX] }, true),
  'r-ack': (b, from, to) => {
    const base = check({ epoch: [1, EPOCH_MAX], endSeq: [0, SEQ_MAX], lastEpoch: [0, EPOCH_MAX] }, true)(b, from, to);
    if (base !== null) return base;
    const e = (b as Record<string, unknown>).error;
    return e === undefined || (typeof e === 'string' && e.length <= 64) ? null : 'error must be a code';
  },
  'r-fence': check({ id: [0, 0xffff_ffff], epoch: [1, EPOCH_MAX] }, true),
  'r-fence-result': check({ id: [0, 0xffff_ffff], endSeq: [0, SEQ_MAX], lastEpoch: [0, EPOCH_MAX] }, false, errorAnswer),
  'r-read': check({ id: [0, 0xffff_ffff], fromSeq: [0, SEQ_MAX], endSeq: [0, SEQ_MAX], maxBytes: [1, 64 * 1024 * 1024] }, true),
  'r-read-result': check({ id: [0, 0xffff_ffff], firstSeq: [0, SEQ_MAX], nextSeq: [0, SEQ_MAX], count: [0, 0xffff_ffff] }, false, errorAnswer),
};

/** Kinds whose frame body is raw record bytes. */
export const REPLICATION_RAW_KINDS: readonly string[] = ['r-append', 'r-read-result'];

export function keyOf(k: ShardKey): string {
  return `${k.ns}/${k.name}/${k.inc}/${k.shard}`;
}

export function refOf(b: Record<string, unknown>): ShardKey {
  return { ns: b.ns as string, name: b.name as string, inc: b.inc as string, shard: b.shard as number };
}
