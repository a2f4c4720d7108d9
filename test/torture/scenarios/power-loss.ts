/**
 * Scenario 2, power loss: one ShardStore driven in-process over PowerLossFs
 * (harness/power-loss-fs.ts). Each cycle opens the store on the disk image
 * left by the previous crash, appends seeded batches under a fake clock
 * (tick() called like the shard worker does, every SHARD_TICK_MS), and
 * crashes at a seeded file-layer call (during recovery, an append, an
 * fsync, a roll, a checkpoint...). The image after the crash keeps only what
 * was durable (drop-all) or that plus a random subset of unsynced pages and
 * directory entries (random). After reopening:
 *   - the records are a dense prefix of what was appended, byte for byte;
 *   - fsync 'always': nothing acked is lost;
 *   - the storage default (interval, FSYNC_INTERVAL_MS_DEFAULT): every lost
 *     record was appended less than fsyncIntervalMs plus one tick period
 *     before the crash (the window documented in src/storage/defaults.ts);
 *   - 'bytes:N': the lost records add up to fewer than N bytes.
 * With `background` the store runs as a shard worker runs it for 'interval'
 * and 'bytes' (syncInBackground: background fsyncs and background rolls,
 * src/storage/seal-job.ts): after each append the driver starts the due
 * background fsync and then, at random, lets background work run a few steps,
 * runs it to the end, or runs none of it (a stuck disk), so crashes land
 * inside background fsyncs and seal jobs too. The documented bounds are then
 * BACKGROUND_SYNC_LAG_FACTOR times the policy's (docs/FORMAT.md section 8).
 *
 * With `groupCommit` ('always' only) the store runs as a shard worker runs
 * it for 'always': fsync policy 'roll', and the driver appends a few batches
 * and then calls sync() once for all of them (group commit); they are acked
 * only when that sync returns.
 *
 * With `fsyncFailures`, some cycles also arm an fsync failure
 * (PowerLossFs.armFsyncFailure: EIO once, the file's dirty pages dropped).
 * The store must stop (every call SHARD_STOPPED; the refused append is not
 * acked) and the driver reopens it (ShardStore.reopen), as a worker does.
 * Right before the reopen the driver takes the power-loss image of that
 * instant ('drop-all': what successful fsyncs covered) and reads it; after
 * the reopen it checks:
 *   - the shard is a dense, byte-identical prefix of what was acked, without
 *     the refused batch;
 *   - everything the power-loss image held is there (nothing covered by a
 *     successful fsync is lost); 'always': nothing acked is lost; otherwise
 *     the loss is within the policy's window, as for a power loss;
 *   - a process restart on the same files (abandon + open) serves exactly
 *     the same records;
 *   - and everything served after the reopen is durable: the next check
 *     (power loss or reopen) must still hold at least all of it.
 */
import { type RecordInput, encodeRecordInto, encodedRecordLength, decodeRecord } from '../../../src/record/record.js';
import { BACKGROUND_SYNC_LAG_FACTOR, FSYNC_POLICY_DEFAULT } from '../../../src/storage/defaults.js';
import { ShardStore } from '../../../src/storage/shard-store.js';
import type { FsyncPolicy } from '../../../src/storage/types.js';
import { PowerLossFs, type CrashMode } from '../harness/power-loss-fs.js';
import { Rng, withSeed } from '../harness/rng.js';
import { bytesEqual } from '../harness/records.js';

/** The shard worker's tick cadence (workers/shard-worker.ts SHARD_TICK_MS); the driver ticks the same way. */
export const TICK_MS = 100;
/** Fake time between appends: uniform in [0, STEP_MS_MAX]. */
const STEP_MS_MAX = 60;
const SHARD_DIR = '/data/ns/stream/0';
/** Small segments and index interval so rolls, sealed segments and index files are under the crashes. */
const SEGMENT_BYTES_MAX = 24 * 1024;
const INDEX_INTERVAL_BYTES = 512;
/** Opens tried when one fails on an injected fsync failure (as a shard worker is restarted). */
const OPEN_ATTEMPTS_MAX = 3;
/** A fresh disk every this many crashes (keeps each cycle's read-back small). */
const CRASHES_PER_DISK = 40;

export type PolicyName = 'always' | 'default' | 'bytes';

export interface PowerLossOptions {
  seed: number;
  policy: PolicyName;
  mode: CrashMode;
  crashes: number;
  /** Bytes for the 'bytes' policy. */
  fsyncBytes?: number;
  /** Harness self-test: a disk whose fsync does nothing (the check must then find losses). */
  lyingFsync?: boolean;
  /** Background fsyncs and rolls (syncInBackground), as shard workers run 'interval' and 'bytes'. */
  background?: boolean;
  /** 'always' as a shard worker runs it: policy 'roll' in the store and one sync() per group of appends. */
  groupCommit?: boolean;
  /** Arm EIO-with-lost-pages fsync failures; the driver reopens the stopped store. */
  fsyncFailures?: boolean;
}

export interface PowerLossStats {
  seed: number;
  policy: PolicyName;
  mode: CrashMode;
  crashes: number;
  crashesDuringRecovery: number;
  appendsAcked: number;
  recordsChecked: number;
  /** Acked records lost to crashes (0 under 'always'). */
  ackedLost: number;
  /** Largest age of a lost acked record at its crash (ms), and the bound asserted. */
  lostAgeMsMax: number;
  lostAgeBoundMs: number | null;
  lostBytesMax: number;
  lostBytesBound: number | null;
  maxTickGapMs: number;
  /** fsync failures injected, stores reopened after one, appends refused (not acked). */
  fsyncFailures: number;
  reopens: number;
  refused: number;
}

interface Rec {
  seq: number;
  payload: Uint8Array;
  appendTime: number;
  bytes: number;
}

function policyOf(o: PowerLossOptions): FsyncPolicy {
  if (o.policy === 'always') return { mode: 'always' };
  if (o.policy === 'bytes') return { mode: 'bytes', bytes: o.fsyncBytes ?? 8192 };
  return FSYNC_POLICY_DEFAULT;
}

export async function runPowerLoss(o: PowerLossOptions): Promise<PowerLossStats> {
  const rng = new Rng(o.seed);
  const policy = policyOf(o);
  const stats: PowerLossStats = {
    seed: o.seed, policy: o.policy, mode: o.mode, crashes: 0, crashesDuringRecovery: 0, appendsAcked: 0, recordsChecked: 0, ackedLost: 0,
    lostAgeMsMax: 0, lostAgeBoundMs: null, lostBytesMax: 0, lostBytesBound: policy.mode === 'bytes' ? policy.bytes : null, maxTickGapMs: 0,
    fsyncFailures: 0, reopens: 0, refused: 0,
  };
  const group = o.groupCommit === true && policy.mode === 'always';
  let clock = 1_700_000_000_000;
  const openOnce = (fs: PowerLossFs) =>
    ShardStore.open({
      dir: SHARD_DIR, fileLayer: fs, fsync: group ? { mode: 'roll' } : policy, minFreeBytes: 0, now: () => clock,
      segmentBytesMax: SEGMENT_BYTES_MAX, indexIntervalBytes: INDEX_INTERVAL_BYTES,
      syncInBackground: o.background === true,
    });
  /** An open whose own fsync fails (recovery's, the first checkpoint's) is refused; the owner opens again (a worker restart). */
  const open = (fs: PowerLossFs): ShardStore => {
    for (let attempt = 1; ; attempt++) {
      try {
        return openOnce(fs);
      } catch (e) {
        if (fs.crashed || !isRefusal(e) || attempt >= OPEN_ATTEMPTS_MAX) throw e;
        stats.refused++;
      }
    }
  };
  const lagFactor = o.background === true ? BACKGROUND_SYNC_LAG_FACTOR : 1;
  let fs = freshDisk(o.lyingFsync);
  /** What the shard must hold: every record acked (or found after a recovery), by seq. */
  let model: Rec[] = [];
  /** The last crash, checked when the store next opens. */
  let pending: PendingCheck | null = null;
  let crashesOnDisk = 0;
  /** Records known durable (read back right after a reopen): every later check must still hold them. */
  let floor = 0;
  try {
    while (stats.crashes < o.crashes) {
      if (crashesOnDisk >= CRASHES_PER_DISK && pending === null) {
        fs = freshDisk(o.lyingFsync);
        model = [];
        floor = 0;
        crashesOnDisk = 0;
      }
      // Crash somewhere in the next calls: often during recovery, mostly during appends.
      fs.armCrash(rng.int(1, rng.bool(0.25) ? 60 : 800), (n) => (rng.bool() ? rng.int(0, n) : 0));
      // fsync failures: sometimes in the open (recovery, first checkpoint), mostly while serving.
      if (o.fsyncFailures === true && rng.bool(0.2)) fs.armFsyncFailure(rng.int(1, 6));
      let store: ShardStore | null = null;
      let checked = false;
      let inFlight: Rec[] = [];
      let lastTick = clock;
      try {
        store = open(fs);
        model = checkRecovered(store, model, pending, stats, floor);
        pending = null;
        checked = true;
        if (o.fsyncFailures === true && rng.bool(0.6)) fs.armFsyncFailure(rng.int(1, 20));
        for (;;) {
          try {
            clock += rng.int(0, STEP_MS_MAX);
            if (clock - lastTick >= TICK_MS) {
              stats.maxTickGapMs = Math.max(stats.maxTickGapMs, clock - lastTick);
              lastTick = clock;
              store.tick();
            }
            for (let k = group ? rng.int(1, 4) : 1; k > 0; k--) {
              const { bytes, payloads } = makeBatch(rng);
              const batchRecs = payloads.map((p, i) => ({ seq: model.length + inFlight.length + i, payload: p, appendTime: clock, bytes: 0 }));
              inFlight.push(...batchRecs);
              const r = store.append(bytes);
              const want = batchRecs[0]!.seq;
              if (r.firstSeq !== want || r.count !== payloads.length) throw new Error(`append returned seqs ${r.firstSeq}+${r.count}, expected ${want}+${payloads.length}`);
              const sizes = recordSizes(bytes);
              batchRecs.forEach((x, i) => {
                x.appendTime = r.appendTime;
                x.bytes = sizes[i]!;
              });
            }
            if (group) store.sync(); // the worker's group commit: acked only once it returns
            model.push(...inFlight);
            inFlight = [];
            stats.appendsAcked++;
          } catch (e) {
            if (fs.crashed || !isRefusal(e)) throw e;
            // Refused: not acked. A stopped store is reopened from what is durable, as a shard worker does
            // (the refused records stay in inFlight until then: a crash meanwhile may or may not keep them).
            stats.refused++;
            const stopped = (store as { stopped?: unknown }).stopped;
            if (stopped !== null && stopped !== undefined) {
              const next = await reopenChecked(store, fs, model, inFlight, clock, policy, lagFactor, floor, stats, open);
              store = next.store;
              model = next.model;
              floor = model.length;
            }
            inFlight = [];
            continue;
          }
          if (o.background === true) await runBackground(store, rng);
        }
      } catch (e) {
        if (!fs.crashed) throw e;
      }
      stats.fsyncFailures += fs.fsyncFailures;
      // A crash before the check of the previous one leaves that check due (with its in-flight batch).
      if (store === null) stats.crashesDuringRecovery++;
      if (checked) pending = { crashTime: clock, inFlight, policy, tickGapMs: Math.max(stats.maxTickGapMs, TICK_MS), lagFactor };
      stats.crashes++;
      crashesOnDisk++;
      fs = fs.crashImage(o.mode, rng);
    }
    const store = open(fs);
    checkRecovered(store, model, pending, stats, floor);
    store.close();
    return stats;
  } catch (err) {
    throw withSeed(`power-loss ${o.policy}/${o.mode}`, o.seed, `${(err as Error).message} (after ${stats.crashes} crashes; shard files: ${safeListing(fs)})`);
  }
}

/** After an append, as a shard worker would: start the due background fsync, then let background work run some, all, or none. */
async function runBackground(store: ShardStore, rng: Rng): Promise<void> {
  void store.startBackgroundSync();
  const r = rng.int(0, 9);
  if (r === 9) await store.backgroundIdle();
  else if (r >= 3) for (let i = rng.int(1, 8); i > 0; i--) await Promise.resolve();
}

function freshDisk(lyingFsync = false): PowerLossFs {
  const fs = new PowerLossFs();
  fs.lyingFsync = lyingFsync;
  fs.mkdirp(SHARD_DIR);
  return fs;
}

function safeListing(fs: PowerLossFs): string {
  try {
    return fs.listing(SHARD_DIR);
  } catch {
    return '?';
  }
}

interface PendingCheck {
  crashTime: number;
  /** The batch being appended when the power went (may or may not be there). */
  inFlight: Rec[];
  policy: FsyncPolicy;
  /** Longest gap between two tick() calls so far: the "one tick period" of the documented window. */
  tickGapMs: number;
  /** The policy's bound is this many times larger (background fsync: BACKGROUND_SYNC_LAG_FACTOR). */
  lagFactor: number;
}

/** An append or sync answered with an error the caller sees (not acked): the store stopped, or (before the fix) an I/O error. */
function isRefusal(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (e as Error | null)?.name === 'StorageError' && (code === 'SHARD_STOPPED' || code === 'IO_ERROR');
}

/**
 * Reopens a store stopped by an fsync failure and checks the result (see
 * the file comment); returns the store to go on with (after a simulated
 * process restart) and what it holds.
 */
async function reopenChecked(
  stopped: ShardStore,
  fs: PowerLossFs,
  model: Rec[],
  refused: Rec[],
  now: number,
  policy: FsyncPolicy,
  lagFactor: number,
  floor: number,
  stats: PowerLossStats,
  open: (fs: PowerLossFs) => ShardStore,
): Promise<{ store: ShardStore; model: Rec[] }> {
  // What a power loss at this instant would keep: everything covered by a successful fsync.
  const imageStore = open(fs.crashImage('drop-all', new Rng(1)));
  const kept = readAll(imageStore);
  imageStore.abandon();
  const store = await stopped.reopen({ sleep: async () => undefined });
  stats.reopens++;
  const got = checkRecovered(store, model, { crashTime: now, inFlight: refused, policy, tickGapMs: Math.max(stats.maxTickGapMs, TICK_MS), lagFactor }, stats, floor);
  // A refused append is there after the reopen only if it was already durable (group commit: a roll inside its group fsync'd it).
  if (got.length > model.length && got.length > kept.length) {
    throw new Error(`after the reopen seqs ${model.length}..${got.length - 1} are there, but their appends were refused and they were not durable at the fsync failure`);
  }
  if (kept.length > got.length) {
    throw new Error(`the reopen after an fsync failure lost seqs ${got.length}..${kept.length - 1}, which a power loss at that instant would have kept (covered by a successful fsync)`);
  }
  for (let i = 0; i < kept.length; i++) {
    if (!bytesEqual(kept[i]!.payload, got[i]!.payload)) throw new Error(`seq ${i} differs between the reopened store and the power-loss image of the instant of the fsync failure`);
  }
  // A process restart on the same files serves exactly what the reopened store served.
  store.abandon();
  const restarted = open(fs);
  const again = readAll(restarted);
  if (again.length !== got.length || again.some((r, i) => !bytesEqual(r.payload, got[i]!.payload))) {
    throw new Error(`after the reopen the store served ${got.length} records, a process restart on the same files serves ${again.length} (or other bytes)`);
  }
  return { store: restarted, model: got };
}

/** Checks the recovered shard against the model and the last crash; returns what the shard now holds. */
function checkRecovered(store: ShardStore, model: Rec[], pc: PendingCheck | null, stats: PowerLossStats, floor = 0): Rec[] {
  const got = readAll(store);
  stats.recordsChecked += got.length;
  if (got.length < floor) throw new Error(`only ${got.length} records recovered, but ${floor} were durable (served right after a reopen) and must all be there`);
  const d = store.describe();
  if (d.startSeq !== 0) throw new Error(`startSeq ${d.startSeq} after recovery; no retention is configured`);
  const allowed = [...model, ...(pc?.inFlight ?? [])];
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const want = allowed[i];
    if (want === undefined) throw new Error(`recovered seq ${g.seq} was never appended (${got.length} recovered, ${allowed.length} appended)`);
    if (!bytesEqual(g.payload, want.payload)) throw new Error(`recovered seq ${g.seq} holds other bytes than were appended there`);
  }
  if (pc === null) {
    if (got.length !== model.length) throw new Error(`reopened without a crash: ${got.length} records, ${model.length} expected`);
    return got;
  }
  const lost = model.slice(got.length);
  if (lost.length === 0) return got;
  stats.ackedLost += lost.length;
  const where = `lost ${lost.length} acked record(s) (seqs ${lost[0]!.seq}..${lost[lost.length - 1]!.seq}) at the crash at t=${pc.crashTime}`;
  const p = pc.policy;
  if (p.mode === 'always') throw new Error(`fsync 'always' ${where}`);
  if (p.mode === 'interval') {
    const bound = p.ms * pc.lagFactor + pc.tickGapMs;
    stats.lostAgeBoundMs = bound;
    const age = pc.crashTime - lost[0]!.appendTime;
    stats.lostAgeMsMax = Math.max(stats.lostAgeMsMax, age);
    if (age >= bound) throw new Error(`interval fsync ${where}: the oldest was appended ${age} ms before the crash; the documented window is ${pc.lagFactor} x fsyncIntervalMs ${p.ms} + one tick period ${pc.tickGapMs} = ${bound} ms`);
  }
  if (p.mode === 'bytes') {
    const lostBytes = lost.reduce((n, r) => n + r.bytes, 0);
    stats.lostBytesMax = Math.max(stats.lostBytesMax, lostBytes);
    stats.lostBytesBound = p.bytes * pc.lagFactor;
    if (lostBytes >= p.bytes * pc.lagFactor) throw new Error(`bytes:${p.bytes} fsync ${where}: ${lostBytes} bytes, not fewer than ${pc.lagFactor} x ${p.bytes}`);
  }
  return got;
}

function readAll(store: ShardStore): Rec[] {
  const d = store.describe();
  const out: Rec[] = [];
  let seq = d.startSeq;
  while (seq < d.endSeq) {
    const r = store.read(seq, 64 * 1024);
    if (r.count === 0) throw new Error(`read at ${seq} returned nothing before endSeq ${d.endSeq}`);
    let off = 0;
    while (off < r.bytes.length) {
      const rec = decodeRecord(r.bytes, off);
      if (rec.seq !== seq) throw new Error(`read returned seq ${rec.seq} where ${seq} belongs`);
      out.push({ seq, payload: rec.payload.slice(), appendTime: rec.appendTime, bytes: rec.length });
      off += rec.length;
      seq++;
    }
  }
  return out;
}

function makeBatch(rng: Rng): { bytes: Uint8Array; payloads: Uint8Array[] } {
  const n = rng.int(1, 12);
  const inputs: RecordInput[] = [];
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const p = rng.bytes(rng.int(0, rng.bool(0.1) ? 6000 : 400));
    payloads.push(p);
    inputs.push({ payload: p });
  }
  const total = inputs.reduce((s, r) => s + encodedRecordLength(r), 0);
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const r of inputs) off += encodeRecordInto(bytes, off, r);
  return { bytes, payloads };
}

function recordSizes(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let off = 0; off < bytes.length; off += dv.getUint32(off, true)) out.push(dv.getUint32(off, true));
  return out;
}

