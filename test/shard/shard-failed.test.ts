/**
 * A shard handle whose worker cannot be restarted is failed (issue 13, shard
 * isolation): failedReason names why, and every call rejects with
 * SHARD_FAILED (the node maps it to the wire code of the same name and
 * shows the reason in describeStream) instead of a passing storage code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ShardHandle } from '../../src/shard/shard-handle.js';
import { ShardError } from '../../src/shard/shard-error.js';
import { SMALL, batchOf, tempShardDir } from './shard-fixtures.js';

test('a worker that dies and cannot be restarted leaves the handle failed: failedReason set, every call rejects SHARD_FAILED', async (t) => {
  const dir = tempShardDir(t);
  const h = await ShardHandle.open({ dir, ...SMALL });
  assert.equal(h.failedReason, null);
  await h.append(batchOf(0, 1, 10));
  // Sabotage the folder so that recovery fails (a directory where the segment file belongs), then kill the worker.
  for (const f of readdirSync(dir)) if (f.endsWith('.log')) {
    rmSync(join(dir, f));
    mkdirSync(join(dir, f));
  }
  await h.killWorker().catch(() => undefined);
  const deadline = Date.now() + 20_000;
  while (h.failedReason === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.match(h.failedReason ?? '', /could not be restarted after \d+ attempts: .*EISDIR/);
  await assert.rejects(h.append(batchOf(1, 1, 10)), (e: unknown) => e instanceof ShardError && e.code === 'SHARD_FAILED');
  await assert.rejects(h.read(0, 1024), (e: unknown) => e instanceof ShardError && e.code === 'SHARD_FAILED');
  await h.close().catch(() => undefined);
});
