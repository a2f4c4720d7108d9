/**
 * Test helper for the RaftDisk tests: generates Persist calls that a RaftNode
 * could emit (terms never fall, entries contiguous after the snapshot, hard
 * state term >= every stored term, install-snapshot over a matching or a
 * diverging log, local compaction), tracked against SimDisk, the
 * simulator's in-memory model of the Persist contract.
 */
import assert from 'node:assert/strict';
import type { DurableState, Entry, HardState, Persist, Snapshot } from '../../src/consensus/types.js';
import { SimDisk } from '../../src/sim/sim-disk.js';

/** pick(n): an integer in [0, n). */
export type Pick = (n: number) => number;

export function emptyState(): DurableState {
  return { hardState: { term: 0, vote: 0 }, snapshot: null, entries: [] };
}

export function copyState(d: SimDisk): DurableState {
  return d.durableState();
}

function bytes(pick: Pick, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = pick(256);
  return out;
}

function entry(pick: Pick, index: number, term: number): Entry {
  const k = pick(6);
  if (k === 0) return { index, term, kind: 'noop', data: null, voters: null };
  if (k === 1) return { index, term, kind: 'config', data: null, voters: [1, 2, 3].slice(0, 1 + pick(3)).concat(pick(2) === 0 ? [4] : []) };
  return { index, term, kind: 'normal', data: bytes(pick, pick(3) === 0 ? pick(3000) : pick(40)), voters: null };
}

/** The next persist for the model's current state (not applied: the caller applies it to the model). */
export function nextPersist(m: SimDisk, pick: Pick): Persist {
  const hs = m.hardState;
  const snapIndex = m.snapshot?.index ?? 0;
  const last = m.lastIndex();
  const kind = pick(10);
  // Hard-state change: a higher term (vote maybe), or a vote in a term without one.
  const bump = (): HardState => {
    if (hs.vote === 0 && hs.term > 0 && pick(3) === 0) return { term: hs.term, vote: 1 + pick(5) };
    return { term: hs.term + 1 + pick(2), vote: pick(2) === 0 ? 0 : 1 + pick(5) };
  };
  if (kind <= 5) {
    // Append (after a possible term bump), from a point in [snapshot+1, last+1]: truncation when below last+1.
    const newHs = hs.term === 0 || pick(4) === 0 ? bump() : null;
    const maxTerm = (newHs ?? hs).term;
    const first = last + 1 - (pick(3) === 0 ? pick(last - snapIndex + 1) : 0);
    let term = Math.max(m.term(first - 1) ?? 0, 1);
    if (term > maxTerm) term = maxTerm;
    const n = 1 + pick(pick(5) === 0 ? 40 : 4);
    const entries: Entry[] = [];
    for (let i = 0; i < n; i++) {
      if (pick(4) === 0) term = Math.min(maxTerm, term + 1);
      entries.push(entry(pick, first + i, term));
    }
    return { snapshot: null, entries, hardState: newHs };
  }
  if (kind === 6) return { snapshot: null, entries: [], hardState: bump() };
  if ((kind === 7 || kind === 8) && last > snapIndex) {
    // Local compaction at an index of the log.
    const index = snapIndex + 1 + pick(last - snapIndex);
    const s: Snapshot = { index, term: m.term(index) as number, voters: [1, 2, 3], data: bytes(pick, pick(500)) };
    return { snapshot: s, entries: [], hardState: null };
  }
  if (hs.term === 0) return { snapshot: null, entries: [], hardState: bump() };
  // Install-snapshot from a leader: past the end, or inside the log with the same or another term.
  const index = snapIndex + 1 + pick(last - snapIndex + 5);
  const lo = Math.max(m.snapshot?.term ?? 1, 1);
  const local = m.term(index);
  const term = local !== undefined && pick(2) === 0 ? local : lo + pick(hs.term - lo + 1);
  const s: Snapshot = { index, term, voters: [1, 2, 3, 4].slice(0, 1 + pick(4)), data: bytes(pick, pick(300)) };
  // Sometimes the same step also appends after it (as a follower could on the next input; harmless to merge).
  const keep = local === term;
  const after = pick(3) === 0 ? [entry(pick, index + 1, hs.term)] : [];
  return { snapshot: s, entries: keep ? [] : after, hardState: null };
}

/** Asserts two durable states are equal, with a readable message. */
export function assertSameState(got: DurableState, want: DurableState, msg: string): void {
  assert.deepEqual(got.hardState, want.hardState, `${msg}: hard state`);
  assert.deepEqual(got.snapshot, want.snapshot, `${msg}: snapshot`);
  assert.equal(got.entries.length, want.entries.length, `${msg}: entry count (got ${summary(got)}, want ${summary(want)})`);
  assert.deepEqual(got.entries, want.entries, `${msg}: entries`);
}

export function summary(d: DurableState): string {
  const first = d.entries[0]?.index ?? '-';
  const last = d.entries[d.entries.length - 1]?.index ?? '-';
  return `hs ${d.hardState.term}/${d.hardState.vote}, snap ${d.snapshot?.index ?? 0}/${d.snapshot?.term ?? 0}, entries ${first}..${last}`;
}

/** Whether two durable states are equal. */
export function sameState(a: DurableState, b: DurableState): boolean {
  try {
    assertSameState(a, b, '');
    return true;
  } catch {
    return false;
  }
}
