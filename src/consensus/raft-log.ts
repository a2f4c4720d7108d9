/**
 * The in-memory Raft log: a snapshot point (index, term) followed by a
 * contiguous run of entries. Index 0 / term 0 is the empty log. Pure data
 * structure; durability is the caller's business (see Persist in types.ts).
 */
import type { Entry, Snapshot } from './types.js';

export class RaftLog {
  private snapIndex = 0;
  private snapTerm = 0;
  /** entries[k] has index snapIndex + 1 + k. */
  private entries: Entry[] = [];

  constructor(snapshot: Snapshot | null, entries: readonly Entry[]) {
    if (snapshot !== null) {
      this.snapIndex = snapshot.index;
      this.snapTerm = snapshot.term;
    }
    for (const e of entries) {
      if (e.index <= this.snapIndex) continue;
      if (e.index !== this.lastIndex() + 1) throw new Error(`log restore: entry ${e.index} does not follow ${this.lastIndex()}`);
      this.entries.push(e);
    }
  }

  snapshotIndex(): number { return this.snapIndex; }
  snapshotTerm(): number { return this.snapTerm; }
  firstIndex(): number { return this.snapIndex + 1; }
  lastIndex(): number { return this.snapIndex + this.entries.length; }
  lastTerm(): number { return this.term(this.lastIndex()) as number; }

  /** Term of entry `index`, or undefined if compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.snapIndex - 1] as Entry).term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapIndex - 1];
  }

  matches(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft's "at least as up-to-date" rule for votes. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [from, from+countMax) that exist; from must be > snapshotIndex. */
  slice(from: number, countMax: number): Entry[] {
    const start = from - this.snapIndex - 1;
    if (start < 0) throw new Error(`log slice: ${from} is compacted (snapshot ${this.snapIndex})`);
    return this.entries.slice(start, start + countMax);
  }

  /** Append a leader's new entry at lastIndex + 1. */
  appendNew(entry: Entry): void {
    if (entry.index !== this.lastIndex() + 1) throw new Error(`log append: ${entry.index} after ${this.lastIndex()}`);
    this.entries.push(entry);
  }

  /**
   * Follower side: merge `incoming` (contiguous, preceded by a matching entry).
   * Returns the entries actually written (from the first conflict or new one);
   * the caller must persist exactly those. Never truncates at or below `commit`.
   */
  merge(incoming: readonly Entry[], commit: number): Entry[] {
    let k = 0;
    while (k < incoming.length) {
      const e = incoming[k] as Entry;
      if (e.index <= this.snapIndex || this.term(e.index) === e.term) { k++; continue; }
      break;
    }
    if (k === incoming.length) return [];
    const first = incoming[k] as Entry;
    if (first.index <= commit) throw new Error(`log merge: conflict at committed index ${first.index} (commit ${commit})`);
    this.entries.length = first.index - this.snapIndex - 1;
    const written = incoming.slice(k);
    for (const e of written) this.entries.push(e);
    return written;
  }

  /** First index of the run of entries sharing `index`'s term (for the reject hint). */
  firstIndexOfTerm(index: number, floor: number): number {
    const t = this.term(index);
    let i = index;
    while (i - 1 > floor && i - 1 > this.snapIndex && this.term(i - 1) === t) i--;
    return i;
  }

  /** Drop entries up to and including `index` (which must exist); they are now in a snapshot. */
  compact(index: number): void {
    const t = this.term(index);
    if (t === undefined || index <= this.snapIndex) throw new Error(`log compact: ${index} not in log (${this.snapIndex}..${this.lastIndex()})`);
    this.entries = this.entries.slice(index - this.snapIndex);
    this.snapIndex = index;
    this.snapTerm = t;
  }

  /** Replace everything with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.entries = [];
    this.snapIndex = snapshot.index;
    this.snapTerm = snapshot.term;
  }

  /** Latest config entry at or below `index`, or undefined if none after the snapshot. */
  configAtOrBelow(index: number): Entry | undefined {
    for (let i = Math.min(index, this.lastIndex()); i > this.snapIndex; i--) {
      const e = this.entry(i) as Entry;
      if (e.kind === 'config') return e;
    }
    return undefined;
  }
}
