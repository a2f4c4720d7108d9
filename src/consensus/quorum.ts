/** Majority arithmetic over a voter set. */
import type { NodeId } from './types.js';

/** Votes needed for a majority of `voterCount` voters. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest value that at least `needed` voters have reached (values from
 * `valueOf`, missing voters count as 0). With needed = quorumSize this is the
 * quorum-acknowledged index.
 */
export function indexReachedBy(voters: readonly NodeId[], needed: number, valueOf: (id: NodeId) => number): number {
  if (voters.length === 0 || needed <= 0) return 0;
  const values = voters.map(valueOf).sort((a, b) => b - a);
  return values[Math.min(needed, values.length) - 1] as number;
}
