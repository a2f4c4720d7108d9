import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
