/**
 * Background fsync (ShardStoreOptions.syncInBackground): the 'interval' and
 * 'bytes' policies are met by fsyncs on another thread, started with
 * startBackgroundSync(), while append() goes on without fsyncing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CountingFileLayer, ForwardingFileLayer, readWholeFile, type FileLayer } from '../../src/storage/file-layer.js';
import { decodeCheckpoint } from '../../src/storage/checkpoint.js';
import { MemFileLayer } from '../../src/storage/mem-file-layer.js';
import { BACKGROUND_SYNC_BYTES, BACKGROUND_SYNC_LAG_FACTOR } from '../../src/storage/defaults.js';
import { logFileName } from '../../src/storage/segment-name.js';
import { StorageError } from '../../src/storage/types.js';
import { batch, manualClock, openStore, readAll, rec, tempDir, textOf } from './helpers.js';

/** A layer whose background fsyncs wait until release() (so a test controls when one completes). */
class GatedSyncLayer extends ForwardingFileLayer {
  private gates: (() => void)[] = [];
  private gateFds: number[] = [];
  asyncCalls = 0;
  inlineCalls = 0;
  /** Descriptors passed to fsync (inline), in order, and the paths they were opened with. */
  inlineFds: number[] = [];
  inlinePaths: string[] = [];
  private readonly paths = new Map<number, string>();
  /** Descriptors passed to fsyncAsync, in order. */
  asyncFds: number[] = [];
  closedFds: number[] = [];
  constructor(inner: FileLayer) {
    super(inner);
  }
  override open(path: string, mode: 'read' | 'readwrite' | 'create'): number {
    const fd = this.inner.open(path, mode);
    this.paths.set(fd, path);
    return fd;
  }
  override fsync(fd: number): void {
    this.inlineCalls++;
    this.inlineFds.push(fd);
    this.inlinePaths.push(this.paths.get(fd) ?? '?');
    this.inner.fsync(fd);
  }
  override async fsyncAsync(fd: number): Promise<void> {
    this.asyncCalls++;
    this.asyncFds.push(fd);
    await new Promise<void>((resolve) => {
      this.gates.push(resolve);
      this.gateFds.push(fd);
    });
    return this.inner.fsyncAsync(fd);
  }
  /** Releases only the waiting fsyncs of fd. */
  releaseFd(fd: number): void {
    for (let i = this.gates.length - 1; i >= 0; i--) {
      if (this.gateFds[i] !== fd) continue;
      this.gates.splice(i, 1)[0]!();
      this.gateFds.splice(i, 1);
    }
  }
  override close(fd: number): void {
    this.closedFds.push(fd);
    this.inner.close(fd);
  }
  release(): void {
    this.gateFds.length = 0;
    for (const g of this.gates.splice(0)) g();
  }
  get waiting(): number {
    return this.gates.length;
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Releases every gated fsync until the store has no background work left. */
async function drain(layer: GatedSyncLayer, s: { backgroundIdle(): Promise<void> }): Promise<void> {
  let idle = false;
  void s.backgroundIdle().then(() => (idle = true));
  while (!idle) {
    layer.release();
    await settle();
  }
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
    assert.deepEqual(s.backgroundSyncStats, { completed: 1, inFlight: false });
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

test('background sync: it runs on a descriptor of its own, closed once it settles (a roll meanwhile does not disturb it)', async () => {
  const layer = new GatedSyncLayer(new MemFileLayer());
  const clock = manualClock();
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
  s.append(batch([rec('old segment')]));
  clock.advance(600);
  const p = s.startBackgroundSync()!;
  const oldLogFd = layer.asyncFds[0]!;
  s.roll();
  s.append(batch([rec('new segment')]));
  assert.ok(!layer.closedFds.includes(oldLogFd), 'its descriptor stays open while its fsync runs');
  layer.release();
  await p;
  await drain(layer, s);
  assert.ok(layer.closedFds.includes(oldLogFd), 'and is closed once it settled');
  assert.deepEqual(readAll(s).map((r) => textOf(r.payload)), ['old segment', 'new segment']);
  s.close();
});

const isStopped = (e: unknown): boolean => e instanceof StorageError && e.code === 'SHARD_STOPPED';

test('background sync: a failed background fsync (EIO, dirty pages dropped) stops the store for good: no later fsync, append or read; reopen() serves only what the last successful fsync covered', async () => {
  // The fault model of Linux: the failed writeback drops the dirty pages and reports EIO once; the next
  // fsync "succeeds" without the data (MemFileLayer.failFsyncOnce). Retrying would ack over a hole.
  const mem = new MemFileLayer();
  const clock = manualClock();
  const log = '/shard/' + logFileName(0);
  const s = openStore({ dir: '/shard', fileLayer: mem, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
  s.append(batch([rec('a'), rec('b')]));
  clock.advance(600);
  await s.startBackgroundSync(); // a and b are durable
  s.append(batch([rec('c')]));
  s.append(batch([rec('d')])); // acked under interval, not yet fsync'd
  clock.advance(600);
  mem.failFsyncOnce((p) => p === log);
  await s.startBackgroundSync();
  assert.equal(mem.fsyncFailures, 1);
  assert.throws(() => s.append(batch([rec('e')])), (e: unknown) => isStopped(e) && /fsync of .*\.log failed \(EIO/.test((e as Error).message) && /not acked/.test((e as Error).message));
  assert.ok(isStopped(s.stopped), 'the store is stopped');
  assert.throws(() => s.read(0, 1 << 20), isStopped, 'nothing is read from a stopped store (c and d read zeros now)');
  assert.throws(() => s.tick(), isStopped);
  assert.throws(() => s.sync(), isStopped, 'never retried');
  assert.deepEqual(s.durableCut, { baseSeq: 0, bytes: batch([rec('a'), rec('b')]).length });
  const r = await s.reopen();
  assert.deepEqual(readAll(r).map((x) => textOf(x.payload)), ['a', 'b'], 'only what the successful fsync covered');
  assert.match(r.recovery.problems[0]!, /reopened after background fsync of .*failed \(EIO.*cut back to its \d+ durable bytes/);
  assert.equal(r.append(batch([rec('e')])).firstSeq, 2, 'seqs stay dense: the lost c and d are reassigned, never served twice');
  r.sync();
  r.abandon();
  const restarted = openStore({ dir: '/shard', fileLayer: mem, now: clock.now });
  assert.deepEqual(readAll(restarted).map((x) => textOf(x.payload)), ['a', 'b', 'e'], 'a process restart serves the same');
  restarted.abandon();
  mem.crash();
  const afterPowerLoss = openStore({ dir: '/shard', fileLayer: mem, now: clock.now });
  assert.deepEqual(readAll(afterPowerLoss).map((x) => textOf(x.payload)), ['a', 'b', 'e'], 'and so does a power loss (all of it was fsync\'d)');
  afterPowerLoss.close();
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

test('background roll: roll() makes no inline fsync; once its job ran, the checkpoint names the new segment active and the old one sealed', async () => {
  const mem = new MemFileLayer();
  const layer = new GatedSyncLayer(mem);
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true });
  s.append(batch([rec('a'), rec('b')]));
  const inline = layer.inlineCalls;
  s.roll();
  s.append(batch([rec('c')]));
  assert.equal(layer.inlineCalls, inline, 'no inline fsync in the roll');
  let cp = decodeCheckpoint(readWholeFile(mem, '/shard/checkpoint')!);
  assert.equal(cp.active.baseSeq, 0, 'before the job: the old checkpoint (segment 0 active)');
  await drain(layer, s);
  cp = decodeCheckpoint(readWholeFile(mem, '/shard/checkpoint')!);
  assert.equal(cp.active.baseSeq, 2);
  assert.equal(cp.active.bytes, 0);
  assert.deepEqual(cp.sealed.map((m) => [m.baseSeq, m.endSeq]), [[0, 2]]);
  assert.deepEqual(readAll(s).map((r) => textOf(r.payload)), ['a', 'b', 'c']);
  s.close();
});

test('background roll: a power loss before the roll was made durable cuts the torn old segment and deletes the later one (dense seqs, nothing corrupt served)', async () => {
  const mem = new MemFileLayer();
  const layer = new GatedSyncLayer(mem);
  const clock = manualClock();
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
  for (let i = 0; i < 5; i++) s.append(batch([rec(`durable-${i}`)]));
  clock.advance(600);
  const p = s.startBackgroundSync()!;
  layer.release();
  await p; // durable-0..4 are on disk
  for (let i = 0; i < 5; i++) s.append(batch([rec(`lost-${i}`)])); // acked, never fsync'd
  s.roll(); // its job waits at the gate: never runs before the crash
  for (let i = 0; i < 3; i++) s.append(batch([rec(`next-${i}`)]));
  mem.syncDir('/shard'); // the new segment's name reached the disk anyway (the kernel may flush a directory any time)
  // Power loss: the old segment keeps 3 of its 5 unsynced records' bytes (a torn tail), the new one keeps everything.
  const oldLog = '/shard/' + logFileName(0);
  const recBytes = batch([rec('lost-0')]).length;
  mem.crash((path, unsynced) => (path === oldLog ? 3 * recBytes - 7 : unsynced));
  const reopened = openStore({ dir: '/shard', fileLayer: mem, now: clock.now });
  const texts = readAll(reopened).map((r) => textOf(r.payload));
  assert.deepEqual(texts, ['durable-0', 'durable-1', 'durable-2', 'durable-3', 'durable-4', 'lost-0', 'lost-1']);
  const d = reopened.describe();
  assert.deepEqual([d.startSeq, d.endSeq, d.segments], [0, 7, 1], 'the later segment (past the gap) is gone');
  assert.ok(reopened.recovery.problems.some((m) => /deleted/.test(m)), reopened.recovery.problems.join('\n'));
  assert.equal(reopened.append(batch([rec('after')])).firstSeq, 7, 'seqs stay dense');
  reopened.close();
});

test('background roll: a seal job whose fsync fails stops the store; reopen() cuts the old segment back to its durable bytes and removes the later segment (no hole)', async () => {
  const mem = new MemFileLayer();
  const layer = new GatedSyncLayer(mem);
  const oldLog = '/shard/' + logFileName(0);
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true });
  s.append(batch([rec('durable')]));
  s.sync();
  s.append(batch([rec('old-unsynced')]));
  s.roll(); // its seal job waits at the gate
  s.append(batch([rec('new')]));
  mem.failFsyncOnce((p) => p === oldLog);
  await drain(layer, s); // the job's fsync of the old log fails
  assert.ok(isStopped(s.stopped));
  assert.throws(() => s.append(batch([rec('refused')])), isStopped);
  const r = await s.reopen();
  assert.deepEqual(readAll(r).map((x) => textOf(x.payload)), ['durable']);
  assert.deepEqual([r.describe().endSeq, r.describe().segments], [1, 1], 'the segment after the cut is gone');
  assert.ok(!mem.exists('/shard/' + logFileName(2)));
  assert.equal(r.append(batch([rec('next')])).firstSeq, 1);
  r.close();
});

test('background roll (finding 4): a failed seal job is never checkpointed over by a later one; after a power loss the log has no hole', async () => {
  const mem = new MemFileLayer();
  const layer = new GatedSyncLayer(mem);
  const clock = manualClock();
  const seg0 = '/shard/' + logFileName(0);
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: 1000 }, syncInBackground: true, now: clock.now });
  s.append(batch([rec('s0-a'), rec('s0-b')])); // never fsync'd
  s.roll(); // job 1 (segment 0) waits at the gate
  s.append(batch([rec('s1-a')]));
  s.roll(); // job 2 (segment 2) queued behind job 1
  s.append(batch([rec('s2-a')]));
  mem.failFsyncOnce((p) => p === seg0); // job 1's fsync fails: segment 0's pages are dropped
  await drain(layer, s);
  const cp = decodeCheckpoint(readWholeFile(mem, '/shard/checkpoint')!);
  assert.deepEqual(cp.sealed.map((m) => m.baseSeq), [], `the checkpoint names no segment sealed (segment 0's seal failed); it names ${JSON.stringify(cp.sealed.map((m) => m.baseSeq))}`);
  // Power loss now (whatever the owner was about to do): only durable bytes and names remain.
  mem.crash();
  const r = openStore({ dir: '/shard', fileLayer: mem, now: clock.now });
  const got = readAll(r).map((x) => textOf(x.payload)); // throws on a hole (CORRUPT) or a seq gap
  const appended = ['s0-a', 's0-b', 's1-a', 's2-a'];
  assert.deepEqual(got, appended.slice(0, got.length), 'a dense prefix of what was appended');
  r.close();
});

test(`background roll, bytes policy: while a seal job is pending, every byte appended since the roll counts toward the ${BACKGROUND_SYNC_LAG_FACTOR} x N bound, even once fsync'd (recovery would cut them with the old segment)`, async () => {
  const N = 4096;
  const mem = new MemFileLayer();
  const layer = new GatedSyncLayer(mem);
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'bytes', bytes: N }, syncInBackground: true });
  const oldBytes = s.append(batch([rec('old'.repeat(20))])) && s.describe().bytes; // unsynced in segment 0
  s.roll(); // its seal job waits at the gate
  await settle();
  const oldFd = layer.asyncFds[layer.asyncFds.length - 1]!;
  const oldLog = '/shard/' + logFileName(0);
  layer.inlinePaths.length = 0; // (open fsyncs the same file inline)
  const one = batch([rec('n'.repeat(150))]);
  let sinceRoll = 0;
  let settledAt = -1;
  for (let i = 0; i < 100 && settledAt < 0; i++) {
    s.append(one);
    sinceRoll += one.length;
    if (layer.inlinePaths.includes(oldLog)) settledAt = sinceRoll;
    // The active segment's own background fsyncs complete; the seal job's stay blocked.
    const p = s.startBackgroundSync();
    if (p !== null) {
      const activeFd = layer.asyncFds[layer.asyncFds.length - 1]!;
      assert.notEqual(activeFd, oldFd);
      layer.releaseFd(activeFd);
      await p;
    }
  }
  assert.ok(settledAt > 0, 'the old segment was fsync\'d inline once the bytes at risk reached the bound');
  assert.ok(oldBytes + settledAt >= BACKGROUND_SYNC_LAG_FACTOR * N, `settled at ${oldBytes + settledAt} bytes at risk, before the bound`);
  assert.ok(oldBytes + settledAt - one.length < BACKGROUND_SYNC_LAG_FACTOR * N, `settled at ${oldBytes + settledAt} bytes at risk: one batch late or more`);
  await drain(layer, s);
  s.close();
});

test(`background roll, interval policy: with nothing unsynced in the old segment, appends after the roll start the pending seal job's clock (settled inline past ${BACKGROUND_SYNC_LAG_FACTOR} x T)`, async () => {
  const T = 1000;
  const mem = new MemFileLayer();
  const layer = new GatedSyncLayer(mem);
  const clock = manualClock();
  const s = openStore({ dir: '/shard', fileLayer: layer, fsync: { mode: 'interval', ms: T }, syncInBackground: true, now: clock.now });
  s.append(batch([rec('old')]));
  s.sync(); // the old segment has nothing unsynced at the roll
  s.roll(); // its seal job (which makes the new segment's directory entry durable) waits at the gate
  await settle();
  const oldLog = '/shard/' + logFileName(0);
  layer.inlinePaths.length = 0;
  s.append(batch([rec('new-0')]));
  clock.advance(BACKGROUND_SYNC_LAG_FACTOR * T - 1);
  s.append(batch([rec('new-1')]));
  assert.ok(!layer.inlinePaths.includes(oldLog), 'within the bound: not settled');
  clock.advance(1);
  s.append(batch([rec('new-2')]));
  assert.ok(layer.inlinePaths.includes(oldLog), 'the first append after the roll is 2T old: the seal was settled inline');
  await drain(layer, s);
  s.close();
});
