/**
 * Torture 4 (CI bound): 100k malformed frames, slow and slowloris clients,
 * hundreds of idle connections and an overflow past connectionsMax, with a
 * well-behaved client alongside whose progress and correctness are checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runHostileClients } from './scenarios/hostile-clients.js';
import { runSeed } from './harness/rng.js';

/** The issue asks for 100k malformed frames in CI. */
const CI_FRAMES = 100_000;
const IDLE = 300;
const CONNECTIONS_MAX = 400;

test(`hostile clients: ${CI_FRAMES} malformed frames, ${IDLE} idle connections, slow drips and overflow past connectionsMax each get an error or a close, while a well-behaved client keeps its data and progresses`, async () => {
  const seed = runSeed();
  const s = await runHostileClients({
    seed,
    framesMin: CI_FRAMES,
    idleConnections: IDLE,
    slowConnections: 20,
    slowlorisConnections: 10,
    connectionsMax: CONNECTIONS_MAX,
    overflowConnections: 120,
    log: (l) => process.env['TORTURE_VERBOSE'] === '1' && console.log(l),
  });
  console.log(`hostile clients seed=${seed}: ${JSON.stringify(s)}`);
  assert.ok(s.framesSent >= CI_FRAMES);
  assert.equal(s.idleHeld, IDLE);
  assert.equal(s.slowAnswered, 20);
  assert.ok(s.overflowRefused > 0);
  assert.equal(s.goodRecordsChecked, s.goodAcked);
});
