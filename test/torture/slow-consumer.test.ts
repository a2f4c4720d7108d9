/**
 * Torture 6 (CI bound): slow and stalled consumers while producers run at
 * full speed; the node's peak RSS stays under the documented bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSlowConsumer } from './scenarios/slow-consumer.js';
import { runSeed } from './harness/rng.js';

/** Payload pushed in CI: more than the bound allows the node to hold, so unbounded buffering would show. */
const CI_VOLUME_BYTES = 192 * 1024 * 1024;

test('slow and stalled consumers while producers push 192 MiB at full speed: the node peak RSS stays under idle + rings + per-connection bounds + 64 MiB slack, and what the slow readers get is intact', async () => {
  const seed = runSeed();
  const s = await runSlowConsumer({ seed, volumeBytes: CI_VOLUME_BYTES, producers: 2, log: (l) => process.env['TORTURE_VERBOSE'] === '1' && console.log(l) });
  console.log(`slow consumer seed=${seed}: ${JSON.stringify(s)}`);
  assert.ok(s.peakRssBytes <= s.boundBytes);
  assert.ok(s.producedBytes >= s.boundBytes - s.idleRssBytes, 'the producers pushed more than the bound lets the node hold');
  assert.ok(s.rawRecordsChecked > 0 && s.slowLibRecordsChecked > 0);
});
