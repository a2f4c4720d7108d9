import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ShardHandle } from '../../src/shard/shard-handle.js';
import { ShardError } from '../../src/shard/shard-error.js';
import { OFF_CRC } from '../../src/record/index.js';
import { SMALL, batchOf, payloadFor, recordsIn, tempShardDir } from './shard-fixtures.js';

const code = (c: string) => (e: unknown) => e instanceof ShardError && e.code === c;

test('appended records come back from read byte-exact with dense sequence numbers from 0', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  t.after(() => h.close());
  const a = await h.append(batchOf(0, 10, 100));
  assert.deepEqual([a.firstSeq, a.lastSeq, a.count, a.duplicate], [0, 9, 10, false]);
  const b = await h.append(batchOf(10, 5, 3000));
  assert.deepEqual([b.firstSeq, b.lastSeq], [10, 14]);
  const r = await h.read(0, 1 << 20);
  assert.equal(r.count, 15);
  assert.equal(r.nextSeq, 15);
  const recs = recordsIn(r.bytes);
  recs.forEach((rec, i) => {
    assert.equal(rec.seq, i);
    assert.deepEqual(rec.payload, payloadFor(i, i < 10 ? 100 : 3000));
  });
  assert.deepEqual(await h.describe(), { ...(await h.describe()), startSeq: 0, endSeq: 15 });
});

test('many concurrent appends beyond inFlightMax all resolve, in call order, with contiguous ranges', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, inFlightMax: 4 });
  t.after(() => h.close());
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => h.append(batchOf(i * 3, 3, 200))));
  results.forEach((r, i) => assert.deepEqual([r.firstSeq, r.lastSeq], [i * 3, i * 3 + 2]));
  const all = [];
  for (let seq = 0; seq < 900; ) {
    const r = await h.read(seq, 64 * 1024);
    all.push(...recordsIn(r.bytes));
    seq = r.nextSeq;
  }
  all.forEach((rec, i) => assert.deepEqual(rec.payload, payloadFor(i, 200)));
});

test('an append with one bad CRC fails whole with BAD_RECORD, writes nothing, and the shard keeps serving', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  t.after(() => h.close());
  await h.append(batchOf(0, 2, 50));
  const bad = batchOf(2, 3, 50);
  const second = bad.length / 3;
  bad[second + OFF_CRC] ^= 0xff;
  await assert.rejects(h.append(bad), code('BAD_RECORD'));
  assert.equal((await h.describe()).endSeq, 2, 'nothing of the bad batch was appended');
  const ok = await h.append(batchOf(2, 1, 50));
  assert.equal(ok.firstSeq, 2);
});

test('an append larger than the ring allows is refused with RECORD_TOO_LARGE before reaching the worker', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  t.after(() => h.close());
  await assert.rejects(h.append(new Uint8Array(h.appendBytesMax + 8)), code('RECORD_TOO_LARGE'));
  assert.equal((await h.stats()).appends, 0);
});

test('ringBytes too small for recordBytesMax is refused at open with a clear error', async (t) => {
  await assert.rejects(ShardHandle.open({ dir: tempShardDir(t), recordBytesMax: 64 * 1024, ringBytes: 32 * 1024 }), /ringBytes 32768 is too small/);
});

test('a read returns at least one whole record even when it is larger than maxBytes', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  t.after(() => h.close());
  await h.append(batchOf(0, 2, 20_000));
  const r = await h.read(0, 10);
  assert.equal(r.count, 1);
  assert.deepEqual(recordsIn(r.bytes)[0]!.payload, payloadFor(0, 20_000));
  assert.equal(r.nextSeq, 1);
});

test('a read past the end of the shard keeps the storage error code OUT_OF_RANGE; a read at the end is empty', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  t.after(() => h.close());
  await h.append(batchOf(0, 1, 10));
  await assert.rejects(h.read(5, 1000), code('OUT_OF_RANGE'));
  const atEnd = await h.read(1, 1000);
  assert.deepEqual([atEnd.count, atEnd.bytes.length, atEnd.nextSeq], [0, 0, 1]);
});

test('appends waiting in the ring are group-committed: one fsync for the batch under fsync "always"', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, fsync: { mode: 'always' } });
  t.after(() => h.close());
  await h.pauseWorker();
  const pending = Array.from({ length: 50 }, (_, i) => h.append(batchOf(i, 1, 100)));
  await new Promise((r) => setTimeout(r, 20));
  await h.resumeWorker();
  const results = await Promise.all(pending);
  assert.equal(results[49]!.lastSeq, 49);
  const s = await h.stats();
  assert.equal(s.appends, 50);
  assert.equal(s.groupSyncs, 1, 'one fsync covered all 50 appends');
  assert.equal(s.batchRequestsMax, 50);
});

test('onAppend fires with the new end sequence after each successful append, and not after unsubscribing', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  t.after(() => h.close());
  const seen: number[] = [];
  const off = h.onAppend((endSeq) => seen.push(endSeq));
  await h.append(batchOf(0, 3, 10));
  await h.append(batchOf(3, 2, 10));
  await assert.rejects(h.append(new Uint8Array(80)));
  off();
  await h.append(batchOf(5, 1, 10));
  assert.deepEqual(seen, [3, 5]);
});

test('time lookups travel the ring and find the first record at or after the time', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  t.after(() => h.close());
  const a = await h.append(batchOf(0, 3, 10));
  assert.equal(await h.seqForAppendTime(0), 0);
  assert.equal(await h.seqForAppendTime(a.appendTime + 60_000), 3);
  assert.equal(await h.seqForEventTime(a.appendTime), 0);
});

test('close flushes and stops; calls after close fail with CLOSED; a new handle recovers the shard', async (t) => {
  const dir = tempShardDir(t);
  const h = await ShardHandle.open({ dir, ...SMALL });
  const inflight = h.append(batchOf(0, 4, 10));
  await h.close();
  assert.equal((await inflight).lastSeq, 3, 'a call made before close completes');
  await assert.rejects(h.append(batchOf(4, 1, 10)), code('CLOSED'));
  await assert.rejects(h.describe(), code('CLOSED'));
  const again = await ShardHandle.open({ dir, ...SMALL });
  t.after(() => again.close());
  assert.equal((await again.describe()).endSeq, 4);
});

test('destroy removes the shard folder', async (t) => {
  const dir = tempShardDir(t);
  const h = await ShardHandle.open({ dir, ...SMALL });
  await h.append(batchOf(0, 1, 10));
  assert.ok(existsSync(dir));
  await h.destroy();
  assert.equal(existsSync(dir), false);
});

test('control calls (describe, stats, setRetention, roll) are served while appends stream through the ring', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, inFlightMax: 8 });
  t.after(() => h.close());
  const load = Array.from({ length: 400 }, (_, i) => h.append(batchOf(i * 10, 10, 500)));
  const d = await h.describe();
  assert.ok(d.endSeq >= 0);
  await h.setRetention(null, null);
  await load[0]; // a roll of a still-empty segment is a no-op; the wake of the worker is deferred to the end of the turn
  await h.roll();
  await Promise.all(load);
  const s = await h.stats();
  assert.equal(s.appends, 400);
  assert.ok((await h.describe()).segments >= 2, 'roll sealed a segment');
});

test('no more than inFlightMax requests are in the ring at once; the rest wait and then complete in order', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, inFlightMax: 4 });
  t.after(() => h.close());
  await h.pauseWorker();
  const calls = Array.from({ length: 10 }, (_, i) => h.append(batchOf(i, 1, 10)));
  const s = await h.stats();
  assert.deepEqual([s.inFlight, s.waiting], [4, 6]);
  await h.resumeWorker();
  const results = await Promise.all(calls);
  assert.deepEqual(results.map((r) => r.firstSeq), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('open on a folder the store cannot create fails with ShardError IO_ERROR (raw fs codes are not passed through)', async (t) => {
  const parent = tempShardDir(t);
  const h = await ShardHandle.open({ dir: parent, ...SMALL });
  await h.close();
  const blocked = `${parent}/checkpoint/shard`; // a file stands where a folder is needed
  await assert.rejects(ShardHandle.open({ dir: blocked, ...SMALL }), (e: unknown) => e instanceof ShardError && e.code === 'IO_ERROR' && /ENOTDIR/.test(e.message));
});

test('close on a paused worker resumes it, so calls in flight complete before the shard closes', async (t) => {
  const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL });
  await h.pauseWorker();
  const pending = h.append(batchOf(0, 2, 10));
  await h.close();
  assert.equal((await pending).lastSeq, 1);
});

test('under fsync "interval" the worker fsyncs in the background (not per batch), and not at all in the background with syncInBackground false', async (t) => {
  const run = async (syncInBackground: boolean): Promise<{ background: number; group: number }> => {
    const h = await ShardHandle.open({ dir: tempShardDir(t), ...SMALL, fsync: { mode: 'interval', ms: 40 }, syncInBackground });
    try {
      for (let i = 0; i < 8; i++) {
        await h.append(batchOf(i * 10, 10, 100));
        await new Promise((r) => setTimeout(r, 30));
      }
      await new Promise((r) => setTimeout(r, 250)); // a tick (100 ms) sees the last append due
      const s = await h.stats();
      return { background: s.backgroundSyncs, group: s.groupSyncs };
    } finally {
      await h.close();
    }
  };
  const on = await run(true);
  assert.ok(on.background >= 2, `appends 30 ms apart with a 40 ms interval: several background fsyncs (got ${on.background})`);
  assert.equal(on.group, 0);
  const off = await run(false);
  assert.equal(off.background, 0, 'inline fsync: no background fsync');
});
