/**
 * Replicated-shard calls through a real ShardHandle and its worker thread
 * (issue 15): returnStamped, appendStamped, read with endSeqMax, fence
 * ordered after in-flight appends, truncateTo, setEpoch, baseSeq.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShardHandle } from '../../src/shard/shard-handle.js';
import { ShardError } from '../../src/shard/shard-error.js';
import { encodeRecordInto, encodedRecordLength } from '../../src/record/index.js';
import { SMALL, batchOf, recordsIn, tempShardDir } from './shard-fixtures.js';

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof ShardError && e.code === c && (re === undefined || re.test(e.message));

async function readAllBytes(h: ShardHandle, from = 0): Promise<Uint8Array> {
  const end = (await h.describe()).endSeq;
  const parts: Uint8Array[] = [];
  for (let seq = from; seq < end; ) {
    const r = await h.read(seq, 1 << 20);
    parts.push(r.bytes);
    seq = r.nextSeq;
  }
  return Buffer.concat(parts);
}

test('append with returnStamped answers a main-thread copy of exactly the bytes written; duplicates and the default answer none', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, epoch: 3 });
  t.after(() => h.close());
  const first = await h.append(batchOf(0, 4, 300), { returnStamped: true });
  assert.ok(first.stamped !== undefined);
  assert.ok(!(first.stamped.buffer instanceof SharedArrayBuffer), 'a copy owned by the main thread, not a ring view');
  // Many more appends reuse the rings' memory: the copy must not change.
  const copy = first.stamped.slice();
  for (let k = 0; k < 60; k++) await h.append(batchOf(4 + k * 5, 5, 2000));
  assert.deepEqual(first.stamped, copy);
  const r = await h.read(0, 1 << 20, 4);
  assert.deepEqual(first.stamped, r.bytes, 'equal to what a read returns');
  assert.deepEqual(recordsIn(first.stamped).map((x) => x.seq), [0, 1, 2, 3]);
  assert.equal((await h.append(batchOf(999, 1, 10))).stamped, undefined, 'off by default');
  // An idempotent producer's retry is a duplicate: nothing written, nothing to send.
  const inputs = [0, 1].map((i) => ({ payload: new Uint8Array([i]), producerId: 7, producerSeq: i }));
  const pb = new Uint8Array(inputs.reduce((n, x) => n + encodedRecordLength(x), 0));
  inputs.reduce((o, x) => o + encodeRecordInto(pb, o, x), 0);
  const a1 = await h.append(pb.slice(), { returnStamped: true });
  assert.equal(a1.stamped?.length, pb.length);
  const a2 = await h.append(pb.slice(), { returnStamped: true });
  assert.deepEqual([a2.duplicate, a2.firstSeq, a2.stamped], [true, a1.firstSeq, undefined]);
  await assert.rejects(h.append(new Uint8Array(h.readBytesMax + 8), { returnStamped: true }), code('RECORD_TOO_LARGE', /returnStamped/));
});

test('appendStamped through a worker: byte-identical replica, onAppend fires, overlap skipped, SEQ_GAP carries endSeq, DIVERGED, FENCED', async (t) => {
  const a = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, epoch: 2 });
  const b = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, epoch: 2 });
  t.after(() => Promise.all([a.close(), b.close()]));
  const heard: number[] = [];
  b.onAppend((end) => heard.push(end));
  const sent: { firstSeq: number; stamped: Uint8Array }[] = [];
  for (let k = 0; k < 5; k++) {
    const r = await a.append(batchOf(k * 3, 3, 500), { returnStamped: true });
    sent.push({ firstSeq: r.firstSeq, stamped: r.stamped! });
  }
  for (const s of sent.slice(0, 3)) {
    const r = await b.appendStamped(s.stamped, s.firstSeq, 2);
    assert.deepEqual([r.firstSeq, r.count, r.skipped], [s.firstSeq, 3, 0]);
  }
  assert.deepEqual(heard, [3, 6, 9]);
  const gap = await b.appendStamped(sent[4]!.stamped, 12, 2).catch((e: unknown) => e);
  assert.ok(code('SEQ_GAP')(gap), String(gap));
  assert.deepEqual((gap as ShardError).details, { endSeq: 9 }, 'the sequencer resends from the replica endSeq');
  const resend = Buffer.concat([sent[2]!.stamped, sent[3]!.stamped, sent[4]!.stamped]);
  const r = await b.appendStamped(resend, 6, 2);
  assert.deepEqual([r.firstSeq, r.lastSeq, r.count, r.skipped], [6, 14, 9, 3]);
  assert.deepEqual(await readAllBytes(b), await readAllBytes(a));
  const other = (await b.append(batchOf(0, 1, 64), { returnStamped: true })).stamped!; // seq 15 on B, epoch 2
  await assert.rejects(b.appendStamped(other, 0, 2), code('BAD_RECORD', /seq 15, expected 0/));
  const c = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, epoch: 2 });
  t.after(() => c.close());
  const diverging = (await c.append(batchOf(100, 1, 500), { returnStamped: true })).stamped!;
  await assert.rejects(b.appendStamped(diverging, 0, 2), code('DIVERGED', /seq 0/));
  assert.deepEqual(await b.fence(4), { endSeq: 16, lastEpoch: 2, fenceEpoch: 4 });
  const a15 = (await a.append(batchOf(200, 1, 64), { returnStamped: true })).stamped!; // seq 15 on A, epoch 2
  await assert.rejects(b.appendStamped(a15, 15, 2), code('FENCED', /fenced below epoch 4/));
  assert.equal((await b.describe()).endSeq, 16);
});

test('read with endSeqMax never returns a record at or past it; from at or past it: empty, no error', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  t.after(() => h.close());
  await h.append(batchOf(0, 10, 100));
  const r = await h.read(2, 1 << 20, 7);
  assert.deepEqual([r.count, r.firstSeq, r.nextSeq], [5, 2, 7]);
  assert.deepEqual(recordsIn(r.bytes).map((x) => x.seq), [2, 3, 4, 5, 6]);
  const empty = await h.read(7, 1 << 20, 7);
  assert.deepEqual([empty.count, empty.nextSeq, empty.bytes.length], [0, 7, 0]);
  assert.equal((await h.read(9, 1 << 20, 3)).count, 0);
  assert.equal((await h.read(0, 1 << 20)).count, 10, 'absent: as before');
});

test('fence is ordered after every append already sent: it answers their end, and later appends of the old epoch are FENCED', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, epoch: 1, inFlightMax: 8 });
  t.after(() => h.close());
  await h.pauseWorker(); // everything below queues in the ring (and behind it) until resume
  const before = Array.from({ length: 40 }, (_, k) => h.append(batchOf(k * 2, 2, 200)));
  const fenced = h.fence(2);
  const after = h.append(batchOf(1000, 1, 200));
  await h.resumeWorker();
  const results = await Promise.all(before);
  assert.equal(results.at(-1)!.lastSeq, 79);
  assert.deepEqual(await fenced, { endSeq: 80, lastEpoch: 1, fenceEpoch: 2 });
  await assert.rejects(after, code('FENCED'));
  await h.setEpoch(2);
  assert.equal((await h.append(batchOf(1000, 1, 200))).firstSeq, 80);
});

test('truncateTo, setEpoch and baseSeq through the worker; a restarted worker keeps the epoch and the fence', async (t) => {
  const dir = tempShardDir(t);
  const h = await ShardHandle.open({ dir, ...SMALL, segmentBytesMax: 4096, epoch: 1 });
  t.after(() => h.close());
  for (let k = 0; k < 10; k++) await h.append(batchOf(k * 4, 4, 300));
  assert.ok((await h.describe()).segments > 2);
  assert.equal(await h.truncateTo(13), 13);
  assert.equal((await h.describe()).endSeq, 13);
  await assert.rejects(h.truncateTo(20), code('OUT_OF_RANGE'));
  await h.fence(5);
  await h.setEpoch(5);
  const r = await h.append(batchOf(0, 1, 10), { returnStamped: true });
  assert.equal(r.firstSeq, 13);
  assert.equal(new DataView(r.stamped!.buffer).getUint32(24, true), 5, 'stamped with the new epoch');
  await h.killWorker();
  const again = await h.append(batchOf(1, 1, 10), { returnStamped: true });
  assert.equal(new DataView(again.stamped!.buffer).getUint32(24, true), 5, 'the restarted worker stamps the epoch set before');
  assert.equal((await h.fence(0)).fenceEpoch, 5, 'and knows the fence');
  const fresh = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, baseSeq: 500, epoch: 5 });
  t.after(() => fresh.close());
  const d = await fresh.describe();
  assert.deepEqual([d.startSeq, d.endSeq], [500, 500]);
  await assert.rejects(fresh.read(0, 100), code('OUT_OF_RANGE'));
  const whole = await h.read(13, 1 << 20);
  const below = await fresh.appendStamped(whole.bytes, 13, 5);
  assert.deepEqual([below.count, below.skipped, (await fresh.describe()).endSeq], [2, 2, 500], 'records below its base are skipped like ones gone by retention');
});
