/**
 * Serialises async operations per key: run(key, fn) starts fn only after
 * every earlier run of the same key has settled. The node uses it so that
 * admin operations on one stream (create, delete) never interleave: a
 * re-create waits for the delete before it, destroy of the old shards
 * included. Keys with nothing queued hold no memory.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await mine;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with an operation running or queued (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}
