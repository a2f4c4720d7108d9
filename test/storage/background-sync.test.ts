/**
 * Background fsync (ShardStoreOptions.syncInBackground): the 'interval' and
 * 'bytes' policies are met by fsyncs on another thread, started with
 * startBackgroundSync(), while append() goes on without fsyncing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CountingFileLayer, FaultyFileLayer, ForwardingFileLayer, type FileLayer } from '../../src/storage/file-layer.js';
import { MemFileLayer } from '../../src/storage/mem-file-layer.js';
import { BACKGROUND_SYNC_BYTES, BACKGROUND_SYNC_LAG_FACTOR } from '../../src/storage/defaults.js';
import { logFileName } from '../../src/storage/segment-name.js';
import { StorageError } from '../../src/storage/types.js';
import { batch, manualClock, openStore, readAll, rec, tempDir, textOf } from './helpers.js';

/** A layer whose background fsyncs wait until release() (so a test controls when one completes). */
class GatedSyncLayer extends ForwardingFileLayer {
  private gates: (() => void)[] = [];
  asyncCalls = 0;
  inlineCalls = 0;
  /** Descriptors passed to fsyncAsync, in order. */
  asyncFds: number[] = [];
  closedFds: number[] = [];
  constructor(inner: FileLayer) {
    super(inner);
  }
  override fsync(fd: number): void {
    this.inlineCalls++;
    this.inner.fsync(fd);
  }
  override async fsyncAsync(fd: number): Promise<void> {
    this.asyncCalls++;
    this.asyncFds.push(fd);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return this.inner.fsyncAsync(fd);
  }
  override close(fd: number): void {
    this.closedFds.push(fd);
    this.inner.close(fd);
  }
  release(): void {
    for (const g of this.gates.splice(0)) g();
  }
  get waiting(): number {
    return this.gates.length;
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

test('background sync: append never fsyncs inline under interval; a background fsync starts once the oldest unsynced append is half the interval old', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const layer = new CountingFileLayer();
    const clock = manualClock();
    const s = openStore({ dir, fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
    layer.reset();
    const log = join(dir, logFileName(0));
    s.append(batch([rec('a')]));
    clock.advance(499);
    assert.equal(s.startBackgroundSync(), null, 'not due before half the interval');
    for (let i = 0; i < 10; i++) {
      clock.advance(100);
      s.append(batch([rec('b')]));
    }
    assert.equal(layer.fsyncsByPath.get(log) ?? 0, 0, 'no inline fsync on append while within the lag bound');
    const p = s.startBackgroundSync();
    assert.ok(p !== null, 'due: oldest unsynced append is over 500 ms old');
    assert.equal(s.startBackgroundSync(), null, 'one background fsync at a time');
    await p;
    assert.equal(layer.fsyncsByPath.get(log), 1);
    assert.deepEqual(s.backgroundSyncStats, { completed: 1, inFlight: false, failed: false });
    assert.equal(s.startBackgroundSync(), null, 'nothing unsynced after it');
    s.close();
  } finally {
    cleanup();
  }
});

test('background sync: appends made while it runs stay unsynced, with their own age', async () => {
  const layer = new GatedSyncLayer(new MemFileLayer());
  const clock = manualClock();
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
  s.append(batch([rec('before')]));
  clock.advance(600);
  const p = s.startBackgroundSync()!;
  clock.advance(100);
  s.append(batch([rec('during')])); // appended at t=700 while the fsync runs
  layer.release();
  await p;
  clock.advance(499); // 'during' is 499 ms old
  assert.equal(s.startBackgroundSync(), null);
  clock.advance(1); // 500 ms old
  const q = s.startBackgroundSync();
  assert.ok(q !== null, 'the append made during the first fsync is synced by the next one');
  layer.release();
  await q;
  s.close();
});

test('background sync: what was appended before a completed background fsync survives a power loss', async () => {
  const mem = new MemFileLayer();
  const clock = manualClock();
  const s = openStore({ dir: '/shard', fileLayer: mem, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
  for (let i = 0; i < 20; i++) {
    clock.advance(50);
    s.append(batch([rec(`r${i}`)]));
  }
  const p = s.startBackgroundSync();
  assert.ok(p !== null);
  await p;
  s.append(batch([rec('after')])); // acked, unsynced: may be lost
  mem.crash();
  const reopened = openStore({ dir: '/shard', fileLayer: mem, now: clock.now });
  const texts = readAll(reopened).map((r) => textOf(r.payload));
  assert.deepEqual(texts.slice(0, 20), Array.from({ length: 20 }, (_, i) => `r${i}`));
  assert.ok(texts.length === 20, `the unsynced append after the fsync was lost with the power (got ${texts.length})`);
  reopened.close();
});

test(`background sync: when background fsyncs cannot keep up, append fsyncs inline past ${BACKGROUND_SYNC_LAG_FACTOR}x the interval (backpressure)`, async () => {
  const layer = new GatedSyncLayer(new MemFileLayer());
  const clock = manualClock();
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
  const inlineAtOpen = layer.inlineCalls;
  s.append(batch([rec('a')]));
  clock.advance(500);
  const p = s.startBackgroundSync()!; // never released until the end: a stuck disk
  clock.advance(1400); // oldest unsynced 1900 ms
  s.append(batch([rec('b')]));
  assert.equal(layer.inlineCalls, inlineAtOpen, 'still within 2 x interval');
  clock.advance(100); // 2000 ms
  s.append(batch([rec('c')]));
  assert.equal(layer.inlineCalls, inlineAtOpen + 1, 'the append at 2 x interval fsyncs inline');
  layer.release();
  await p;
  s.close();
});

test('background sync: bytes policy and the BACKGROUND_SYNC_BYTES bound start background fsyncs', () => {
  const layer = new GatedSyncLayer(new MemFileLayer());
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'bytes', bytes: 1000 }, syncInBackground: true });
  for (let i = 0; i < 9; i++) s.append(batch([rec('x'.repeat(20))])); // 9 x 104 bytes
  assert.equal(s.startBackgroundSync(), null, '936 bytes unsynced: not due');
  s.append(batch([rec('x'.repeat(20))]));
  assert.ok(s.startBackgroundSync() !== null, '1040 bytes unsynced: due');
  layer.release();
  const big = new Uint8Array(1024 * 1024 - 128).fill(7);
  const s2 = openStore({ dir: '/shard2', fileLayer: layer, fsync: { mode: 'interval', ms: 60_000 }, syncInBackground: true, recordBytesMax: 2 * 1024 * 1024 });
  let appended = 0;
  while (appended + 1024 * 1024 <= BACKGROUND_SYNC_BYTES - 1024 * 1024) {
    appended += s2.append(batch([{ payload: big }])).count * (1024 * 1024);
  }
  assert.equal(s2.startBackgroundSync(), null, 'under BACKGROUND_SYNC_BYTES and under half the interval: not due');
  s2.append(batch([{ payload: big }]));
  s2.append(batch([{ payload: big }]));
  assert.ok(s2.startBackgroundSync() !== null, `over ${BACKGROUND_SYNC_BYTES} bytes unsynced: due however young`);
  layer.release();
  s.abandon();
  s2.abandon();
});

test('background sync: a roll while it runs keeps the old segment descriptor open until the fsync settles', async () => {
  const layer = new GatedSyncLayer(new MemFileLayer());
  const clock = manualClock();
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
  s.append(batch([rec('old segment')]));
  clock.advance(600);
  const p = s.startBackgroundSync()!;
  const oldLogFd = layer.asyncFds[0]!;
  s.roll();
  s.append(batch([rec('new segment')]));
  assert.ok(!layer.closedFds.includes(oldLogFd), 'the old log descriptor stays open while its fsync runs (its number cannot be reused)');
  layer.release();
  await p;
  assert.ok(layer.closedFds.includes(oldLogFd), 'the old log descriptor is closed once the fsync settled');
  assert.deepEqual(readAll(s).map((r) => textOf(r.payload)), ['old segment', 'new segment']);
  s.close();
});

test('background sync: a failed background fsync fails the next append (inline fsync) until an fsync succeeds', async () => {
  const faulty = new FaultyFileLayer(new MemFileLayer());
  const clock = manualClock();
  const s = openStore({ dir: '/shard', fileLayer: faulty, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
  s.append(batch([rec('a')]));
  clock.advance(600);
  faulty.fail({ code: 'EIO', fsync: true });
  await s.startBackgroundSync();
  assert.equal(s.backgroundSyncStats.failed, true);
  assert.throws(
    () => s.append(batch([rec('b')])),
    (e: unknown) => e instanceof StorageError && e.code === 'IO_ERROR' && /fsync/.test(e.message),
  );
  faulty.heal();
  const r = s.append(batch([rec('c')]));
  assert.equal(r.count, 1);
  assert.equal(s.backgroundSyncStats.failed, false, 'the inline fsync of that append succeeded');
  assert.deepEqual(readAll(s).map((x) => textOf(x.payload)), ['a', 'c'], 'the append whose fsync failed was rolled back');
  await settle();
  s.close();
});

test('background sync is off by default: interval mode fsyncs inline on append as before', () => {
  const layer = new GatedSyncLayer(new MemFileLayer());
  const clock = manualClock();
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, now: clock.now });
  const before = layer.inlineCalls;
  s.append(batch([rec('a')]));
  clock.advance(1000);
  s.append(batch([rec('b')]));
  assert.equal(layer.inlineCalls, before + 1);
  assert.equal(s.startBackgroundSync(), null);
  s.close();
});
