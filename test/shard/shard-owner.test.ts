/**
 * One worker per shard folder (issue 13: the shard-folder lock) and a dying
 * worker's answers (finding 7): responses it committed to its outbound ring
 * before it died are delivered, only the rest fail with WORKER_EXITED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ShardHandle } from '../../src/shard/shard-handle.js';
import { ShardError } from '../../src/shard/shard-error.js';
import { LOCK_FILE, readLockHolder } from '../../src/lock/owner-lock.js';
import { SMALL, batchOf, payloadFor, recordsIn, tempShardDir } from './shard-fixtures.js';

test('a second ShardHandle.open on a folder a live worker owns fails with a clear error; the first keeps serving; after it closes the folder opens again', async (t) => {
  const dir = tempShardDir(t);
  const first = await ShardHandle.open({ dir, ...SMALL });
  let firstClosed = false;
  t.after(() => (firstClosed ? undefined : first.close()));
  await first.append(batchOf(0, 2, 10));
  const holder = readLockHolder(dir);
  assert.equal(holder?.pid, process.pid, 'the worker holds <shard-dir>/LOCK');
  assert.notEqual(holder?.threadId, 0, 'held by a worker thread, not the main thread');

  await assert.rejects(ShardHandle.open({ dir, ...SMALL }), (e: unknown) => {
    assert.ok(e instanceof ShardError, String(e));
    assert.match(e.message, /already owned by another thread of this process/);
    assert.ok(e.message.includes(join(dir, LOCK_FILE)), e.message);
    return true;
  });

  const r = await first.append(batchOf(2, 1, 10));
  assert.equal(r.firstSeq, 2, 'the first owner still appends, its sequence untouched');
  assert.equal(recordsIn((await first.read(0, 1 << 16)).bytes).length, 3);
  assert.deepEqual(readLockHolder(dir), holder, 'the refused open left the lock alone');

  await first.close();
  firstClosed = true;
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'close releases the lock');
  const again = await ShardHandle.open({ dir, ...SMALL });
  t.after(() => again.close());
  assert.equal((await again.describe()).endSeq, 3);
});

test('a replacement worker takes over the lock its dead predecessor held (same handle token); destroy leaves no folder', async (t) => {
  const dir = tempShardDir(t);
  const h = await ShardHandle.open({ dir, ...SMALL });
  await h.append(batchOf(0, 1, 10));
  const before = readLockHolder(dir)!;
  await h.killWorker(); // terminate: the dead worker never released LOCK
  const after = readLockHolder(dir)!;
  assert.equal(after.token, before.token, "the handle's token");
  assert.notEqual(after.threadId, before.threadId, 'now held by the new worker thread');
  assert.equal((await h.append(batchOf(1, 1, 10))).firstSeq, 1);
  await assert.rejects(ShardHandle.open({ dir, ...SMALL }), /already owned/, 'still exclusive after the takeover');
  await h.destroy();
  assert.equal(existsSync(dir), false);
});

const ROUNDS = 4;
const CALLS = 8;
const ANSWERED = 3;

test(`a worker that dies after committing ${ANSWERED} of ${CALLS} responses: those calls resolve with their seqs, the rest reject WORKER_EXITED (${ROUNDS} rounds)`, async (t) => {
  for (let round = 0; round < ROUNDS; round++) {
    const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL }, { exitAfterResponses: ANSWERED });
    try {
      await h.pauseWorker();
      const calls = Array.from({ length: CALLS }, (_, i) => h.append(batchOf(i, 1, 20)));
      assert.equal((await h.stats()).inFlight, CALLS, 'every call is in the ring before the worker serves');
      // The worker serves the whole batch, writes 3 responses without waking this thread, and exits.
      await h.resumeWorker().catch(() => undefined);
      const outcomes = await Promise.allSettled(calls);
      const summary = outcomes.map((o) => (o.status === 'fulfilled' ? `seq ${o.value.firstSeq}` : (o.reason as ShardError).code));
      assert.deepEqual(
        summary,
        [...Array.from({ length: ANSWERED }, (_, i) => `seq ${i}`), ...Array<string>(CALLS - ANSWERED).fill('WORKER_EXITED')],
        `round ${round}`,
      );
      // The answered appends are real: the restarted worker serves them from disk.
      const back = recordsIn((await h.read(0, 1 << 16)).bytes);
      for (let i = 0; i < ANSWERED; i++) assert.deepEqual(back[i], { seq: i, payload: payloadFor(i, 20) });
      assert.equal((await h.stats()).restarts, 1);
    } finally {
      await h.close();
    }
  }
});
