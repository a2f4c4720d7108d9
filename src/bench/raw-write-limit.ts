/**
 * The machine's own disk limit, measured in the same run as the node: the
 * same payload bytes written sequentially with fs.writeSync into a fresh file
 * in the same directory (same file system) as the node's data, in batches of
 * the same size the producer uses, optionally with fsync after every batch.
 *
 * This is the ceiling a log could reach on this disk with zero overhead:
 * no framing, no index, no network, no CPU spent anywhere else.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface RawWriteResult {
  fsyncEachBatch: boolean;
  bytes: number;
  batches: number;
  batchBytes: number;
  seconds: number;
  mbPerSec: number;
  /** True when limitSecondsMax stopped it before all the bytes were written. */
  stoppedEarly: boolean;
  /** Per-batch write (+fsync) time percentiles, ms. */
  batchMs: { p50: number; p99: number; max: number };
}

export interface RawWriteOptions {
  dir: string;
  totalBytes: number;
  recordBytes: number;
  batchBytes: number;
  /** One record's payload (repeated to fill a batch). */
  template: Uint8Array;
  fsyncEachBatch: boolean;
  /** Bound on the run time: stop after this long and report what was written. */
  secondsMax: number;
}

/** Records per batch as the producer forms them: as many whole records as fit, at least one. */
export function recordsPerBatch(recordBytes: number, batchBytes: number): number {
  return Math.max(1, Math.floor(batchBytes / recordBytes));
}

export function measureRawWrite(o: RawWriteOptions): RawWriteResult {
  const perBatch = recordsPerBatch(o.recordBytes, o.batchBytes);
  const batch = Buffer.alloc(perBatch * o.recordBytes);
  for (let i = 0; i < perBatch; i++) batch.set(o.template, i * o.recordBytes);
  const path = join(o.dir, `raw-write-${process.pid}-${o.fsyncEachBatch ? 'fsync' : 'nofsync'}.tmp`);
  const fd = openSync(path, 'w');
  const times: number[] = [];
  let written = 0;
  let batches = 0;
  let stoppedEarly = false;
  const t0 = performance.now();
  const deadline = t0 + o.secondsMax * 1000;
  try {
    while (written < o.totalBytes) {
      const n = Math.min(batch.length, o.totalBytes - written);
      const b0 = performance.now();
      let off = 0;
      while (off < n) off += writeSync(fd, batch, off, n - off);
      if (o.fsyncEachBatch) fdatasyncSync(fd); // what the storage engine calls: data and the size, not mtime
      const b1 = performance.now();
      times.push(b1 - b0);
      written += n;
      batches++;
      if (b1 > deadline && written < o.totalBytes) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  const pick = (q: number): number => (times.length === 0 ? 0 : Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 1000) / 1000);
  return {
    fsyncEachBatch: o.fsyncEachBatch,
    bytes: written,
    batches,
    batchBytes: batch.length,
    seconds,
    mbPerSec: seconds > 0 ? written / 1e6 / seconds : 0,
    stoppedEarly,
    batchMs: { p50: pick(0.5), p99: pick(0.99), max: times.length ? Math.round(times[times.length - 1]! * 1000) / 1000 : 0 },
  };
}
