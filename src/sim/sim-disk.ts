/**
 * One simulated node's durable storage: what survives a crash. It follows the
 * Persist contract of src/consensus/types.ts exactly.
 */
import type { DurableState, Entry, HardState, Persist, Snapshot } from '../consensus/types.js';

export class SimDisk {
  hardState: HardState = { term: 0, vote: 0 };
  snapshot: Snapshot | null = null;
  /** entries[k] has index base + 1 + k, base = snapshot index (0 without one). */
  private entries: Entry[] = [];

  private base(): number {
    return this.snapshot?.index ?? 0;
  }

  lastIndex(): number {
    return this.base() + this.entries.length;
  }

  term(index: number): number | undefined {
    const b = this.base();
    if (index === b) return this.snapshot?.term ?? 0;
    if (index < b || index > this.lastIndex()) return undefined;
    return (this.entries[index - b - 1] as Entry).term;
  }

  /** The entry is durable here, in the log or inside the snapshot. */
  holds(index: number, term: number): boolean {
    return index <= this.base() || this.term(index) === term;
  }

  apply(p: Persist): void {
    if (p.snapshot !== null) this.applySnapshot(p.snapshot);
    if (p.entries.length > 0) {
      const first = (p.entries[0] as Entry).index;
      const b = this.base();
      if (first > this.lastIndex() + 1) throw new Error(`disk: gap, appending ${first} after ${this.lastIndex()}`);
      if (first <= b) throw new Error(`disk: appending ${first} at or below snapshot ${b}`);
      this.entries.length = first - b - 1;
      for (const e of p.entries) this.entries.push(e);
    }
    if (p.hardState !== null) this.hardState = p.hardState;
  }

  private applySnapshot(s: Snapshot): void {
    const keep = this.term(s.index) === s.term;
    const b = this.base();
    this.entries = keep ? this.entries.slice(s.index - b) : [];
    this.snapshot = s;
  }

  durableState(): DurableState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: this.entries.slice() };
  }
}
