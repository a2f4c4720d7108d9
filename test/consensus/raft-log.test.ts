import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RaftLog } from '../../src/consensus/raft-log.js';
import type { Entry } from '../../src/consensus/types.js';

const entry = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: new Uint8Array([index & 255]), voters: null });
/** A log from a non-decreasing list of terms. */
const logOf = (terms: number[]): Entry[] => terms.map((t, k) => entry(k + 1, t));
const termsArb = fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 30 }).map((a) => a.sort((x, y) => x - y));

test('merge keeps the matching prefix, replaces from the first conflict, and returns exactly what it wrote', () => {
  fc.assert(fc.property(termsArb, termsArb, fc.nat(), (mine, leaders, cut) => {
    const leader = logOf(leaders);
    const log = new RaftLog(null, logOf(mine));
    const from = leader.length === 0 ? 0 : cut % leader.length;
    // Only merge where the previous entry matches, as a follower would.
    if (!log.matches(from, from === 0 ? 0 : (leader[from - 1] as Entry).term)) return;
    const before = log.lastIndex();
    const written = log.merge(leader.slice(from), 0);
    for (const e of leader.slice(from)) assert.equal(log.term(e.index), e.term);
    for (const e of logOf(mine).slice(0, from)) assert.equal(log.term(e.index), e.term, 'prefix untouched');
    if (written.length > 0) {
      assert.equal(log.lastIndex(), (written[written.length - 1] as Entry).index);
      assert.ok((written[0] as Entry).index > from);
    } else assert.equal(log.lastIndex(), before);
  }), { numRuns: 500 });
});

test('merge refuses to overwrite an entry at or below the commit index', () => {
  const log = new RaftLog(null, logOf([1, 1, 1]));
  assert.throws(() => log.merge([entry(2, 2)], 2), /committed/);
});

test('compaction keeps later entries and their terms; restore from a snapshot drops everything', () => {
  const log = new RaftLog(null, logOf([1, 1, 2, 2, 3]));
  log.compact(3);
  assert.equal(log.snapshotIndex(), 3);
  assert.equal(log.term(3), 2);
  assert.equal(log.term(2), undefined);
  assert.equal(log.lastIndex(), 5);
  assert.throws(() => log.slice(2, 1), /compacted/);
  log.restore({ index: 9, term: 4, voters: [1], data: new Uint8Array() });
  assert.equal(log.lastIndex(), 9);
  assert.equal(log.lastTerm(), 4);
});

test('the up-to-date rule compares last term first, then length', () => {
  const log = new RaftLog(null, logOf([1, 2, 2]));
  assert.equal(log.isUpToDate(1, 3), true);
  assert.equal(log.isUpToDate(3, 2), true);
  assert.equal(log.isUpToDate(2, 2), false);
  assert.equal(log.isUpToDate(9, 1), false);
});

test('the conflict hint is the first index of the conflicting term, never at or below commit', () => {
  const log = new RaftLog(null, logOf([1, 2, 2, 2, 3]));
  assert.equal(log.firstIndexOfTerm(4, 0), 2);
  assert.equal(log.firstIndexOfTerm(4, 2), 3);
});
