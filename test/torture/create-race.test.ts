/**
 * Torture 8 (CI bound): concurrent create/produce and delete/re-create over
 * a real node process and real client connections, with kill -9 restarts;
 * every acked record is present exactly once (issue 13, finding 1).
 * CREATE_RACE_ITERATIONS overrides the number of iterations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CREATE_RACE_DEFAULTS, runCreateRace } from './scenarios/create-race.js';
import { runSeed } from './harness/rng.js';

test('create/produce and delete/re-create races over real connections: every acked record is present exactly once, live and after kill -9 restarts, and no old life is met', async () => {
  const seed = runSeed();
  const iterations = Number(process.env['CREATE_RACE_ITERATIONS'] ?? CREATE_RACE_DEFAULTS.iterations);
  const s = await runCreateRace(seed, { iterations });
  console.log(`create-race seed=${seed}: ${JSON.stringify(s)}`);
  assert.equal(s.iterations, iterations);
  assert.ok(s.deletes >= iterations - CREATE_RACE_DEFAULTS.names, 'names were deleted and re-created');
  assert.ok(s.notYetRetries > 0, 'appends met streams that did not exist yet (the race window was exercised)');
  assert.ok(s.restarts >= 1);
});
