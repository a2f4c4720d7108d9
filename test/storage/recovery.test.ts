import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CountingFileLayer } from '../../src/storage/file-layer.js';
import { recoveryLogLine } from '../../src/storage/recovery.js';
import { logFileName, indexFileName, CHECKPOINT_FILE } from '../../src/storage/segment-name.js';
import { StorageError } from '../../src/storage/types.js';
import { batch, openStore, readAll, rec, tempDir, textOf } from './helpers.js';

const SEGMENT_BYTES = 4096;

/** A shard with 50 sealed segments (checkpointed at the last roll) and a tail of records after it, left as a crash leaves it. */
function crashedShardWith50Sealed(dir: string): { records: number; tailBytes: number; activeBase: number } {
  const s = openStore({ dir, segmentBytesMax: SEGMENT_BYTES });
  let records = 0;
  while (s.describe().segments < 51) {
    s.append(batch([rec(`r${records}-${'x'.repeat(100)}`)]));
    records++;
  }
  const activeBase = s.segments().at(-1)!.baseSeq;
  for (let i = 0; i < 10; i++) s.append(batch([rec(`r${records++}-tail`)]));
  // The last checkpoint was written when the active segment was created (empty): the tail is all of it.
  const tailBytes = s.segments().at(-1)!.bytes;
  s.abandon();
  return { records, tailBytes, activeBase };
}

test('crash recovery with 50 sealed segments reads only the checkpoint, the active index and the tail (by bytes read)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const { records, tailBytes, activeBase } = crashedShardWith50Sealed(dir);
    const layer = new CountingFileLayer();
    const s = openStore({ dir, segmentBytesMax: SEGMENT_BYTES, fileLayer: layer });
    assert.equal(s.recovery.clean, false);
    assert.equal(s.recovery.checkpointUsed, true);
    const activeLog = join(dir, logFileName(activeBase));
    const allowed = new Set([activeLog, join(dir, CHECKPOINT_FILE), join(dir, indexFileName(activeBase))]);
    for (const [path, n] of layer.bytesReadByPath) assert.ok(allowed.has(path), `recovery read ${n} bytes of ${path}`);
    assert.equal(layer.bytesReadByPath.get(activeLog), tailBytes);
    assert.equal(s.recovery.scannedBytes, tailBytes);
    const fixedCost = statSync(join(dir, CHECKPOINT_FILE)).size + statSync(join(dir, indexFileName(activeBase))).size;
    assert.ok(layer.bytesRead <= fixedCost + tailBytes, `read ${layer.bytesRead} bytes, expected at most ${fixedCost + tailBytes}`);
    assert.ok(layer.bytesRead < SEGMENT_BYTES, 'recovery read less than one segment');
    assert.equal(s.describe().endSeq, records);
    assert.equal(s.describe().segments, 51);
    s.close();
  } finally {
    cleanup();
  }
});

test('without a checkpoint, recovery scans every segment (the control for the test above)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const { records } = crashedShardWith50Sealed(dir);
    unlinkSync(join(dir, CHECKPOINT_FILE));
    const layer = new CountingFileLayer();
    const s = openStore({ dir, segmentBytesMax: SEGMENT_BYTES, fileLayer: layer });
    assert.equal(s.recovery.checkpointUsed, false);
    assert.ok(layer.bytesRead > 50 * (SEGMENT_BYTES - 200), `read ${layer.bytesRead}`);
    assert.equal(s.describe().endSeq, records);
    assert.equal(readAll(s).length, records);
    s.close();
  } finally {
    cleanup();
  }
});

test('after a crash every appended record is back, byte for byte, with the same seq', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 2048 });
    const appended: Uint8Array[] = [];
    for (let i = 0; i < 60; i++) {
      const b = batch([rec(`a${i}`), rec(`b${i}-${'y'.repeat(i)}`)]);
      s.append(b);
      appended.push(b);
    }
    const before = readAll(s).map((r) => [r.seq, textOf(r.payload)]);
    s.abandon();
    const s2 = openStore({ dir, segmentBytesMax: 2048 });
    const after = readAll(s2);
    assert.deepEqual(after.map((r) => [r.seq, textOf(r.payload)]), before);
    const raw = s2.read(0, 1 << 20);
    const expectedFirst = appended[0]!;
    assert.deepEqual(raw.bytes.subarray(0, expectedFirst.length), expectedFirst);
    assert.equal(s2.append(batch([rec('next')])).firstSeq, 120);
    s2.close();
  } finally {
    cleanup();
  }
});

test('a clean close leaves a clean-shutdown marker; reopening consumes it and scans nothing', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch([rec('a'), rec('b')]));
    s.close();
    assert.ok(statSync(join(dir, 'clean-shutdown')).isFile());
    const s2 = openStore({ dir });
    assert.equal(s2.recovery.clean, true);
    assert.equal(s2.recovery.scannedBytes, 0);
    assert.throws(() => statSync(join(dir, 'clean-shutdown')));
    s2.abandon();
    const s3 = openStore({ dir });
    assert.equal(s3.recovery.clean, false);
    assert.equal(readAll(s3).length, 2);
    s3.close();
  } finally {
    cleanup();
  }
});

test('a missing sealed segment in the middle of the checkpointed range fails open with CORRUPT naming it', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 512 });
    for (let i = 0; i < 30; i++) s.append(batch([rec(`r${i}-${'z'.repeat(80)}`)]));
    const middle = s.segments()[2]!.baseSeq;
    s.close();
    unlinkSync(join(dir, logFileName(middle)));
    assert.throws(() => openStore({ dir, segmentBytesMax: 512 }), (e: unknown) => e instanceof StorageError && e.code === 'CORRUPT' && e.message.includes(logFileName(middle)));
  } finally {
    cleanup();
  }
});

test('without a checkpoint, damage inside a sealed segment is reported, never cut: every segment is kept and every intact record served', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 600, indexIntervalBytes: 1 });
    for (let i = 0; i < 30; i++) s.append(batch([rec(`r${i}-${'d'.repeat(60)}`)]));
    const segs = s.segments();
    const before = s.describe();
    s.abandon();
    assert.ok(segs.length >= 4);
    const victim = segs[1]!;
    const log = join(dir, logFileName(victim.baseSeq));
    const bytes = readFileSync(log);
    const recordBytes = bytes.readUInt32LE(0);
    bytes[recordBytes + 100] ^= 0x04; // inside the payload of the segment's second record
    writeFileSync(log, bytes);
    unlinkSync(join(dir, CHECKPOINT_FILE));
    const sizes = segs.map((m) => statSync(join(dir, logFileName(m.baseSeq))).size);
    const r = openStore({ dir, segmentBytesMax: 600, indexIntervalBytes: 1 });
    assert.equal(r.recovery.checkpointUsed, false);
    assert.equal(r.recovery.truncatedBytes, 0);
    assert.ok(r.recovery.damagedBytes > 0);
    assert.ok(r.recovery.problems.some((p) => p.includes(logFileName(victim.baseSeq)) && p.includes(`seqs ${victim.baseSeq + 1}..${victim.baseSeq + 1}`)), r.recovery.problems.join(' | '));
    assert.deepEqual(segs.map((m) => statSync(join(dir, logFileName(m.baseSeq))).size), sizes, 'no segment file was cut or deleted');
    assert.deepEqual(r.describe(), before);
    const damaged = victim.baseSeq + 1;
    for (let seq = 0; seq < before.endSeq; seq++) {
      if (seq === damaged) {
        assert.throws(() => r.read(seq, 1 << 20), (e: unknown) => e instanceof StorageError && e.code === 'CORRUPT' && e.message.includes(log));
        continue;
      }
      const got = r.read(seq, 1);
      assert.equal(got.count, 1, `seq ${seq}`);
      assert.equal(textOf(got.bytes.subarray(80, 80 + new DataView(got.bytes.buffer, got.bytes.byteOffset).getUint32(76, true))), `r${seq}-${'d'.repeat(60)}`);
    }
    assert.equal(r.append(batch([rec('next')])).firstSeq, before.endSeq);
    r.close();
    const again = openStore({ dir, segmentBytesMax: 600, indexIntervalBytes: 1 });
    assert.equal(again.describe().endSeq, before.endSeq + 1);
    assert.throws(() => again.read(damaged, 1), (e: unknown) => e instanceof StorageError && e.code === 'CORRUPT');
    again.close();
  } finally {
    cleanup();
  }
});

test('recovery that cuts a torn tail says so in one log line naming the file, bytes and first seq cut; a clean reopen says nothing', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch([rec('kept-0'), rec('kept-1')]));
    const size = statSync(join(dir, logFileName(0))).size;
    s.append(batch([rec('lost-' + 'x'.repeat(64))]));
    s.abandon();
    truncateSync(join(dir, logFileName(0)), size + 40);
    const r = openStore({ dir });
    assert.equal(r.recovery.truncatedBytes, 40);
    const line = recoveryLogLine(dir, r.recovery);
    assert.ok(line !== null && line.includes(join(dir, logFileName(0))) && line.includes('truncated 40 bytes') && line.includes('from seq 2'), String(line));
    r.close();
    const clean = openStore({ dir });
    assert.equal(recoveryLogLine(dir, clean.recovery), null);
    clean.close();
  } finally {
    cleanup();
  }
});
