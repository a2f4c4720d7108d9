/**
 * What the Raft log records (raft-disk-records.ts) describe once applied in
 * order: the base of the log (first index after the snapshot), the terms of
 * the entries from there (and, at open, the entries themselves), the
 * referenced snapshot and the hard state. The same code replays the files at
 * open and checks each persist before it is written, so what is written is
 * exactly what a later open rebuilds.
 *
 * A replay that starts at a segment other than the first (older ones were
 * deleted after a snapshot) does not know the entries before that segment's
 * start: until the replay reaches the current snapshot, an append or a
 * snapshot may refer to that unknown prefix (it was known when written);
 * checkComplete then requires the log to start right after the snapshot.
 *
 * Every invariant is checked as records are applied and throws an Error with
 * a sentence (the caller adds the file and offset, or calls it a contract
 * breach): indexes contiguous, terms non-decreasing, appends only after the
 * snapshot and at most one past the end, snapshots only moving forward, the
 * hard-state term never falling, at most one vote per term, and (checkFrame)
 * the hard-state term >= the last entry's term and the snapshot's term.
 */
import type { Entry, HardState } from '../consensus/types.js';
import type { DiskRecord, SnapRef } from './raft-disk-records.js';

export class LogImage {
  /** Index of the first entry held (snapshot index + 1 once replay is complete). */
  base = 1;
  /** Term of entry base - 1 (the snapshot's term, or 0 for the empty log); null while unknown (see above). */
  prevTerm: number | null = 0;
  /** Whether every entry below base is in the snapshot (false while a replay from a later segment has not reached it). */
  prefixKnown = true;
  /** terms[k] is the term of entry base + k. */
  terms: number[] = [];
  /** entries[k] is entry base + k, kept only when keepEntries (at open). */
  entries: Entry[] = [];
  snap: SnapRef | null = null;
  hardState: HardState = { term: 0, vote: 0 };
  /** Whether a 'start' record has been applied. */
  started = false;

  constructor(readonly keepEntries: boolean) {}

  clone(): LogImage {
    const c = new LogImage(this.keepEntries);
    c.base = this.base;
    c.prevTerm = this.prevTerm;
    c.terms = this.terms.slice();
    c.entries = this.keepEntries ? this.entries.slice() : [];
    c.snap = this.snap;
    c.hardState = this.hardState;
    c.started = this.started;
    c.prefixKnown = this.prefixKnown;
    return c;
  }

  /** The same image without the entries (what a running disk keeps: terms suffice). */
  withoutEntries(): LogImage {
    const c = new LogImage(false);
    c.base = this.base;
    c.prevTerm = this.prevTerm;
    c.terms = this.terms.slice();
    c.snap = this.snap;
    c.hardState = this.hardState;
    c.started = this.started;
    c.prefixKnown = this.prefixKnown;
    return c;
  }

  lastIndex(): number {
    return this.base - 1 + this.terms.length;
  }

  /** Term of the last entry (0 for none); null while unknown. */
  lastTerm(): number | null {
    return this.terms.length === 0 ? this.prevTerm : (this.terms[this.terms.length - 1] as number);
  }

  /** Term of entry `index` when known (base - 1 .. lastIndex), else undefined. */
  termAt(index: number): number | undefined {
    if (index === this.base - 1) return this.prevTerm ?? undefined;
    if (index < this.base || index > this.lastIndex()) return undefined;
    return this.terms[index - this.base];
  }

  apply(r: DiskRecord): void {
    switch (r.t) {
      case 'start':
        return this.applyStart(r);
      case 'snap':
        return this.applySnap(r.index, r.term, r.keep);
      case 'append':
        return this.applyAppend(r.entries);
      case 'hs':
        return this.applyHardState({ term: r.term, vote: r.vote });
    }
  }

  private applyStart(r: Extract<DiskRecord, { t: 'start' }>): void {
    if (!this.started) {
      this.started = true;
      this.base = r.last + 1;
      this.prevTerm = r.lastTerm;
      this.terms = [];
      this.entries = [];
      this.snap = r.snap;
      this.hardState = r.hs;
      this.prefixKnown = r.last === (r.snap?.index ?? 0);
      if (r.snap !== null && (r.snap.index > r.last || (r.snap.index === r.last && r.snap.term !== r.lastTerm))) {
        throw new Error(`the segment start says last entry ${r.last} (term ${r.lastTerm}) with snapshot ${r.snap.index} (term ${r.snap.term})`);
      }
      return;
    }
    const same =
      r.last === this.lastIndex() &&
      (this.lastTerm() === null || r.lastTerm === this.lastTerm()) &&
      r.hs.term === this.hardState.term &&
      r.hs.vote === this.hardState.vote &&
      (r.snap === null ? this.snap === null : this.snap !== null && r.snap.index === this.snap.index && r.snap.term === this.snap.term);
    if (!same) {
      throw new Error(
        `the segment start (last ${r.last}/${r.lastTerm}, snapshot ${r.snap?.index ?? 0}, hard state ${r.hs.term}/${r.hs.vote}) ` +
          `disagrees with the log before it (last ${this.lastIndex()}/${this.lastTerm()}, snapshot ${this.snap?.index ?? 0}, hard state ${this.hardState.term}/${this.hardState.vote})`,
      );
    }
  }

  private applySnap(index: number, term: number, keep: boolean): void {
    const cur = this.snap?.index ?? 0;
    if (index <= cur) throw new Error(`snapshot ${index} does not move past the current snapshot ${cur}`);
    if (term < (this.snap?.term ?? 0)) throw new Error(`snapshot ${index} has term ${term}, below the current snapshot's ${this.snap?.term ?? 0}`);
    if (keep && index < this.base - 1) {
      if (this.prefixKnown) throw new Error(`snapshot ${index} keeps the log's tail but the log starts at ${this.base}`);
      // Inside the prefix this replay does not know: the entries it holds are all after index.
      this.snap = { index, term };
      return;
    }
    if (keep) {
      const t = this.termAt(index);
      const unknown = index === this.base - 1 && this.prevTerm === null;
      if (!unknown && t !== term) throw new Error(`snapshot (${index}, ${term}) keeps the log's tail but the log holds term ${t ?? 'none'} at ${index}`);
      const drop = index - this.base + 1;
      this.terms = this.terms.slice(drop);
      if (this.keepEntries) this.entries = this.entries.slice(drop);
    } else {
      this.terms = [];
      this.entries = [];
    }
    this.base = index + 1;
    this.prevTerm = term;
    this.prefixKnown = true;
    this.snap = { index, term };
  }

  private applyAppend(entries: readonly Entry[]): void {
    const first = (entries[0] as Entry).index;
    const snapIndex = this.snap?.index ?? 0;
    if (first <= snapIndex) throw new Error(`append at ${first} overwrites snapshot ${snapIndex}`);
    if (first > this.lastIndex() + 1) throw new Error(`append at ${first} leaves a gap after ${this.lastIndex()}`);
    if (first < this.base) {
      if (this.prefixKnown) throw new Error(`append at ${first} is below the log's start ${this.base}`);
      // Truncation into the prefix this replay does not know: the log restarts there.
      this.base = first;
      this.prevTerm = null;
      this.terms = [];
      this.entries = [];
    }
    let prev = this.termAt(first - 1) ?? 0;
    entries.forEach((e, k) => {
      if (e.index !== first + k) throw new Error(`append entry ${k} has index ${e.index}, expected ${first + k} (not contiguous)`);
      if (e.term < prev) throw new Error(`entry ${e.index} has term ${e.term}, below the term ${prev} before it`);
      prev = e.term;
    });
    const keep = first - this.base;
    this.terms.length = keep;
    for (const e of entries) this.terms.push(e.term);
    if (this.keepEntries) {
      this.entries.length = keep;
      for (const e of entries) this.entries.push(e);
    }
  }

  private applyHardState(hs: HardState): void {
    const cur = this.hardState;
    if (hs.term < cur.term) throw new Error(`hard state term ${hs.term} is below the stored ${cur.term}`);
    if (hs.term === cur.term && cur.vote !== 0 && hs.vote !== cur.vote) {
      throw new Error(`hard state votes for ${hs.vote} in term ${hs.term}, which already has a vote for ${cur.vote}`);
    }
    this.hardState = hs;
  }

  /** Invariants that hold between frames (a frame may append entries of a new term before its hard state). */
  checkFrame(): void {
    const lastTerm = this.lastTerm() ?? 0;
    if (this.hardState.term < lastTerm) throw new Error(`hard state term ${this.hardState.term} is below the last entry's term ${lastTerm}`);
    if (this.snap !== null && this.hardState.term < this.snap.term) throw new Error(`hard state term ${this.hardState.term} is below the snapshot's term ${this.snap.term}`);
  }

  /** After the whole replay: the log starts right after the snapshot. */
  checkComplete(): void {
    const want = (this.snap?.index ?? 0) + 1;
    if (this.base !== want) {
      throw new Error(
        this.snap === null
          ? `the log starts at ${this.base} with no snapshot (entries 1..${this.base - 1} are missing)`
          : `the log starts at ${this.base}, not right after snapshot ${this.snap.index}`,
      );
    }
    const first = this.terms[0];
    if (first !== undefined && first < (this.snap?.term ?? 0)) throw new Error(`entry ${this.base} has term ${first}, below the snapshot's ${this.snap?.term ?? 0}`);
    this.prefixKnown = true;
    this.prevTerm = this.snap?.term ?? 0;
  }
}
