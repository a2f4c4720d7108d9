import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShardHandle } from '../../src/shard/shard-handle.js';
import { ShardError } from '../../src/shard/shard-error.js';
import type { AppendResult } from '../../src/shard/types.js';
import { SMALL, batchOf, payloadFor, recordsIn, tempShardDir } from './shard-fixtures.js';

const PER_APPEND = 5;
const PAYLOAD_BYTES = 300;

test('a worker killed mid-load fails only its in-flight calls with WORKER_EXITED, restarts, and every acked record is there byte-exact with its seq', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, inFlightMax: 16 });
  t.after(() => h.close());
  const appends = 1500;
  const acked: { id: number; r: AppendResult }[] = [];
  const failures: string[] = [];
  let next = 0;
  let killed: Promise<void> | null = null;
  const producer = async (): Promise<void> => {
    while (next < appends) {
      const id = next++ * PER_APPEND;
      try {
        acked.push({ id, r: await h.append(batchOf(id, PER_APPEND, PAYLOAD_BYTES)) });
      } catch (e) {
        failures.push(e instanceof ShardError ? e.code : String(e));
      }
      if (acked.length === 300 && killed === null) killed = h.killWorker();
    }
  };
  await Promise.all(Array.from({ length: 24 }, producer));
  await killed;
  assert.ok(failures.length > 0, 'some calls were in flight at the kill');
  assert.deepEqual([...new Set(failures)], ['WORKER_EXITED']);
  assert.equal(acked.length + failures.length, appends);
  assert.equal((await h.stats()).restarts, 1);

  const endSeq = (await h.describe()).endSeq;
  const bySeq = new Map<number, Uint8Array>();
  for (let seq = 0; seq < endSeq; ) {
    const r = await h.read(seq, 256 * 1024);
    for (const rec of recordsIn(r.bytes)) {
      assert.equal(rec.seq, bySeq.size, 'records come back in dense seq order');
      bySeq.set(rec.seq, rec.payload);
    }
    seq = r.nextSeq;
  }
  assert.equal(bySeq.size, endSeq, 'sequence numbers are dense from 0');
  for (const { id, r } of acked) {
    for (let k = 0; k < r.count; k++) {
      assert.deepEqual(bySeq.get(r.firstSeq + k), payloadFor(id + k, PAYLOAD_BYTES), `acked record ${id + k} at seq ${r.firstSeq + k}`);
    }
  }
});

test('requests waiting in the ring when the worker dies are rejected with WORKER_EXITED, and the restarted shard serves new calls', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  t.after(() => h.close());
  await h.append(batchOf(0, 2, 10));
  await h.pauseWorker();
  const stuck = Promise.allSettled(Array.from({ length: 10 }, (_, i) => h.append(batchOf(2 + i, 1, 10))));
  await h.killWorker();
  const outcomes = await stuck;
  for (const o of outcomes) {
    assert.equal(o.status, 'rejected');
    assert.equal((o as PromiseRejectedResult).reason.code, 'WORKER_EXITED');
  }
  assert.equal((await h.describe()).endSeq, 2, 'nothing that was never served appeared');
  const r = await h.append(batchOf(2, 1, 10));
  assert.equal(r.firstSeq, 2);
});

test('calls not yet written to the ring when the worker dies are not failed: they go to the restarted worker', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, inFlightMax: 2 });
  t.after(() => h.close());
  await h.pauseWorker();
  const calls = Promise.allSettled(Array.from({ length: 6 }, (_, i) => h.append(batchOf(i, 1, 10))));
  const s = await h.stats();
  assert.deepEqual([s.inFlight, s.waiting], [2, 4], 'inFlightMax holds the rest back');
  await h.killWorker();
  const outcomes = await calls;
  assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.deepEqual(outcomes.slice(2).map((o) => (o as PromiseFulfilledResult<AppendResult>).value.firstSeq), [0, 1, 2, 3]);
});
