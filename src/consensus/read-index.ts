/**
 * Read-index bookkeeping on a leader. A read request is held until the leader
 * has committed an entry of its own term; it then gets the commit index and a
 * heartbeat round number (seq). It is answered once a quorum has acknowledged
 * a heartbeat round >= seq, which proves no newer leader existed when the
 * request arrived.
 */
export interface PendingRead {
  readonly ctx: number;
  readonly index: number;
  readonly seq: number;
}

export class ReadIndexQueue {
  private waiting: number[] = [];
  private pending: PendingRead[] = [];

  size(): number {
    return this.waiting.length + this.pending.length;
  }

  hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /** Hold a request until the leader's first commit in its term. */
  wait(ctx: number): void {
    this.waiting.push(ctx);
  }

  /** Give every waiting request its read index and heartbeat round. */
  assignWaiting(index: number, seq: number): void {
    for (const ctx of this.waiting) this.pending.push({ ctx, index, seq });
    this.waiting = [];
  }

  /** Requests whose round `seq` is confirmed by a quorum, in arrival order. */
  release(confirmedSeq: number): PendingRead[] {
    let k = 0;
    while (k < this.pending.length && (this.pending[k] as PendingRead).seq <= confirmedSeq) k++;
    if (k === 0) return [];
    const done = this.pending.slice(0, k);
    this.pending = this.pending.slice(k);
    return done;
  }

  /** Everything outstanding (on losing leadership). */
  drain(): number[] {
    const all = [...this.waiting, ...this.pending.map((p) => p.ctx)];
    this.waiting = [];
    this.pending = [];
    return all;
  }
}
