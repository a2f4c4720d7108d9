/**
 * Append throughput through a ShardHandle (main thread -> ring -> shard
 * worker -> storage engine) versus the storage engine called in-thread, with
 * the same records: 1 KiB payloads in batches of about 64 KiB, same fsync
 * policy (the engine default unless --fsync always).
 *
 *   npm run bench:shard [-- --json] [--seconds S] [--rounds R] [--fsync always] [--in-flight N] [--dir D]
 *
 * Rounds alternate the two sides; the figures are the medians over rounds.
 *
 * Each run gets a fresh shard folder under --dir (default the OS temp dir;
 * /dev/shm takes the disk out and shows the thread-crossing cost alone), removed after;
 * retention keeps disk use bounded. Latency is per append call (submit to
 * resolve), percentiles over every call. Control-call latency (comlink
 * describe() round trip) is measured with the worker idle and under the
 * append load, to show the worker keeps serving its MessagePort.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRecordInto, encodedRecordLength } from '../src/record/index.js';
import { ShardHandle } from '../src/shard/shard-handle.js';
import { ShardStore } from '../src/storage/shard-store.js';
import type { FsyncPolicy } from '../src/storage/types.js';

const PAYLOAD_BYTES = 1024;
const BATCH_TARGET_BYTES = 64 * 1024;
/** Distinct batches cycled through (so the same bytes are not written every time). */
const BATCH_VARIANTS = 32;
const SEGMENT_BYTES = 64 * 1024 * 1024;
const RETENTION_BYTES = 256 * 1024 * 1024;

interface RunResult {
  /** Control-call (comlink describe()) round trips: before the load (idle worker) and during it. */
  control?: { idleUs: RunResult['latencyUs']; loadedUs: RunResult['latencyUs'] };
  appends: number;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  /** Process CPU time (all threads, user + system) per MB appended: overhead that machine load does not distort much. */
  cpuMsPerMb: number;
  latencyUs: { p50: number; p99: number; p999: number; max: number };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

function makeBatches(): Uint8Array[] {
  const perRecord = encodedRecordLength({ payload: new Uint8Array(PAYLOAD_BYTES) });
  const count = Math.floor(BATCH_TARGET_BYTES / perRecord);
  return Array.from({ length: BATCH_VARIANTS }, (_, v) => {
    const out = new Uint8Array(count * perRecord);
    for (let k = 0; k < count; k++) encodeRecordInto(out, k * perRecord, { payload: new Uint8Array(PAYLOAD_BYTES).fill((v * 7 + k) & 0xff) });
    return out;
  });
}

function latency(samples: number[]): RunResult['latencyUs'] {
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => Math.round((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0) * 1000) / 1000;
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: Math.round((s[s.length - 1] ?? 0) * 1000) / 1000 };
}

function result(appends: number, bytes: number, startMs: number, cpuStart: NodeJS.CpuUsage, samplesUs: number[]): RunResult {
  const seconds = (performance.now() - startMs) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMsPerMb = (cpu.user + cpu.system) / 1000 / (bytes / 1e6);
  return { appends, bytes, seconds, mbPerSec: bytes / seconds / 1e6, cpuMsPerMb, latencyUs: latency(samplesUs) };
}

/** Control calls timed per run, and the pause between them under load. */
const CONTROL_SAMPLES = 50;
const CONTROL_GAP_MS = 10;

async function controlLatencies(h: ShardHandle, max: number, go: () => boolean): Promise<number[]> {
  const out: number[] = [];
  while (out.length < max && go()) {
    const t0 = performance.now();
    await h.describe();
    out.push((performance.now() - t0) * 1000);
    if (max === Infinity) await new Promise((r) => setTimeout(r, CONTROL_GAP_MS));
  }
  return out;
}

function storeOptions(dir: string, fsync: FsyncPolicy | undefined) {
  return { dir, fsync, segmentBytesMax: SEGMENT_BYTES, retentionBytes: RETENTION_BYTES, minFreeBytes: 0 };
}

function runInThread(batches: Uint8Array[], seconds: number, fsync: FsyncPolicy | undefined): RunResult {
  const root = mkdtempSync(join(arg('--dir', tmpdir()), 'nativelog-bench-'));
  try {
    const store = ShardStore.open(storeOptions(join(root, 'shard'), fsync));
    const samples: number[] = [];
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const end = start + seconds * 1000;
    let bytes = 0;
    let lastTick = start;
    for (let i = 0; performance.now() < end; i++) {
      const b = batches[i % batches.length]!;
      const t0 = performance.now();
      store.append(b);
      const t1 = performance.now();
      samples.push((t1 - t0) * 1000);
      bytes += b.length;
      if (t1 - lastTick >= 100) {
        store.tick();
        lastTick = t1;
      }
    }
    const r = result(samples.length, bytes, start, cpuStart, samples);
    store.close();
    return r;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function runViaWorker(batches: Uint8Array[], seconds: number, fsync: FsyncPolicy | undefined, inFlight: number): Promise<RunResult> {
  const root = mkdtempSync(join(arg('--dir', tmpdir()), 'nativelog-bench-'));
  try {
    const h = await ShardHandle.open({ ...storeOptions(join(root, 'shard'), fsync), ringBytes: 16 * 1024 * 1024 });
    const idle = await controlLatencies(h, CONTROL_SAMPLES, () => true);
    const samples: number[] = [];
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const end = start + seconds * 1000;
    let bytes = 0;
    let i = 0;
    const loaded = controlLatencies(h, Infinity, () => performance.now() < end);
    const lane = async (): Promise<void> => {
      while (performance.now() < end) {
        const b = batches[i++ % batches.length]!;
        const t0 = performance.now();
        await h.append(b);
        samples.push((performance.now() - t0) * 1000);
        bytes += b.length;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const r = result(samples.length, bytes, start, cpuStart, samples);
    r.control = { idleUs: latency(idle), loadedUs: latency(await loaded) };
    await h.close();
    return r;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The round whose throughput is the median (its latency is the one reported). */
function medianRun(runs: RunResult[]): RunResult {
  const m = median(runs.map((r) => r.mbPerSec));
  return runs.find((r) => r.mbPerSec === m)!;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const seconds = Number(arg('--seconds', '2'));
  const rounds = Number(arg('--rounds', '3'));
  const inFlight = Number(arg('--in-flight', '8'));
  const fsyncArg = arg('--fsync', 'default');
  const fsync: FsyncPolicy | undefined = fsyncArg === 'always' ? { mode: 'always' } : undefined;
  const batches = makeBatches();
  const inThreadRuns: RunResult[] = [];
  const viaWorkerRuns: RunResult[] = [];
  // Rounds alternate which side goes first, so drift in machine load hits both.
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      inThreadRuns.push(runInThread(batches, seconds, fsync));
      viaWorkerRuns.push(await runViaWorker(batches, seconds, fsync, inFlight));
    } else {
      viaWorkerRuns.push(await runViaWorker(batches, seconds, fsync, inFlight));
      inThreadRuns.push(runInThread(batches, seconds, fsync));
    }
    console.log(`round ${round + 1}: in-thread ${inThreadRuns[round]!.mbPerSec.toFixed(1)} MB/s, via-worker ${viaWorkerRuns[round]!.mbPerSec.toFixed(1)} MB/s`);
  }
  const inThread = medianRun(inThreadRuns);
  const viaWorker = medianRun(viaWorkerRuns);
  for (const [name, r] of [['in-thread', inThread], ['via-worker', viaWorker]] as const) {
    console.log(
      `${name.padEnd(10)} median ${r.mbPerSec.toFixed(1).padStart(8)} MB/s (${r.appends} appends of ${batches[0]!.length} B, CPU ${r.cpuMsPerMb.toFixed(2)} ms/MB)` +
        `  latency us p50 ${r.latencyUs.p50} p99 ${r.latencyUs.p99} p99.9 ${r.latencyUs.p999} max ${r.latencyUs.max}`,
    );
  }
  const c = viaWorker.control!;
  console.log(`control call (comlink describe) us: idle p50 ${c.idleUs.p50} p99 ${c.idleUs.p99}; under append load p50 ${c.loadedUs.p50} p99 ${c.loadedUs.p99} max ${c.loadedUs.max}`);
  const ratio = viaWorker.mbPerSec / inThread.mbPerSec;
  const ratios = viaWorkerRuns.map((v, k) => v.mbPerSec / inThreadRuns[k]!.mbPerSec);
  console.log(`via-worker / in-thread: ${(ratio * 100).toFixed(0)}% of medians; per round ${ratios.map((x) => `${(x * 100).toFixed(0)}%`).join(' ')} (fsync ${fsyncArg}, ${inFlight} in flight)`);
  if (json) {
    console.log(
      JSON.stringify({
        bench: 'shard',
        seconds,
        rounds,
        fsync: fsyncArg,
        inFlight,
        batchBytes: batches[0]!.length,
        recordPayloadBytes: PAYLOAD_BYTES,
        viaWorkerMbPerSec: viaWorker.mbPerSec,
        inThreadMbPerSec: inThread.mbPerSec,
        ratio,
        viaWorkerCpuMsPerMb: median(viaWorkerRuns.map((r) => r.cpuMsPerMb)),
        inThreadCpuMsPerMb: median(inThreadRuns.map((r) => r.cpuMsPerMb)),
        ratioPerRound: ratios,
        viaWorkerLatencyUs: viaWorker.latencyUs,
        inThreadLatencyUs: inThread.latencyUs,
        controlLatencyUsIdle: c.idleUs,
        controlLatencyUsLoaded: c.loadedUs,
      }),
    );
  }
}

await main();
