/** Shared by the seed-sweep tests: run a range of seeds and assert no invariant broke. */
import assert from 'node:assert/strict';
import { runSeeds, type RunSummary } from '../../src/sim/run-seeds.js';
import { simDefaults } from '../../src/sim/simulation.js';

export function sweep(firstSeed: number, seeds: number): RunSummary {
  const s = runSeeds({ seeds, firstSeed });
  const f = s.failure;
  assert.equal(f, null, f === null ? '' : `seed ${f.seed}: ${f.violation}\n${f.trace.join('\n')}`);
  assert.equal(s.seedsRun, seeds);
  assert.ok(s.livenessMsMax <= simDefaults.livenessBoundMs);
  return s;
}
