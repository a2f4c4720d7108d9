/**
 * The leader's view of one follower's replication (flow control).
 *  - probe: one append in flight at a time, until the follower's match is found;
 *  - replicate: optimistic pipelining, at most inFlightEntriesMax unacknowledged entries;
 *  - snapshot: a snapshot was sent; nothing else until it is acknowledged or retried.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** probe: an append is outstanding (cleared by its answer or by the next heartbeat answer). */
  probeSent = false;
  /** snapshot: index of the snapshot sent, and ticks since it was sent. */
  pendingSnapshot = 0;
  snapshotTicks = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Highest read-index heartbeat round acknowledged. */
  ackedSeq = 0;
  /** match at the previous check-quorum round (a replicate pipeline that did not move is restarted). */
  matchAtLastCheck = 0;
  /** match when the latest heartbeat was sent (no progress by its answer: rewind). */
  matchAtHeartbeat = 0;

  constructor(next: number) {
    this.next = next;
  }

  /** Entries sent and not yet acknowledged (replicate state). */
  inFlightEntries(): number {
    return this.next - 1 - this.match;
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.probeSent = false;
    this.next = this.match + 1;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.next = Math.max(this.next, this.match + 1);
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.snapshotTicks = 0;
  }

  /** A success answer; returns true if match advanced. */
  acknowledge(index: number): boolean {
    if (index <= this.match) return false;
    this.match = index;
    if (this.next <= index) this.next = index + 1;
    return true;
  }
}
