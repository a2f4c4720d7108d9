/**
 * Storage engine benchmark.
 *
 *   npm run bench:storage -- --record-bytes N [--total-mb M] [--batch-bytes B]
 *                            [--rounds R] [--seek-records S] [--seeks K] [--no-seek] [--profile] [--json]
 *
 * 1. Append throughput: appends batches of N-byte records (B bytes per
 *    append() call, as a shard worker does from its ring) through ShardStore
 *    in this thread (fsync=roll, so no fsync), and in the same run writes the
 *    same bytes with plain sequential fs.writeSync (the machine's limit).
 *    The storage rounds run the default (every CRC checked on this thread
 *    before the write), appendCrcThread=true (CRCs of large shared batches
 *    checked on a helper thread during the write) and verifyAppendCrc=false
 *    (no CRC check: what the check costs).
 *    Fairness: the batch lives in a SharedArrayBuffer, as a shard worker's
 *    ring does; raw and storage write the same bytes with the same batch size
 *    (write calls per round are reported: the helper-thread variant makes one
 *    extra 4-byte write per batch). The kernel's cost of a page
 *    cache write swings 3-10x within seconds on this shared VM (cold pages,
 *    other tenants), so each round of M MB is cut into slices of --slice-mb
 *    (default 64) and every slice runs all four variants back to back, each
 *    into a fresh file or shard (deleted after), in an order rotated per
 *    slice and reversed per round: all variants see the same regime. A new
 *    store's helper thread is started before its slice's clock (untimed).
 *    One untimed warm-up slice of each variant first. Figures: medians of R
 *    rounds, and the median of the per-round ratios (wall and CPU time; CPU
 *    is process-wide, so it includes the helper thread).
 * 2. Seek latency on a shard of S records (default 5 million, out-of-order
 *    event times): read(seq) at random seqs, seqForAppendTime and
 *    seqForEventTime at random times; p50/p99/max in microseconds.
 *
 * 3. --profile: the default append once more under the V8 sampling profiler
 *    (node:inspector, in this process), printing the top entries by self
 *    time (appendProfileTop in the JSON).
 *
 * With --json the last line is one JSON object (appendMbPerSec,
 * rawWriteMbPerSec, ratio, ...).
 */
import * as fs from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from '../src/record/crc32.js';
import { CRC_START, OFF_CRC, OFF_EVENT_TIME_MAX, OFF_EVENT_TIME_MIN, RECORD_HEADER_BYTES } from '../src/record/layout.js';
import { dataViewOf, encodeRecordInto, setI64 } from '../src/record/record.js';
import { NodeFileLayer } from '../src/storage/file-layer.js';
import { ShardStore } from '../src/storage/shard-store.js';

interface Args {
  recordBytes: number;
  totalMb: number;
  batchBytes: number;
  rounds: number;
  seekRecords: number;
  seeks: number;
  seek: boolean;
  json: boolean;
  sliceMb: number;
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { recordBytes: 1024, totalMb: 128, batchBytes: 1 << 20, rounds: 5, seekRecords: 5_000_000, seeks: 2000, seek: true, json: false, sliceMb: 64, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${k} needs a positive number`);
      return v;
    };
    if (k === '--record-bytes') a.recordBytes = num();
    else if (k === '--total-mb') a.totalMb = num();
    else if (k === '--batch-bytes') a.batchBytes = num();
    else if (k === '--rounds') a.rounds = num();
    else if (k === '--seek-records') a.seekRecords = num();
    else if (k === '--seeks') a.seeks = num();
    else if (k === '--slice-mb') a.sliceMb = num();
    else if (k === '--no-seek') a.seek = false;
    else if (k === '--json') a.json = true;
    else if (k === '--profile') a.profile = true;
    else throw new Error(`unknown option ${k}`);
  }
  if (a.recordBytes < RECORD_HEADER_BYTES || a.recordBytes % 8 !== 0) throw new Error(`--record-bytes must be a multiple of 8, at least ${RECORD_HEADER_BYTES}`);
  return a;
}

/** A batch of `count` records of exactly recordBytes each (payload = recordBytes - 80), in a SharedArrayBuffer like a shard worker's ring. */
function makeBatch(recordBytes: number, count: number, eventTime: (i: number) => number): Uint8Array {
  const bytes = new Uint8Array(new SharedArrayBuffer(recordBytes * count));
  const payload = new Uint8Array(recordBytes - RECORD_HEADER_BYTES);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  for (let i = 0; i < count; i++) {
    const t = eventTime(i);
    encodeRecordInto(bytes, i * recordBytes, { payload, eventTimeMin: t, eventTimeMax: t });
  }
  return bytes;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function latencySummary(samplesUs: number[]): { p50: number; p99: number; max: number } {
  const s = Float64Array.from(samplesUs).sort();
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), max: r(s[s.length - 1] ?? 0) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

interface RoundResult {
  seconds: number;
  /** write(2) calls on the data file during the timed loop. */
  writeCalls: number;
  /** CPU time (user + system) of this thread's process during the round. */
  cpuSeconds: number;
  latenciesUs: number[];
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The real file layer, counting write calls (one increment per call: no measurable cost). */
class CountingWrites extends NodeFileLayer {
  writes = 0;
  override write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    this.writes++;
    return super.write(fd, source, offset, length, position);
  }
}

type Variant = 'default' | 'crc-thread' | 'no-crc';

async function storageSlice(dir: string, batch: Uint8Array, appends: number, variant: Variant): Promise<RoundResult> {
  const layer = new CountingWrites();
  const verifyAppendCrc = variant !== 'no-crc';
  const appendCrcThread = variant === 'crc-thread';
  const store = ShardStore.open({ dir, fsync: { mode: 'roll' }, verifyAppendCrc, appendCrcThread, fileLayer: layer });
  if (appendCrcThread) {
    // Untimed: the helper thread starts with the store's first big batch; wait until it works (its start-up is a one-off per store).
    const deadline = Date.now() + HELPER_START_WAIT_MS;
    do {
      store.append(batch);
      await new Promise((r) => setTimeout(r, 2));
    } while (store.appendCrcStats.helperUnits === 0 && Date.now() < deadline);
  }
  const w0 = layer.writes;
  const latenciesUs: number[] = new Array(appends);
  const c0 = cpuSeconds();
  const t0 = nowUs();
  for (let i = 0; i < appends; i++) {
    const a = nowUs();
    store.append(batch);
    latenciesUs[i] = nowUs() - a;
  }
  const seconds = (nowUs() - t0) / 1e6;
  const cpu = cpuSeconds() - c0;
  const writeCalls = layer.writes - w0;
  store.abandon();
  return { seconds, writeCalls, cpuSeconds: cpu, latenciesUs };
}

function rawSlice(path: string, batch: Uint8Array, appends: number): RoundResult {
  const fd = fs.openSync(path, 'w');
  const latenciesUs: number[] = new Array(appends);
  const c0 = cpuSeconds();
  const t0 = nowUs();
  for (let i = 0; i < appends; i++) {
    const a = nowUs();
    fs.writeSync(fd, batch, 0, batch.length);
    latenciesUs[i] = nowUs() - a;
  }
  const seconds = (nowUs() - t0) / 1e6;
  const cpu = cpuSeconds() - c0;
  fs.closeSync(fd);
  return { seconds, writeCalls: appends, cpuSeconds: cpu, latenciesUs };
}

/** Longest untimed wait for a new store's CRC helper thread to start. */
const HELPER_START_WAIT_MS = 2000;
const KINDS = ['raw', 'default', 'crc-thread', 'no-crc'] as const;
type Kind = (typeof KINDS)[number];

function addTo(sum: RoundResult, x: RoundResult): void {
  sum.seconds += x.seconds;
  sum.cpuSeconds += x.cpuSeconds;
  sum.writeCalls += x.writeCalls;
  for (const l of x.latenciesUs) sum.latenciesUs.push(l);
}

async function appendBench(args: Args, root: string): Promise<Record<string, unknown>> {
  const perBatch = Math.max(1, Math.floor(args.batchBytes / args.recordBytes));
  const batch = makeBatch(args.recordBytes, perBatch, (i) => 1_700_000_000_000 + i);
  const appends = Math.max(1, Math.round((args.totalMb * 1024 * 1024) / batch.length));
  const slices = Math.max(1, Math.min(appends, Math.round(args.totalMb / args.sliceMb)));
  const mb = (appends * batch.length) / (1024 * 1024);
  const records = appends * perBatch;
  const runSlice = async (kind: Kind, n: number): Promise<RoundResult> => {
    if (kind === 'raw') {
      const rawPath = join(root, 'raw.bin');
      const x = rawSlice(rawPath, batch, n);
      fs.rmSync(rawPath);
      return x;
    }
    const dir = join(root, `shard-${kind}`);
    const x = await storageSlice(dir, batch, n, kind);
    fs.rmSync(dir, { recursive: true });
    return x;
  };
  for (const k of KINDS) await runSlice(k, Math.ceil(appends / slices)); // warm-up, untimed
  const results = new Map<Kind, RoundResult[]>(KINDS.map((k) => [k, []]));
  for (let r = 0; r < args.rounds; r++) {
    const sums = new Map<Kind, RoundResult>(KINDS.map((k) => [k, { seconds: 0, cpuSeconds: 0, writeCalls: 0, latenciesUs: [] }]));
    for (let s = 0; s < slices; s++) {
      const n = Math.floor(((s + 1) * appends) / slices) - Math.floor((s * appends) / slices);
      const rot = (r * slices + s) % KINDS.length;
      const order = [...KINDS.slice(rot), ...KINDS.slice(0, rot)];
      for (const k of r % 2 === 0 ? order : order.reverse()) addTo(sums.get(k)!, await runSlice(k, n));
    }
    for (const k of KINDS) results.get(k)!.push(sums.get(k)!);
  }
  const raw = results.get('raw')!;
  const store = results.get('default')!;
  const threaded = results.get('crc-thread')!;
  const noCrc = results.get('no-crc')!;
  const noCrcSec = median(noCrc.map((x) => x.seconds));
  const appendSec = median(store.map((x) => x.seconds));
  const rawSec = median(raw.map((x) => x.seconds));
  // Each round runs raw then storage back to back: the median of the paired
  // ratios resists load from other processes better than a ratio of medians.
  const pairedRatio = median(store.map((x, r) => raw[r]!.seconds / x.seconds));
  const cpuRatio = median(store.map((x, r) => raw[r]!.cpuSeconds / x.cpuSeconds));
  return {
    recordBytes: args.recordBytes,
    batchBytes: batch.length,
    recordsPerBatch: perBatch,
    totalMb: Math.round(mb),
    rounds: args.rounds,
    slicesPerRound: slices,
    rawWriteCalls: raw[0]!.writeCalls,
    appendWriteCalls: store[0]!.writeCalls,
    appendMbPerSec: Math.round(mb / appendSec),
    rawWriteMbPerSec: Math.round(mb / rawSec),
    ratio: Math.round(pairedRatio * 1000) / 1000,
    cpuRatio: Math.round(cpuRatio * 1000) / 1000,
    appendCpuMsPerMb: Math.round((median(store.map((x) => x.cpuSeconds)) / mb) * 1e5) / 100,
    rawCpuMsPerMb: Math.round((median(raw.map((x) => x.cpuSeconds)) / mb) * 1e5) / 100,
    appendCrcThreadMbPerSec: Math.round(mb / median(threaded.map((x) => x.seconds))),
    ratioCrcThread: Math.round(median(threaded.map((x, r) => raw[r]!.seconds / x.seconds)) * 1000) / 1000,
    cpuRatioCrcThread: Math.round(median(threaded.map((x, r) => raw[r]!.cpuSeconds / x.cpuSeconds)) * 1000) / 1000,
    appendCrcThreadCpuMsPerMb: Math.round((median(threaded.map((x) => x.cpuSeconds)) / mb) * 1e5) / 100,
    crcThreadWriteCalls: threaded[0]!.writeCalls,
    appendNoCrcMbPerSec: Math.round(mb / noCrcSec),
    ratioNoCrc: Math.round(median(noCrc.map((x, r) => raw[r]!.seconds / x.seconds)) * 1000) / 1000,
    cpuRatioNoCrc: Math.round(median(noCrc.map((x, r) => raw[r]!.cpuSeconds / x.cpuSeconds)) * 1000) / 1000,
    appendRecordsPerSec: Math.round(records / appendSec),
    rawRecordsPerSec: Math.round(records / rawSec),
    appendCallLatencyUs: latencySummary(store.flatMap((x) => x.latenciesUs)),
    rawWriteLatencyUs: latencySummary(raw.flatMap((x) => x.latenciesUs)),
  };
}

interface ProfileEntry {
  fn: string;
  selfMs: number;
  percent: number;
}

type CpuProfile = {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
};

/**
 * Top entries by self time of a V8 CPU profile, grouped by function and
 * source line. Left out: idle time, the profiler's own work (frames under
 * node:inspector, e.g. Profiler.stop building the profile) and the bench's
 * deletion of each slice's files (frames under rmSync). V8 names a frame
 * of native code by the nearest exported symbol (our CRC addon's code shows
 * as "crc32c"), so a frame without a source is named with its caller.
 */
function topSelfTime(profile: CpuProfile, n: number): ProfileEntry[] {
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parentOf.set(c, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const short = (id: number): string => {
    const f = byId.get(id)!.callFrame;
    return f.url === '' ? f.functionName : `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  };
  const nameOf = new Map<number, string | null>();
  for (const node of profile.nodes) {
    let excluded = false;
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const f = byId.get(id)!.callFrame;
      excluded ||= f.url === 'node:inspector' || f.functionName === 'rmSync';
    }
    const parent = parentOf.get(node.id);
    const native = node.callFrame.url === '' && parent !== undefined && byId.get(parent)!.callFrame.url !== '';
    const name = node.callFrame.functionName === '(idle)' || excluded ? null : native ? `${node.callFrame.functionName} (native, called from ${short(parent)})` : short(node.id);
    nameOf.set(node.id, name);
  }
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const name = nameOf.get(id);
    if (name === null || name === undefined) return;
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(name, (selfUs.get(name) ?? 0) + dt);
    totalUs += dt;
  });
  return [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, us]) => ({ fn, selfMs: Math.round(us / 100) / 10, percent: Math.round((1000 * us) / totalUs) / 10 }));
}

/**
 * --profile: after the measured rounds, runs the default append (serial CRC
 * check) over one round's worth of slices under the V8 sampling profiler
 * (in-process, node:inspector) and returns the top entries by self time.
 */
async function profileDefaultAppend(args: Args, root: string): Promise<ProfileEntry[]> {
  const perBatch = Math.max(1, Math.floor(args.batchBytes / args.recordBytes));
  const batch = makeBatch(args.recordBytes, perBatch, (i) => 1_700_000_000_000 + i);
  const appends = Math.max(1, Math.round((args.totalMb * 1024 * 1024) / batch.length));
  const slices = Math.max(1, Math.min(appends, Math.round(args.totalMb / args.sliceMb)));
  const session = new Session();
  session.connect();
  const post = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  for (let s = 0; s < slices; s++) {
    // Deleted per slice, as in the measured rounds (a page cache full of dirty pages slows every write); topSelfTime leaves rmSync out.
    const dir = join(root, 'shard-profile');
    await storageSlice(dir, batch, Math.ceil(appends / slices), 'default');
    fs.rmSync(dir, { recursive: true });
  }
  const { profile } = (await post('Profiler.stop')) as { profile: CpuProfile };
  session.disconnect();
  return topSelfTime(profile, PROFILE_TOP_ENTRIES);
}

/** How many profile entries --profile prints. */
const PROFILE_TOP_ENTRIES = 10;

/** Re-stamps the event times of a template batch (and its record CRCs): out of order, late by up to 60 s. */
function restampEventTimes(batch: Uint8Array, recordBytes: number, base: number, rnd: () => number): void {
  const dv = dataViewOf(batch);
  for (let off = 0; off < batch.length; off += recordBytes) {
    const t = base - Math.floor(rnd() * 60_000);
    setI64(dv, off + OFF_EVENT_TIME_MIN, t);
    setI64(dv, off + OFF_EVENT_TIME_MAX, t);
    dv.setUint32(off + OFF_CRC, crc32(batch, off + CRC_START, off + recordBytes), true);
  }
}

/** Segments of the seek shard: small enough that lookups cross several segments. */
const SEEK_SEGMENT_BYTES = 64 * 1024 * 1024;

function seekBench(args: Args, root: string): Record<string, unknown> {
  const recordBytes = 88;
  const perBatch = 4096;
  const dir = join(root, 'seek-shard');
  let clock = 1_700_000_000_000;
  const seekOpts = { dir, fsync: { mode: 'roll' } as const, now: () => clock, segmentBytesMax: SEEK_SEGMENT_BYTES };
  const store = ShardStore.open(seekOpts);
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const batch = makeBatch(recordBytes, perBatch, () => 0);
  const t0 = nowUs();
  let written = 0;
  while (written < args.seekRecords) {
    clock += 1000;
    restampEventTimes(batch, recordBytes, clock, rnd);
    const n = Math.min(perBatch, args.seekRecords - written);
    store.append(batch, 0, n * recordBytes);
    written += n;
  }
  const buildSec = (nowUs() - t0) / 1e6;
  store.close();
  const t1 = nowUs();
  const s = ShardStore.open(seekOpts);
  const reopenMs = (nowUs() - t1) / 1000;
  const d = s.describe();
  const first = 1_700_000_000_000;
  const timeOf = (): number => first + Math.floor(rnd() * (clock - first));
  const measure = (fn: () => void): { p50: number; p99: number; max: number } => {
    const lat: number[] = [];
    for (let i = 0; i < args.seeks; i++) {
      const a = nowUs();
      fn();
      lat.push(nowUs() - a);
    }
    return latencySummary(lat);
  };
  const bySeq = measure(() => {
    const r = s.read(d.startSeq + Math.floor(rnd() * (d.endSeq - d.startSeq)), 4096);
    if (r.count === 0) throw new Error('empty read');
  });
  const byAppendTime = measure(() => s.seqForAppendTime(timeOf()));
  const byEventTime = measure(() => s.seqForEventTime(timeOf()));
  s.close();
  fs.rmSync(dir, { recursive: true });
  return {
    seekRecords: d.endSeq - d.startSeq,
    seekSegments: d.segments,
    seekShardMb: Math.round(d.bytes / (1024 * 1024)),
    seekBuildRecordsPerSec: Math.round(written / buildSec),
    reopenCleanMs: Math.round(reopenMs * 10) / 10,
    seekBySeqUs: bySeq,
    seekByAppendTimeUs: byAppendTime,
    seekByEventTimeUs: byEventTime,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = fs.mkdtempSync(join(tmpdir(), 'nl-storage-bench-'));
  try {
    const result: Record<string, unknown> = { bench: 'storage', ...(await appendBench(args, root)) };
    console.log(
      `append ${args.recordBytes}-byte records, ${result.batchBytes} bytes per append(), ${result.totalMb} MB x ${args.rounds} rounds (medians, no fsync):\n` +
        `  storage append  ${result.appendMbPerSec} MB/s  ${result.appendRecordsPerSec} records/s  per-call latency us ${JSON.stringify(result.appendCallLatencyUs)}\n` +
        `  raw writeSync   ${result.rawWriteMbPerSec} MB/s  ${result.rawRecordsPerSec} records/s  per-call latency us ${JSON.stringify(result.rawWriteLatencyUs)}\n` +
        `  write calls per round: raw ${result.rawWriteCalls}, storage ${result.appendWriteCalls}\n` +
        `  ratio storage/raw (median of paired rounds) = ${result.ratio}; by CPU time = ${result.cpuRatio} ` +
        `(${result.appendCpuMsPerMb} vs ${result.rawCpuMsPerMb} CPU ms per MB)\n` +
        `  storage append, appendCrcThread=true (CRCs checked on a helper thread during the write): ${result.appendCrcThreadMbPerSec} MB/s; ` +
        `ratio ${result.ratioCrcThread}, by CPU time ${result.cpuRatioCrcThread} (${result.appendCrcThreadCpuMsPerMb} CPU ms per MB, ${result.crcThreadWriteCalls} write calls)\n` +
        `  storage append, verifyAppendCrc=false (CRC checked by the caller): ${result.appendNoCrcMbPerSec} MB/s; ` +
        `ratio ${result.ratioNoCrc}, by CPU time ${result.cpuRatioNoCrc}`,
    );
    if (args.profile) {
      const top = await profileDefaultAppend(args, root);
      result.appendProfileTop = top;
      console.log(`top self time of the default append (V8 sampling profiler, ${result.totalMb} MB, store open and close included):`);
      for (const e of top) console.log(`  ${String(e.percent).padStart(5)}%  ${String(e.selfMs).padStart(7)} ms  ${e.fn}`);
    }
    if (args.seek) {
      Object.assign(result, seekBench(args, root));
      console.log(
        `seek on a shard of ${result.seekRecords} records (${result.seekSegments} segments, ${result.seekShardMb} MB; built at ${result.seekBuildRecordsPerSec} records/s; clean reopen ${result.reopenCleanMs} ms):\n` +
          `  read by seq (4 KiB)   us ${JSON.stringify(result.seekBySeqUs)}\n` +
          `  seqForAppendTime      us ${JSON.stringify(result.seekByAppendTimeUs)}\n` +
          `  seqForEventTime       us ${JSON.stringify(result.seekByEventTimeUs)}`,
      );
    }
    if (args.json) console.log(JSON.stringify(result));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
