/**
 * Test helper: an in-memory RaftPersistence that keeps exactly what persist()
 * resolved, in the contract's order (snapshot, entries, hard state), so a
 * restart built from durable() is what a real disk would hold after an
 * orderly crash; failNext makes the next persist fail (a failed fsync).
 */
import type { DurableState, Entry, HardState, Persist, Snapshot } from '../../src/consensus/index.js';

export class MemoryDisk {
  hardState: HardState = { term: 0, vote: 0 };
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  failNext = false;

  async persist(p: Persist): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.failNext) throw new Error('injected fsync failure');
    if (p.snapshot !== null) {
      const keep = this.entries.find((e) => e.index === p.snapshot!.index && e.term === p.snapshot!.term) !== undefined;
      this.entries = keep ? this.entries.filter((e) => e.index > p.snapshot!.index) : [];
      this.snapshot = p.snapshot;
    }
    if (p.entries.length > 0) {
      const first = p.entries[0]!.index;
      this.entries = this.entries.filter((e) => e.index < first).concat(p.entries);
    }
    if (p.hardState !== null) this.hardState = p.hardState;
  }

  durable(): DurableState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] };
  }
}
