/**
 * Torture 7 (CI bound): hostile namespace and stream names through the CLI
 * and the client library are rejected clearly; nothing is created outside
 * (or, for a bad name, inside) the data dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runNames } from './scenarios/names.js';
import { runSeed } from './harness/rng.js';

test('hostile names (traversal, separators, overlong, ".", "..", NUL, control characters) are rejected by the CLI and the node with a clear error, and no file appears outside the data dir', async () => {
  const seed = runSeed();
  const s = await runNames(seed);
  console.log(`names seed=${seed}: ${JSON.stringify(s)}`);
  assert.ok(s.cliRejections > 0 && s.clientRejections > 0);
  assert.equal(s.validAccepted, 6);
});
