import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { OFF_CRC, OFF_MAGIC } from '../../src/record/layout.js';
import { encodeRecordInto, encodedRecordLength } from '../../src/record/record.js';
import { FaultyFileLayer } from '../../src/storage/file-layer.js';
import { PARALLEL_CRC_MIN_BYTES } from '../../src/storage/parallel-crc.js';
import { logFileName } from '../../src/storage/segment-name.js';
import type { ShardStore } from '../../src/storage/shard-store.js';
import { StorageError } from '../../src/storage/types.js';
import { openStore, readAll, tempDir } from './helpers.js';

const RECORDS = 16;
const PAYLOAD = 64 * 1024 - 80;

/** RECORDS records of 64 KiB in a SharedArrayBuffer (as a shard worker's ring holds them); payload i starts with byte tag+i. */
function sharedBatch(tag: number, producer?: { id: number; seq: number }): Uint8Array {
  const inputs = Array.from({ length: RECORDS }, (_, i) => {
    const payload = new Uint8Array(PAYLOAD).fill((tag + i) & 0xff);
    return producer === undefined ? { payload } : { payload, producerId: producer.id, producerSeq: producer.seq + i };
  });
  const total = inputs.reduce((n, r) => n + encodedRecordLength(r), 0);
  const bytes = new Uint8Array(new SharedArrayBuffer(total + 64)).subarray(16, 16 + total);
  let off = 0;
  for (const r of inputs) off += encodeRecordInto(bytes, off, r);
  assert.ok(bytes.length >= PARALLEL_CRC_MIN_BYTES);
  return bytes;
}

function corruptCrc(bytes: Uint8Array, record: number): void {
  const at = record * (PAYLOAD + 80) + OFF_CRC;
  bytes[at] = bytes[at]! ^ 0x01;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Appends good batches until the helper thread has checked some units (it
 * starts asynchronously), then waits out any stall back-off, so the next
 * large batch takes the parallel path.
 */
async function untilHelperWorks(s: ShardStore): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (s.appendCrcStats.helperUnits === 0) {
    assert.ok(Date.now() < deadline, 'the CRC helper never checked a unit');
    s.append(sharedBatch(1));
    await sleep(5);
  }
  await sleep(s.appendCrcStats.backoffMs + 1);
}

const badCrc = (record: number) => (e: unknown) =>
  e instanceof StorageError && e.code === 'BAD_RECORD' && e.message.includes(`record ${record} of the batch`) && e.message.includes('fails its CRC');

test('large shared batches are checked with the helper thread, and their records come back byte for byte', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, appendCrcThread: true });
    await untilHelperWorks(s);
    const before = s.describe().endSeq;
    const b = sharedBatch(7);
    const r = s.append(b);
    assert.equal(r.firstSeq, before);
    assert.equal(r.count, RECORDS);
    const stats = s.appendCrcStats;
    assert.ok(stats.parallelBatches >= 2, JSON.stringify(stats));
    assert.ok(stats.helperUnits > 0, JSON.stringify(stats));
    const all = readAll(s, 4 << 20);
    assert.equal(all.length, s.describe().endSeq);
    for (let i = 0; i < RECORDS; i++) {
      const rec = all[before + i]!;
      assert.equal(rec.seq, before + i);
      assert.equal(rec.payload.length, PAYLOAD);
      assert.ok(rec.payload.every((x) => x === ((7 + i) & 0xff)));
    }
    assert.equal(statSync(join(dir, logFileName(0))).size, s.describe().bytes);
    s.close();
    const again = openStore({ dir, appendCrcThread: true });
    assert.equal(again.describe().endSeq, all.length);
    again.close();
  } finally {
    cleanup();
  }
});

test('a bad CRC anywhere in a parallel-checked batch fails the whole append: nothing written, nothing served, next append fine', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, appendCrcThread: true });
    await untilHelperWorks(s);
    const { endSeq, bytes } = s.describe();
    for (const k of [0, 5, RECORDS - 1]) {
      await sleep(s.appendCrcStats.backoffMs + 1);
      const b = sharedBatch(9);
      corruptCrc(b, k);
      const batches = s.appendCrcStats.parallelBatches;
      assert.throws(() => s.append(b), badCrc(k));
      assert.equal(s.appendCrcStats.parallelBatches, batches + 1, 'the batch took the parallel path');
      assert.deepEqual([s.describe().endSeq, s.describe().bytes], [endSeq, bytes]);
      assert.equal(statSync(join(dir, logFileName(0))).size, bytes, 'the written batch was truncated off');
      assert.equal(s.read(endSeq, 1 << 20).count, 0, 'nothing of the failed batch is readable');
    }
    assert.equal(s.append(sharedBatch(3)).firstSeq, endSeq);
    const all = readAll(s, 4 << 20);
    assert.equal(all.length, endSeq + RECORDS);
    assert.ok(all[endSeq]!.payload.every((x) => x === 3));
    s.abandon();
    const r = openStore({ dir, appendCrcThread: true });
    assert.equal(r.describe().endSeq, endSeq + RECORDS);
    r.close();
  } finally {
    cleanup();
  }
});

test('a batch that fails before its write (bad structure, duplicate retry) ends the helper\'s work; later batches are checked as before', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, appendCrcThread: true });
    await untilHelperWorks(s);
    const { endSeq, bytes } = s.describe();
    const broken = sharedBatch(1);
    broken[3 * (PAYLOAD + 80) + OFF_MAGIC] = 99;
    assert.throws(() => s.append(broken), (e: unknown) => e instanceof StorageError && e.code === 'BAD_RECORD' && e.message.includes('record 3 of the batch'));
    assert.deepEqual([s.describe().endSeq, s.describe().bytes], [endSeq, bytes]);
    const first = s.append(sharedBatch(2, { id: 77, seq: 0 }));
    assert.equal(first.firstSeq, endSeq);
    const retry = s.append(sharedBatch(2, { id: 77, seq: 0 }));
    assert.deepEqual([retry.duplicate, retry.firstSeq], [true, endSeq]);
    const bad = sharedBatch(4);
    corruptCrc(bad, 11);
    assert.throws(() => s.append(bad), badCrc(11));
    assert.equal(s.append(sharedBatch(3)).firstSeq, endSeq + RECORDS);
    assert.equal(readAll(s, 4 << 20).length, endSeq + 2 * RECORDS);
    s.close();
  } finally {
    cleanup();
  }
});

/** The real file system until armed; once armed, the next write goes through and every later write, truncate and fsync fails (the process "dies" right after it). */
class DiesAfterNextWrite extends FaultyFileLayer {
  armed = false;
  override write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    const n = super.write(fd, source, offset, length, position);
    if (this.armed) {
      this.armed = false;
      this.fail({ code: 'EIO', write: true, truncate: true, fsync: true });
    }
    return n;
  }
}

for (const bad of [false, true]) {
  test(`a crash after the batch body is written but before its CRCs are confirmed leaves nothing of it after recovery (${bad ? 'a bad CRC in the last record' : 'all CRCs good'})`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const layer = new DiesAfterNextWrite();
      const s = openStore({ dir, fileLayer: layer, appendCrcThread: true });
      await untilHelperWorks(s);
      const { endSeq, bytes } = s.describe();
      const b = sharedBatch(5);
      if (bad) corruptCrc(b, RECORDS - 1);
      layer.armed = true;
      assert.throws(() => s.append(b), bad ? badCrc(RECORDS - 1) : (e: unknown) => e instanceof StorageError && e.code === 'IO_ERROR');
      // The body is on disk past the committed end; its first record's length is still zero.
      assert.ok(statSync(join(dir, logFileName(0))).size > bytes);
      s.abandon();
      const r = openStore({ dir });
      assert.equal(r.describe().endSeq, endSeq, 'no record of the unconfirmed batch survived recovery');
      assert.equal(r.describe().bytes, bytes);
      assert.ok(r.recovery.truncatedBytes > 0);
      assert.equal(statSync(join(dir, logFileName(0))).size, bytes);
      assert.equal(readAll(r, 4 << 20).length, endSeq);
      r.close();
    } finally {
      cleanup();
    }
  });
}

test('by default (appendCrcThread false), or for a batch outside a SharedArrayBuffer, every CRC is checked serially before the write', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir: join(dir, 'a') });
    const b = sharedBatch(2);
    assert.equal(s.append(b).count, RECORDS);
    corruptCrc(b, 3);
    assert.throws(() => s.append(b), badCrc(3));
    assert.equal(s.appendCrcStats.parallelBatches, 0);
    s.close();
    const t = openStore({ dir: join(dir, 'b'), appendCrcThread: true });
    const plain = Uint8Array.from(sharedBatch(4));
    assert.equal(t.append(plain).count, RECORDS);
    assert.equal(t.appendCrcStats.parallelBatches, 0);
    assert.equal(readAll(t, 4 << 20).length, RECORDS);
    t.close();
  } finally {
    cleanup();
  }
});
