/**
 * The machine's limits, measured twice in every run: once before the node
 * starts (bounded: at most LIMIT_PROBE_BYTES_MAX bytes and
 * LIMIT_PROBE_SECONDS_MAX seconds each) and once after it stopped, on exactly
 * the bytes the node took. The headline figure is the better of the two, so
 * on a shared, noisy machine the node is compared with the most the machine
 * showed it could do (the ratio errs against the node), and the spread
 * between the two passes shows how noisy the machine was.
 */
import { tmpdir } from 'node:os';
import { measureRawWrite, type RawWriteResult } from './raw-write-limit.js';
import { measureTcpLoopback, type TcpLoopbackResult } from './tcp-loopback-limit.js';

export const LIMIT_PROBE_BYTES_MAX = 1024 * 1024 * 1024;
export const LIMIT_PROBE_SECONDS_MAX = 3;

export interface LimitPass {
  rawWrite: RawWriteResult;
  rawFsyncWrite: RawWriteResult;
  tcpLoopback: TcpLoopbackResult;
}

export interface BenchLimits {
  /** Best of the two passes, MB/s (10^6 bytes). */
  rawWriteMbPerSec: number;
  rawFsyncWriteMbPerSec: number;
  tcpLoopbackMbPerSec: number;
  /** Before the node started (bounded probe). */
  before: LimitPass;
  /** After the node stopped, on the same bytes the node took. */
  after: LimitPass;
}

export interface LimitPassOptions {
  totalBytes: number;
  recordBytes: number;
  batchBytes: number;
  template: Uint8Array;
  secondsMax: number;
  /** Directory on the node's file system. */
  dir?: string;
}

/** One pass: fsync'd write first (least disturbed by dirty pages), then TCP, then the page-cache write. */
export async function measureLimitPass(o: LimitPassOptions): Promise<LimitPass> {
  const common = { dir: o.dir ?? tmpdir(), totalBytes: Math.max(1, o.totalBytes), recordBytes: o.recordBytes, batchBytes: o.batchBytes, template: o.template, secondsMax: o.secondsMax };
  const rawFsyncWrite = measureRawWrite({ ...common, fsyncEachBatch: true });
  const tcpLoopback = await measureTcpLoopback(common);
  const rawWrite = measureRawWrite({ ...common, fsyncEachBatch: false });
  return { rawWrite, rawFsyncWrite, tcpLoopback };
}

/** The bounded pass run before the node starts. */
export function probeOptions(o: Omit<LimitPassOptions, 'totalBytes' | 'secondsMax'> & { secondsMax: number; expectedBytes: number | null }): LimitPassOptions {
  return { ...o, totalBytes: Math.min(o.expectedBytes ?? LIMIT_PROBE_BYTES_MAX, LIMIT_PROBE_BYTES_MAX), secondsMax: Math.min(o.secondsMax, LIMIT_PROBE_SECONDS_MAX) };
}

export function combineLimits(before: LimitPass, after: LimitPass): BenchLimits {
  return {
    rawWriteMbPerSec: Math.max(before.rawWrite.mbPerSec, after.rawWrite.mbPerSec),
    rawFsyncWriteMbPerSec: Math.max(before.rawFsyncWrite.mbPerSec, after.rawFsyncWrite.mbPerSec),
    tcpLoopbackMbPerSec: Math.max(before.tcpLoopback.mbPerSec, after.tcpLoopback.mbPerSec),
    before,
    after,
  };
}
