import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCheckpoint } from '../../src/storage/checkpoint.js';
import { FaultyFileLayer } from '../../src/storage/file-layer.js';
import { logFileName, indexFileName } from '../../src/storage/segment-name.js';
import { StorageError } from '../../src/storage/types.js';
import { batch, manualClock, openStore, readAll, rec, tempDir } from './helpers.js';

test('retention by time deletes sealed segments whose newest append time is older than retentionMs, never the active one', () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = manualClock(100_000);
    const s = openStore({ dir, now: clock.now, segmentBytesMax: 400, retentionMs: 60_000 });
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      s.append(batch([rec(`r${i}-${'t'.repeat(60)}`)]));
    }
    const segs = s.segments();
    clock.advance(50_000);
    const cutoff = clock.now() - 60_000;
    const expired = segs.slice(0, -1).filter((m) => m.appendTimeMax < cutoff);
    assert.ok(expired.length > 0 && expired.length < segs.length - 1, 'some but not all sealed segments expire');
    assert.equal(s.enforceRetention(), expired.length);
    const start = expired.at(-1)!.endSeq;
    assert.equal(s.describe().startSeq, start);
    for (const m of expired) {
      assert.equal(existsSync(join(dir, logFileName(m.baseSeq))), false);
      assert.equal(existsSync(join(dir, indexFileName(m.baseSeq))), false);
    }
    assert.throws(
      () => s.read(0, 100),
      (e: unknown) => e instanceof StorageError && e.code === 'OUT_OF_RANGE' && e.message.includes(`seqs ${start} to 20`),
    );
    assert.equal(readAll(s)[0]!.seq, start);
    clock.advance(1_000_000);
    s.tick();
    assert.equal(s.describe().segments, 1, 'everything sealed expired; the active segment stays');
    assert.equal(s.describe().endSeq, 20);
    s.close();
  } finally {
    cleanup();
  }
});

test('retention by bytes deletes the oldest sealed segments until the shard fits retentionBytes; startSeq survives reopen', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 500 });
    for (let i = 0; i < 40; i++) s.append(batch([rec(`r${i}-${'b'.repeat(80)}`)]));
    const before = s.describe();
    s.setRetention(null, 1500);
    const deleted = s.enforceRetention();
    const after = s.describe();
    assert.ok(deleted > 0);
    assert.ok(after.bytes <= 1500, `${after.bytes} bytes left`);
    assert.equal(after.segments, before.segments - deleted);
    assert.ok(after.startSeq > 0);
    s.abandon();
    const r = openStore({ dir, segmentBytesMax: 500 });
    assert.deepEqual(r.describe(), after);
    r.close();
  } finally {
    cleanup();
  }
});

test('retention deletion interrupted before the files are unlinked is finished on the next open', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 300 });
    for (let i = 0; i < 12; i++) s.append(batch([rec(`r${i}-${'c'.repeat(80)}`)]));
    const oldest = s.segments()[0]!.baseSeq;
    const saved = readFileSync(join(dir, logFileName(oldest)));
    s.setRetention(null, 700);
    assert.ok(s.enforceRetention() > 0);
    const startSeq = s.describe().startSeq;
    s.close();
    // A crash between writing the checkpoint and unlinking leaves the old file behind.
    writeFileSync(join(dir, logFileName(oldest)), saved);
    const s3 = openStore({ dir, segmentBytesMax: 300 });
    assert.equal(s3.describe().startSeq, startSeq);
    assert.equal(existsSync(join(dir, logFileName(oldest))), false, 'the leftover segment was deleted');
    s3.close();
  } finally {
    cleanup();
  }
});

test('retention on a full disk (checkpoint write fails ENOSPC) still deletes the files, loses nothing, and the checkpoint is written once space allows', () => {
  const { dir, cleanup } = tempDir();
  try {
    const layer = new FaultyFileLayer();
    const s = openStore({ dir, segmentBytesMax: 400, fileLayer: layer });
    for (let i = 0; i < 20; i++) s.append(batch([rec(`r${i}-${'f'.repeat(60)}`)]));
    const segs = s.segments();
    layer.fail({ code: 'ENOSPC', write: true });
    s.setRetention(null, 1000);
    try {
      s.tick(); // retention runs first; a checkpoint write due after it may fail
    } catch {
      // ENOSPC from the periodic checkpoint: expected on a full disk
    }
    const after = s.describe();
    assert.ok(after.startSeq > 0, 'retention moved startSeq');
    const deleted = segs.filter((m) => m.endSeq <= after.startSeq);
    assert.ok(deleted.length > 0);
    for (const m of deleted) {
      assert.equal(existsSync(join(dir, logFileName(m.baseSeq))), false, `${logFileName(m.baseSeq)} was unlinked although the checkpoint could not be written`);
      assert.equal(existsSync(join(dir, indexFileName(m.baseSeq))), false);
    }
    for (const m of segs.filter((x) => x.endSeq > after.startSeq)) assert.ok(existsSync(join(dir, logFileName(m.baseSeq))));
    const kept = readAll(s).map((r) => r.seq);
    assert.equal(kept[0], after.startSeq);
    assert.equal(kept.length, 20 - after.startSeq);
    // A crash now: the old checkpoint names the deleted segments; recovery takes them as deleted by retention.
    s.abandon();
    const r = openStore({ dir, segmentBytesMax: 400 });
    assert.deepEqual(r.describe(), after);
    assert.deepEqual(readAll(r).map((x) => x.seq), kept);
    r.close();
    // And without a crash: healed, the next tick writes the checkpoint.
    const clock = manualClock();
    const layer2 = new FaultyFileLayer();
    const s2 = openStore({ dir, segmentBytesMax: 400, fileLayer: layer2, now: clock.now });
    s2.setRetention(null, 600);
    layer2.fail({ code: 'ENOSPC', write: true });
    assert.ok(s2.enforceRetention() > 0, 'deletes although the checkpoint write fails');
    const d2 = s2.describe();
    assert.ok(decodeCheckpoint(readFileSync(join(dir, 'checkpoint'))).startSeq < d2.startSeq, 'the checkpoint write failed');
    layer2.heal();
    clock.advance(10_000);
    s2.tick();
    assert.equal(decodeCheckpoint(readFileSync(join(dir, 'checkpoint'))).startSeq, d2.startSeq, 'tick wrote the checkpoint once it could');
    s2.abandon();
    const r2 = openStore({ dir, segmentBytesMax: 400 });
    assert.deepEqual(r2.describe(), d2);
    r2.close();
  } finally {
    cleanup();
  }
});
