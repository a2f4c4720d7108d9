/**
 * An fsync failure in a real shard worker (ShardHandle + worker thread, over
 * a store whose file layer fails fsync with EIO and drops the dirty pages on
 * request: fixtures/eio-store.ts). The worker must answer SHARD_STOPPED (not
 * IO_ERROR, not "outcome unknown"), never retry the fsync, reopen the shard
 * from what is durable by itself, and serve again; nothing acked is lost
 * under 'always', and nothing it serves afterwards is garbage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { ShardHandle } from '../../src/shard/shard-handle.js';
import { ShardError } from '../../src/shard/shard-error.js';
import { SMALL, batchOf, payloadFor, recordsIn, tempShardDir } from '../shard/shard-fixtures.js';

const EIO_STORE = new URL('./fixtures/eio-store.js', import.meta.url).href;
const PAYLOAD_BYTES = 64;
/** Bound on waiting for the worker to serve again after the stop. */
const RECOVER_WAIT_MS = 10_000;

async function readAllPayloadIds(h: ShardHandle): Promise<number[]> {
  const d = await h.describe();
  const ids: number[] = [];
  let seq = d.startSeq;
  while (seq < d.endSeq) {
    const r = await h.read(seq, 1 << 20);
    for (const rec of recordsIn(r.bytes)) {
      assert.equal(rec.seq, seq, 'dense seqs');
      const id = new DataView(rec.payload.buffer, rec.payload.byteOffset).getUint32(0, true);
      assert.deepEqual(rec.payload, payloadFor(id, PAYLOAD_BYTES), `seq ${seq} holds the bytes of record ${id} (not zeros or garbage)`);
      ids.push(id);
      seq++;
    }
  }
  return ids;
}

function isStopped(e: unknown): boolean {
  return e instanceof ShardError && e.code === 'SHARD_STOPPED';
}

async function appendUntilServed(h: ShardHandle, id: number): Promise<number> {
  const deadline = Date.now() + RECOVER_WAIT_MS;
  for (;;) {
    try {
      return (await h.append(batchOf(id, 1, PAYLOAD_BYTES))).firstSeq;
    } catch (e) {
      assert.ok(isStopped(e), `while reopening, appends are answered SHARD_STOPPED, got ${(e as Error).message}`);
      if (Date.now() > deadline) throw new Error(`the shard did not serve again within ${RECOVER_WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

test("worker, fsync 'always': a failed group fsync answers its appends SHARD_STOPPED (not acked, never retried), the worker reopens the shard itself, every acked record stays exactly once", async (t) => {
  const dir = tempShardDir(t);
  const h = await ShardHandle.open({ dir, ...SMALL, fsync: { mode: 'always' } }, { storeModuleUrl: EIO_STORE });
  try {
    const acked: number[] = [];
    for (let i = 0; i < 20; i++) {
      await h.append(batchOf(i, 1, PAYLOAD_BYTES));
      acked.push(i);
    }
    writeFileSync(`${dir}.fail-fsync-once`, '');
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, k) => h.append(batchOf(100 + k, 1, PAYLOAD_BYTES))));
    const refused = results.filter((r) => r.status === 'rejected');
    assert.ok(refused.length > 0, 'the appends of the failed group fsync are refused');
    for (const r of refused) {
      const e = (r as PromiseRejectedResult).reason;
      assert.ok(isStopped(e), `refused with SHARD_STOPPED, got ${e instanceof Error ? `${(e as ShardError).code}: ${e.message}` : String(e)}`);
      assert.match((e as Error).message, /fsync of .*\.log failed \(EIO.*not acked/);
    }
    results.forEach((r, k) => {
      if (r.status === 'fulfilled') acked.push(100 + k);
    });
    const seqAfter = await appendUntilServed(h, 200);
    acked.push(200);
    const ids = await readAllPayloadIds(h);
    assert.deepEqual([...ids].sort((a, b) => a - b), [...acked].sort((a, b) => a - b), 'every acked record exactly once, nothing refused');
    assert.equal(seqAfter, ids.length - 1);
    await h.close();
    const again = await ShardHandle.open({ dir, ...SMALL, fsync: { mode: 'always' } });
    try {
      assert.deepEqual(await readAllPayloadIds(again), ids, 'a restart serves the same');
    } finally {
      await again.close();
    }
  } finally {
    await h.close().catch(() => undefined);
  }
});

test("worker, fsync 'interval' with background fsync: a failed background fsync is not swallowed by the worker's loop: appends meanwhile get SHARD_STOPPED or are acked, the shard is reopened from what is durable, and it serves only intact records", async (t) => {
  const dir = tempShardDir(t);
  const h = await ShardHandle.open({ dir, ...SMALL, fsync: { mode: 'interval', ms: 20 } }, { storeModuleUrl: EIO_STORE });
  try {
    let id = 0;
    for (; id < 20; id++) await h.append(batchOf(id, 1, PAYLOAD_BYTES));
    await new Promise((r) => setTimeout(r, 100)); // background fsyncs made those durable
    const trigger = `${dir}.fail-fsync-once`;
    writeFileSync(trigger, '');
    const sent: number[] = [];
    const deadline = Date.now() + RECOVER_WAIT_MS;
    // Appends go on while a background fsync meets the failure (the fixture removes the trigger then) and a while after.
    for (let after = 0; after < 40; ) {
      assert.ok(Date.now() < deadline, 'a background fsync met the injected failure');
      try {
        await h.append(batchOf(id, 1, PAYLOAD_BYTES));
      } catch (e) {
        assert.ok(isStopped(e), `refused only with SHARD_STOPPED, got ${(e as Error).message}`);
      }
      sent.push(id++);
      if (!existsSync(trigger)) after++;
      await new Promise((r) => setTimeout(r, 5));
    }
    await appendUntilServed(h, 1000);
    const ids = await readAllPayloadIds(h); // dense, and every record intact: none of the zeros the dropped pages left
    // The appends acked but not yet fsync'd when the failure dropped their pages are gone (the 'interval' loss
    // window, reported in the log), never served as zeros; what is served is in the order it was sent, each once.
    const known = new Set([...Array.from({ length: 20 }, (_, i) => i), ...sent, 1000]);
    assert.ok(ids.every((x) => known.has(x)), 'only records that were sent');
    assert.ok(ids.every((x, i) => i === 0 || x > ids[i - 1]!), `in the order sent, each once: ${ids.join(',')}`);
    assert.ok(ids.length < 20 + sent.length + 1, 'the records whose pages were dropped are not served');
    assert.equal(ids[ids.length - 1], 1000);
  } finally {
    await h.close();
  }
});

test('worker: when the shard cannot be reopened (every fsync fails), requests get SHARD_STOPPED and the handle ends failed with the reason', async (t) => {
  const dir = tempShardDir(t);
  const h = await ShardHandle.open({ dir, ...SMALL, fsync: { mode: 'always' } }, { storeModuleUrl: EIO_STORE });
  try {
    await h.append(batchOf(0, 1, PAYLOAD_BYTES));
    writeFileSync(`${dir}.fail-fsync`, '');
    await assert.rejects(h.append(batchOf(1, 1, PAYLOAD_BYTES)), isStopped);
    const deadline = Date.now() + 20_000;
    let last: unknown = null;
    for (;;) {
      try {
        await h.append(batchOf(2, 1, PAYLOAD_BYTES));
        assert.fail('no append can succeed while every fsync fails');
      } catch (e) {
        last = e;
        if (/could not be restarted/.test((e as Error).message)) break;
        assert.ok(isStopped(e) || (e as ShardError).code === 'WORKER_EXITED', `refused while it tries: ${(e as Error).message}`);
      }
      assert.ok(Date.now() < deadline, `the handle did not give up within 20 s (last: ${(last as Error).message})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match((last as Error).message, /could not be restarted|could not be reopened/, (last as Error).message);
    assert.match((last as Error).message, /EIO/);
  } finally {
    await h.close().catch(() => undefined);
  }
});
