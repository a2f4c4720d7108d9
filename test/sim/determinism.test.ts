import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeed } from '../../src/sim/simulation.js';

test('the same seed produces the same trace, step count and outcome', () => {
  for (const seed of [1, 77, 4242]) {
    const a = runSeed({ seed });
    const b = runSeed({ seed });
    assert.equal(a.traceHash, b.traceHash);
    assert.deepEqual({ ...a, stats: { ...a.stats } }, { ...b, stats: { ...b.stats } });
  }
});

test('the same seed reproduces a violation with the same trace lines', () => {
  let seed = 1;
  while (seed < 1000 && runSeed({ seed, bug: 'vote-twice' }).violation === null) seed++;
  const a = runSeed({ seed, bug: 'vote-twice' });
  const b = runSeed({ seed, bug: 'vote-twice' });
  assert.notEqual(a.violation, null);
  assert.equal(a.violation, b.violation);
  assert.deepEqual(a.trace, b.trace);
  assert.ok(a.trace.length > 5 && a.trace.at(-1)?.includes('VIOLATION'));
});

test('different seeds explore different schedules', () => {
  const hashes = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => runSeed({ seed }).traceHash));
  assert.equal(hashes.size, 8);
});

test('--nodes equal to the number a seed draws by itself replays that seed exactly', () => {
  const free = runSeed({ seed: 9 });
  const pinned = runSeed({ seed: 9, nodes: free.nodes });
  assert.equal(pinned.traceHash, free.traceHash);
});
