/**
 * How far a replica's log can be trusted, from its last record's epoch and
 * the shard's segments (docs/REPLICATION.md, "Replica ends").
 *
 * Every record of a segment carries the segment's epoch (a sequencer stamps
 * its own epoch and writes only into the segment it opened; recovery keeps
 * only records of the segment being sealed). Epochs never decrease along a
 * log (the store refuses it), and a replica always reports the end it
 * agrees on, so a wrong record can only sit at the tail: records of epoch E
 * past the sealed end of E's segment are the unacknowledged tail of a
 * deposed sequencer, cut by the recovery that sealed it. Pure function.
 */
import type { SegmentPlacement } from '../metastore/types.js';

/**
 * The seq up to which a log ending at `endSeq` with last record epoch
 * `lastEpoch` agrees with the shard (records from there on must be cut).
 */
export function trustedEnd(endSeq: number, lastEpoch: number, segments: readonly SegmentPlacement[]): number {
  if (lastEpoch === 0) return endSeq; // no record carries an epoch: a single node's log, or empty
  const own = segments.find((s) => s.epoch === lastEpoch);
  if (own !== undefined) return own.endSeq === null ? endSeq : Math.min(endSeq, own.endSeq);
  // No segment of that epoch (an epoch whose sequencer never opened one cannot have written): trust up to the first newer segment.
  const newer = segments.find((s) => s.epoch > lastEpoch);
  return newer === undefined ? endSeq : Math.min(endSeq, newer.baseSeq);
}

/**
 * The recovery's tail search (LogDevice's, with our epochs): given the fence
 * answers of at least R - W + 1 replicas of the active segment (epoch
 * `segmentEpoch`, base `baseSeq`), the end that covers every record that may
 * have been acknowledged. Only answers whose last record is of the
 * segment's epoch hold records of it; the others hold none past baseSeq.
 * Returns the chosen end and a replica that holds it (null: baseSeq, none
 * needed).
 */
export function recoveryEnd(
  answers: ReadonlyMap<number, { endSeq: number; lastEpoch: number }>,
  segmentEpoch: number,
  baseSeq: number,
): { endSeq: number; source: number | null } {
  let best = baseSeq;
  let source: number | null = null;
  for (const [node, a] of answers) {
    if (a.lastEpoch !== segmentEpoch) continue;
    if (a.endSeq > best) {
      best = a.endSeq;
      source = node;
    }
  }
  return { endSeq: best, source };
}
