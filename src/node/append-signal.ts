/**
 * Wakes fetch long-polls of one shard when it gets new records. Fed by
 * ShardHandle.onAppend; remembers the latest end so a wait that starts after
 * an append it has not seen returns at once (no lost wake-up).
 */
export class AppendSignal {
  private endSeq = 0;
  private waiters = new Set<() => void>();

  /** The highest end seq an append reported (0 until the first append this process saw). */
  get knownEndSeq(): number {
    return this.endSeq;
  }

  notify(endSeq: number): void {
    if (endSeq > this.endSeq) this.endSeq = endSeq;
    this.wakeAll();
  }

  /** Wakes every waiter (appends, shutdown, stream deletion). */
  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }

  /** Resolves once a record at or past fromSeq may exist, or after ms. */
  wait(fromSeq: number, ms: number): Promise<void> {
    if (this.endSeq > fromSeq || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}
