import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds } from '../../src/sim/run-seeds.js';
import { runSeed } from '../../src/sim/simulation.js';
import type { InjectedBug } from '../../src/consensus/types.js';

/** The bound: each injected bug must be found within this many seeds. */
const seedsToFindBugMax = 1000;

const expected: Record<string, RegExp> = {
  'commit-without-quorum': /committed entry lost|leader completeness|state machine safety/,
  'vote-twice': /election safety/,
  'forget-persist': /committed entry lost|leader completeness|state machine safety/,
  'stale-read': /stale read/,
  'two-changes-at-once': /committed entry lost|election safety|leader completeness|state machine safety/,
};

for (const bug of Object.keys(expected) as InjectedBug[]) {
  test(`the simulator catches the injected bug ${bug} within ${seedsToFindBugMax} seeds`, () => {
    const s = runSeeds({ seeds: seedsToFindBugMax, firstSeed: 1, bug });
    assert.notEqual(s.failure, null, `${bug} went unnoticed for ${s.seedsRun} seeds`);
    assert.match(String(s.failure?.violation), expected[bug] as RegExp);
    assert.ok(s.seedsRun <= seedsToFindBugMax);
  });
}

test(`commit-without-quorum does real damage: with the durable-quorum check off, a leader lacking a committed entry is caught within ${seedsToFindBugMax} seeds`, () => {
  let seed = 1;
  let violation: string | null = null;
  for (; seed <= seedsToFindBugMax && violation === null; seed++) violation = runSeed({ seed, bug: 'commit-without-quorum', durableCheck: false }).violation;
  assert.match(String(violation), /leader completeness|state machine safety|committed/);
});

test(`two-changes-at-once does real damage: with the durable-quorum check off, two leaders of a term or a lost committed entry are caught within ${seedsToFindBugMax} seeds`, () => {
  let violation: string | null = null;
  for (let seed = 1; seed <= seedsToFindBugMax && violation === null; seed++) violation = runSeed({ seed, bug: 'two-changes-at-once', durableCheck: false }).violation;
  assert.match(String(violation), /election safety|leader completeness|state machine safety/);
});

test(`the MetaStore linearizability check catches stale-read on its own (read-index check off) within ${seedsToFindBugMax} seeds`, () => {
  let violation: string | null = null;
  for (let seed = 1; seed <= seedsToFindBugMax && violation === null; seed++) violation = runSeed({ seed, bug: 'stale-read', readIndexCheck: false }).violation;
  assert.match(String(violation), /^linearizability: .* on stream /);
});
