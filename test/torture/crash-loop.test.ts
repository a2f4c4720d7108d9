/**
 * Torture 1 (CI bound): 20 kill -9s of a real node under full-speed
 * producers; nothing acked is lost, duplicated or changed; verify is clean.
 * The soak (npm run torture) runs the same scenario with more iterations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCrashLoop, type CrashLoopStats } from './scenarios/crash-loop.js';
import { runSeed } from './harness/rng.js';

/** The issue asks for at least 20 kill -9 iterations in CI. */
const CI_KILLS = 20;
let stats: CrashLoopStats | undefined;

test(`crash loop: ${CI_KILLS} kill -9s under full-speed producers lose no acked record, store none twice, and leave a data dir verify finds clean`, async () => {
  const seed = runSeed();
  stats = await runCrashLoop({
    seed,
    iterations: CI_KILLS,
    shards: 2,
    producers: 2,
    window: 2000,
    killDelayMsMin: 20,
    killDelayMsMax: 700,
    startupKillProbability: 0.2,
    log: (l) => process.env['TORTURE_VERBOSE'] === '1' && console.log(l),
  });
  console.log(`crash loop seed=${seed}: ${JSON.stringify(stats)}`);
  assert.equal(stats.kills, CI_KILLS);
  assert.ok(stats.acked > 0, 'producers got acks');
  assert.equal(stats.ackedVerified, stats.acked, 'every acked record read back with its seq and bytes');
});

test('crash loop: sends of the idempotent producers fail only by the known OUT_OF_ORDER_SEQUENCE defect (docs/TORTURE.md defect 8), never otherwise', (t) => {
  if (stats === undefined) return t.skip('the crash loop did not complete');
  // Defect 8 (open): now and then a retry after a kill -9 is refused OUT_OF_ORDER_SEQUENCE (and the producer
  // fails that shard's queued batches after it). No acked record is lost or duplicated (the test above), but
  // sends fail: an availability defect, counted here and in the soak until it is fixed. Any other refusal fails.
  const other = Object.entries(stats.failureReasons).filter(([why]) => !why.startsWith('OUT_OF_ORDER_SEQUENCE'));
  if (stats.sendFailures > 0) console.log(`crash loop: ${stats.sendFailures} sends refused by defect 8 (seed ${stats.seed}): ${JSON.stringify(stats.failureReasons)}`);
  assert.deepEqual(other, [], `sends failed for other reasons across the restarts (seed ${stats.seed}): ${JSON.stringify(stats.failureReasons)}`);
});
