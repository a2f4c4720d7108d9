import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CountingFileLayer } from '../../src/storage/file-layer.js';
import { FSYNC_POLICY_DEFAULT } from '../../src/storage/defaults.js';
import { logFileName } from '../../src/storage/segment-name.js';
import type { FsyncPolicy } from '../../src/storage/types.js';
import { batch, manualClock, openStore, rec, tempDir } from './helpers.js';

/** fsyncs of the first segment's log caused by `appends` appends of ~100 bytes each (clock +100 ms per append). */
function logFsyncs(fsync: FsyncPolicy, appends: number): number {
  const { dir, cleanup } = tempDir();
  try {
    const layer = new CountingFileLayer();
    const clock = manualClock();
    const s = openStore({ dir, fileLayer: layer, fsync, now: clock.now });
    layer.reset();
    for (let i = 0; i < appends; i++) {
      clock.advance(100);
      s.append(batch([rec('x'.repeat(20))]));
    }
    const n = layer.fsyncsByPath.get(join(dir, logFileName(0))) ?? 0;
    s.abandon();
    return n;
  } finally {
    cleanup();
  }
}

test('fsync=always fsyncs once per append call', () => {
  assert.equal(logFsyncs({ mode: 'always' }, 10), 10);
});

test('fsync=bytes fsyncs each time that many bytes are unsynced', () => {
  // each record is 104 bytes: 1000 bytes are reached on every 10th append
  assert.equal(logFsyncs({ mode: 'bytes', bytes: 1000 }, 30), 3);
});

test('fsync=interval fsyncs when the oldest unsynced append is that old', () => {
  // appends 100 ms apart: the 6th append sees its oldest unsynced byte 500 ms old
  assert.equal(logFsyncs({ mode: 'interval', ms: 500 }, 30), 5);
});

test('fsync=roll never fsyncs on append', () => {
  assert.equal(logFsyncs({ mode: 'roll' }, 30), 0);
});

test('the default fsync policy is interval 1000 ms', () => {
  assert.deepEqual(FSYNC_POLICY_DEFAULT, { mode: 'interval', ms: 1000 });
});

test('tick() fsyncs interval-mode data that no append followed', () => {
  const { dir, cleanup } = tempDir();
  try {
    const layer = new CountingFileLayer();
    const clock = manualClock();
    const s = openStore({ dir, fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, now: clock.now });
    layer.reset();
    s.append(batch([rec('a')]));
    clock.advance(999);
    s.tick();
    assert.equal(layer.fsyncsByPath.get(join(dir, logFileName(0))) ?? 0, 0);
    clock.advance(1);
    s.tick();
    assert.equal(layer.fsyncsByPath.get(join(dir, logFileName(0))), 1);
    s.close();
  } finally {
    cleanup();
  }
});
