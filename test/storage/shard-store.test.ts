import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32Backend } from '../../src/record/crc32.js';
import { OFF_SEQ, RECORD_HEADER_BYTES } from '../../src/record/layout.js';
import { dataViewOf, getU64 } from '../../src/record/record.js';
import { StorageError } from '../../src/storage/types.js';
import { batch, decodeAll, manualClock, openStore, readAll, rec, tempDir, textOf } from './helpers.js';

test('append assigns dense seqs from 0 and read returns the same payload bytes', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    const r1 = s.append(batch([rec('a'), rec('bb'), rec('ccc')]));
    const r2 = s.append(batch([rec('dddd')]));
    assert.deepEqual([r1.firstSeq, r1.lastSeq, r1.count, r1.duplicate], [0, 2, 3, false]);
    assert.deepEqual([r2.firstSeq, r2.lastSeq], [3, 3]);
    const all = readAll(s);
    assert.deepEqual(all.map((r) => textOf(r.payload)), ['a', 'bb', 'ccc', 'dddd']);
    assert.deepEqual(all.map((r) => r.seq), [0, 1, 2, 3]);
    assert.deepEqual(s.describe(), { startSeq: 0, endSeq: 4, bytes: all.reduce((n, r) => n + r.length, 0), segments: 1 });
    s.close();
  } finally {
    cleanup();
  }
});

test('append patches seq, append time and epoch in the caller buffer (also a SharedArrayBuffer view)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = manualClock(5000);
    const s = openStore({ dir, now: clock.now, epoch: 7 });
    s.append(batch([rec('x')]));
    const src = batch([rec('y'), rec('z')]);
    const sab = new SharedArrayBuffer(src.length + 64);
    const ring = new Uint8Array(sab, 16, src.length);
    ring.set(src);
    const r = s.append(ring);
    assert.equal(r.firstSeq, 1);
    const decoded = decodeAll(new Uint8Array(ring));
    assert.deepEqual(decoded.map((d) => [d.seq, d.appendTime, d.epoch]), [[1, 5000, 7], [2, 5000, 7]]);
    const back = s.read(1, 1 << 20);
    assert.deepEqual(back.bytes, new Uint8Array(ring));
    s.close();
  } finally {
    cleanup();
  }
});

test('read honours maxBytes with whole records, but returns at least one record', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch([rec('a'.repeat(100)), rec('b'.repeat(100)), rec('c'.repeat(100))]));
    const one = s.read(0, 1);
    assert.equal(one.count, 1);
    assert.equal(one.nextSeq, 1);
    const len = one.bytes.length;
    const two = s.read(0, len * 2 + len - 1);
    assert.equal(two.count, 2);
    assert.equal(two.bytes.length, len * 2);
    const rest = s.read(2, 1 << 20);
    assert.deepEqual([rest.count, rest.firstSeq, rest.nextSeq], [1, 2, 3]);
    const end = s.read(3, 1 << 20);
    assert.deepEqual([end.count, end.bytes.length, end.nextSeq], [0, 0, 3]);
    s.close();
  } finally {
    cleanup();
  }
});

test('readInto fills a caller buffer with whole records and reports a first record too big to fit', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch([rec('a'.repeat(10)), rec('b'.repeat(500))]));
    const target = new Uint8Array(new SharedArrayBuffer(400));
    const r = s.readInto(0, target, 400);
    assert.deepEqual([r.count, r.nextSeq, r.firstRecordBytes], [1, 1, 0]);
    assert.equal(textOf(decodeAll(target.subarray(0, r.byteLength))[0]!.payload), 'a'.repeat(10));
    const big = s.readInto(1, target, 400);
    assert.equal(big.count, 0);
    assert.ok(big.firstRecordBytes > 400);
    assert.equal(big.byteLength, 0);
    s.close();
  } finally {
    cleanup();
  }
});

test('a read outside [startSeq, endSeq] fails OUT_OF_RANGE naming the valid range', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch([rec('a')]));
    assert.throws(() => s.read(2, 100), (e: unknown) => e instanceof StorageError && e.code === 'OUT_OF_RANGE' && /0 to 1/.test(e.message));
    assert.throws(() => s.read(-1, 100), (e: unknown) => e instanceof StorageError && e.code === 'OUT_OF_RANGE');
    s.close();
  } finally {
    cleanup();
  }
});

test('a batch with one bad record is rejected whole: BAD_RECORD, nothing written, seqs unchanged', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch([rec('ok')]));
    const b = batch([rec('good'), rec('bad')]);
    b[b.length - 1] ^= 0xff; // payload padding byte inside the CRC range
    assert.throws(() => s.append(b), (e: unknown) => e instanceof StorageError && e.code === 'BAD_RECORD');
    assert.deepEqual(s.describe().endSeq, 1);
    const torn = batch([rec('x')]).subarray(0, RECORD_HEADER_BYTES - 8);
    assert.throws(() => s.append(torn), (e: unknown) => e instanceof StorageError && e.code === 'BAD_RECORD');
    const r = s.append(batch([rec('next')]));
    assert.equal(r.firstSeq, 1);
    assert.deepEqual(readAll(s).map((d) => textOf(d.payload)), ['ok', 'next']);
    s.close();
  } finally {
    cleanup();
  }
});

test('a flipped bit in record k of a 64-record batch is rejected naming record k and its CRC, whichever CRC backend runs (one native call or record by record)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    const inputs = Array.from({ length: 64 }, (_, i) => rec('r'.repeat(200 + i * 37)));
    const good = batch(inputs);
    for (const k of [0, 17, 63]) {
      const b = good.slice();
      let off = 0;
      for (let i = 0; i < k; i++) off += new DataView(b.buffer).getUint32(off, true);
      b[off + 100] ^= 0x10; // payload byte of record k, inside its CRC range
      assert.throws(
        () => s.append(b),
        (e: unknown) => e instanceof StorageError && e.code === 'BAD_RECORD' && e.message.includes(`record ${k} of the batch`) && e.message.includes('fails its CRC'),
        `record ${k} (crc32 backend ${crc32Backend})`,
      );
      assert.equal(s.describe().endSeq, 0);
    }
    assert.equal(s.append(good).count, 64);
    s.close();
  } finally {
    cleanup();
  }
});

test('a record above recordBytesMax fails RECORD_TOO_LARGE', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, recordBytesMax: 256 });
    assert.throws(() => s.append(batch([rec('x'.repeat(300))])), (e: unknown) => e instanceof StorageError && e.code === 'RECORD_TOO_LARGE');
    assert.equal(s.describe().endSeq, 0);
    s.close();
  } finally {
    cleanup();
  }
});

test('segments roll by size; reads and seqs continue across segments and after a clean reopen', () => {
  const { dir, cleanup } = tempDir();
  try {
    let s = openStore({ dir, segmentBytesMax: 1024 });
    for (let i = 0; i < 40; i++) s.append(batch([rec(`record-${i}-${'p'.repeat(60)}`)]));
    const d = s.describe();
    assert.equal(d.endSeq, 40);
    assert.ok(d.segments > 3, `expected several segments, got ${d.segments}`);
    for (const m of s.segments().slice(0, -1)) assert.ok(m.bytes <= 1024);
    s.close();
    s = openStore({ dir, segmentBytesMax: 1024 });
    assert.equal(s.recovery.clean, true);
    assert.equal(s.recovery.scannedBytes, 0);
    assert.deepEqual(s.describe(), d);
    assert.deepEqual(readAll(s, 300).map((r) => textOf(r.payload).split('-')[1]), Array.from({ length: 40 }, (_, i) => String(i)));
    assert.equal(s.append(batch([rec('more')])).firstSeq, 40);
    s.close();
  } finally {
    cleanup();
  }
});

test('segments roll by age (segmentMsMax) on append and on tick', () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = manualClock();
    const s = openStore({ dir, now: clock.now, segmentMsMax: 1000 });
    s.append(batch([rec('a')]));
    clock.advance(999);
    s.append(batch([rec('b')]));
    assert.equal(s.describe().segments, 1);
    clock.advance(1);
    s.append(batch([rec('c')]));
    assert.equal(s.describe().segments, 2);
    clock.advance(1000);
    s.tick();
    assert.equal(s.describe().segments, 3);
    assert.deepEqual(s.segments().map((m) => m.baseSeq), [0, 2, 3]);
    s.close();
  } finally {
    cleanup();
  }
});

test('append time never goes backwards when the clock does', () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = manualClock(10_000);
    const s = openStore({ dir, now: clock.now });
    assert.equal(s.append(batch([rec('a')])).appendTime, 10_000);
    clock.set(9_000);
    assert.equal(s.append(batch([rec('b')])).appendTime, 10_000);
    clock.set(11_000);
    assert.equal(s.append(batch([rec('c')])).appendTime, 11_000);
    s.close();
    clock.set(5_000);
    const s2 = openStore({ dir, now: clock.now });
    assert.equal(s2.append(batch([rec('d')])).appendTime, 11_000);
    s2.close();
  } finally {
    cleanup();
  }
});

test('operations on a closed store fail CLOSED', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.close();
    assert.throws(() => s.append(batch([rec('a')])), (e: unknown) => e instanceof StorageError && e.code === 'CLOSED');
    assert.throws(() => s.read(0, 10), (e: unknown) => e instanceof StorageError && e.code === 'CLOSED');
  } finally {
    cleanup();
  }
});

test('the seq patched on disk matches the seq returned (spot check via raw header)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch([rec('a'), rec('b')]));
    const r = s.read(1, 1000);
    assert.equal(getU64(dataViewOf(r.bytes), OFF_SEQ), 1);
    s.close();
  } finally {
    cleanup();
  }
});

test('an empty shard answers lookups with endSeq 0 and an empty read', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    assert.deepEqual(s.describe(), { startSeq: 0, endSeq: 0, bytes: 0, segments: 1 });
    assert.equal(s.seqForEventTime(0), 0);
    assert.equal(s.seqForAppendTime(Date.now()), 0);
    assert.deepEqual([s.read(0, 100).count, s.read(0, 100).nextSeq], [0, 0]);
    s.roll();
    assert.equal(s.describe().segments, 1, 'rolling an empty segment is a no-op');
    s.close();
  } finally {
    cleanup();
  }
});

test('setEpoch stamps the new epoch into records appended after it', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, epoch: 1 });
    s.append(batch([rec('a')]));
    s.setEpoch(2);
    s.append(batch([rec('b')]));
    assert.deepEqual(readAll(s).map((r) => r.epoch), [1, 2]);
    s.close();
  } finally {
    cleanup();
  }
});
