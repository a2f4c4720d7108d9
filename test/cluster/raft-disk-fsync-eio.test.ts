/**
 * fsync failure is fatal: the layer fails one fsync with EIO and (as Linux
 * may) drops the dirty pages it could not write. The persist throws
 * RAFT_DISK_FAILED, every later call throws without touching the files, and
 * a reopen on what the disk holds (the crash image keeping only synced
 * data) gives exactly the state after the last persist that returned.
 * Reopened on the page cache instead (the pages happened to reach the disk
 * later), the failed persist may be there whole: both are allowed by the
 * contract, since the failed call never returned and nothing was acked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftDisk } from '../../src/cluster/raft-disk.js';
import { RaftDiskError } from '../../src/cluster/raft-disk-error.js';
import type { DurableState } from '../../src/consensus/types.js';
import { SimDisk } from '../../src/sim/sim-disk.js';
import { ForwardingFileLayer, fsError } from '../../src/storage/file-layer.js';
import { PowerLossFs } from '../torture/harness/power-loss-fs.js';
import { Rng, runSeed, withSeed } from '../torture/harness/rng.js';
import { assertSameState, nextPersist, sameState, summary } from './raft-disk-gen.js';

const DIR = '/data/@raft';

/** Fails the n-th fsync from now with EIO, then passes everything again. */
class EioOnce extends ForwardingFileLayer {
  private left: number;
  /** The fd whose fsync failed: its dirty pages were dropped, so a retry "succeeds" and writes nothing (as on Linux). */
  private lostFd: number | null = null;
  ops = 0;
  constructor(inner: PowerLossFs, afterFsyncs: number) {
    super(inner);
    this.left = afterFsyncs;
  }
  override fsync(fd: number): void {
    this.ops++;
    if (this.left-- === 0) {
      this.lostFd = fd;
      throw fsError('EIO', 'fsync');
    }
    if (fd === this.lostFd) return;
    this.inner.fsync(fd);
  }
  override write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    this.ops++;
    return this.inner.write(fd, source, offset, length, position);
  }
  override syncDir(dir: string): void {
    this.ops++;
    this.inner.syncDir(dir);
  }
}

test('a failed fsync fails the persist and the disk for good; what is durable is the state of the last returned persist', () => {
  const base = runSeed();
  let sawFrameInCache = 0;
  let failures = 0;
  for (let k = 0; k < 300; k++) {
    const seed = (base + k) >>> 0;
    try {
      const rng = new Rng(seed);
      const pick = (n: number): number => (n <= 1 ? 0 : rng.int(0, n - 1));
      const fs = new PowerLossFs();
      fs.mkdirp('/data');
      const layer = new EioOnce(fs, rng.int(0, 40));
      const model = new SimDisk();
      const states: DurableState[] = [model.durableState()];
      const { disk } = RaftDisk.open(DIR, layer, { segmentBytesMax: rng.pick([300, 1 << 20]) });
      let failed: RaftDiskError | null = null;
      for (let i = 0; i < 30 && failed === null; i++) {
        const p = nextPersist(model, pick);
        model.apply(p);
        states.push(model.durableState());
        try {
          disk.persist(p);
        } catch (e) {
          assert.ok(e instanceof RaftDiskError && e.code === 'RAFT_DISK_FAILED', `persist threw ${String(e)}`);
          assert.equal((e.cause as NodeJS.ErrnoException).code, 'EIO');
          failed = e;
        }
      }
      if (failed === null) {
        // No persist failed: everything that returned is durable.
        assertSameState(RaftDisk.open(DIR, fs.crashImage('drop-all', rng)).durable, model.durableState(), 'no failure seen');
        continue;
      }
      failures++;
      assert.equal(disk.failed, failed);
      const opsBefore = layer.ops;
      const more = nextPersist(model, pick);
      assert.throws(() => disk.persist(more), (e: unknown) => e === failed, 'every later call throws the same error');
      assert.equal(layer.ops, opsBefore, 'a failed disk touches no file');
      const acked = states[states.length - 2] as DurableState;
      const inFlight = states[states.length - 1] as DurableState;
      // What the disk holds: the pages the fsync could not write are gone.
      const onDisk = RaftDisk.open(DIR, fs.crashImage('drop-all', rng)).durable;
      assertSameState(onDisk, acked, `drop-all image after the EIO (in flight: ${summary(inFlight)})`);
      // What the page cache holds: the failed persist may be there, whole, or not at all.
      const cached = RaftDisk.open(DIR, fs).durable;
      if (sameState(cached, inFlight)) sawFrameInCache++;
      else assertSameState(cached, acked, 'page cache after the EIO');
    } catch (e) {
      throw withSeed('raft-disk fsync EIO', seed, e);
    }
  }
  assert.ok(failures > 150, `only ${failures} of 300 runs saw the persist fail`);
  assert.ok(sawFrameInCache > 0, 'no run failed the fsync of a frame already written');
});
