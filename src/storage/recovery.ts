/**
 * Opening a shard folder: find what is durable and make the in-memory state
 * agree with the files.
 *
 * With a valid checkpoint (checkpoint.ts), sealed segments are taken from it
 * as they are (never read), the active segment's index is loaded and cut to
 * the entries the checkpoint covers, and only the active segment's bytes
 * after the checkpointed position (plus any segment created after the
 * checkpoint) are scanned. Without one, every segment is scanned from its
 * start. Each scanned record is validated (length bounds, CRC, serverCrc, seq
 * continuity). The active (last) segment's first bad record starts a torn
 * tail, which is cut. With a checkpoint, a scanned segment that a later one
 * follows was sealed by a roll whose checkpoint was never written: a
 * background roll (seal-job.ts) fsyncs the old segment only after opening the
 * new one, so after a power loss it may be torn. Damage in it, or an end that
 * does not meet the next segment's base, is therefore cut like a torn tail,
 * and the later segments are deleted (reported). Without a checkpoint, a
 * segment that a later one follows is taken as sealed and durable, so damage
 * in it is corruption: it is reported (report.problems,
 * report.damagedBytes), the scan resynchronises past it (resync.ts), the file
 * is kept, and later segments are kept and served.
 */
import { join } from 'node:path';
import { OFF_PRODUCER_ID, OFF_PRODUCER_SEQ } from '../record/layout.js';
import { getU64, recordAppendTime, recordEventTimeMax } from '../record/record.js';
import { type Checkpoint, type SegmentMeta, TIME_NONE, decodeCheckpoint } from './checkpoint.js';
import { type FileLayer, readWholeFile } from './file-layer.js';
import { ProducerTable } from './producer-state.js';
import { RecordScanner } from './record-scanner.js';
import { scanSealed } from './resync.js';
import { CHECKPOINT_FILE, CLEAN_SHUTDOWN_FILE, indexFileName, logFileName, segmentBases } from './segment-name.js';
import { SegmentTracker } from './segment-tracker.js';
import { decodeIndex } from './sparse-index.js';
import { StorageError, type RecoveryReport } from './types.js';

export interface RecoveryConfig {
  indexIntervalBytes: number;
  recordBytesMax: number;
  producersMax: number;
  /** Base of the first segment when the folder holds no shard yet (ShardStoreOptions.baseSeq); 0 when absent. */
  baseSeq?: number;
}

export interface RecoveredShard {
  sealed: SegmentMeta[];
  active: SegmentTracker;
  /** Open read/write descriptor of the active segment's log. */
  activeFd: number;
  lastAppendTime: number;
  producers: ProducerTable;
  report: RecoveryReport;
  /** Segments sealed during recovery whose index files must be (re)written. */
  rebuiltIndexes: SegmentTracker[];
}

interface Pending {
  tracker: SegmentTracker;
  fromPos: number;
  fromSeq: number;
}

export function recoverShard(layer: FileLayer, dir: string, cfg: RecoveryConfig): RecoveredShard {
  layer.mkdirp(dir);
  const names = layer.readdir(dir);
  for (const n of names) if (n.endsWith('.tmp')) layer.unlink(join(dir, n));
  const report: RecoveryReport = {
    clean: names.includes(CLEAN_SHUTDOWN_FILE),
    checkpointUsed: false,
    scannedBytes: 0,
    truncatedBytes: 0,
    damagedBytes: 0,
    problems: [],
  };
  const bases = segmentBases(names);
  const producers = new ProducerTable(cfg.producersMax);
  const cp = loadCheckpoint(layer, dir, bases, report);
  let sealed: SegmentMeta[] = [];
  let lastAppendTime = 0;
  const pending: Pending[] = [];
  if (cp !== null) {
    report.checkpointUsed = true;
    producers.restore(cp.producers);
    lastAppendTime = cp.lastAppendTime;
    sealed = presentSealed(cp, bases, dir);
    const startSeq = sealed[0]?.baseSeq ?? cp.active.baseSeq;
    for (const b of bases) if (b < startSeq) deleteSegmentFiles(layer, dir, b);
    pending.push(activeFromCheckpoint(layer, dir, cp.active, cfg, report));
    for (const b of bases) if (b > cp.active.baseSeq) pending.push(freshPending(b, cfg));
  } else {
    for (const b of bases) pending.push(freshPending(b, cfg));
    // A fresh shard: a replica that joins at a later segment starts there (nothing below is, or was, stored here).
    if (pending.length === 0) pending.push(freshPending(cfg.baseSeq ?? 0, cfg));
  }
  const scanner = new RecordScanner(layer, cfg.recordBytesMax);
  const rebuiltIndexes: SegmentTracker[] = [];
  let activeFd = -1;
  for (let k = 0; k < pending.length; k++) {
    const p = pending[k]!;
    const fd = layer.open(join(dir, logFileName(p.tracker.meta.baseSeq)), 'create');
    const size = layer.size(fd);
    const onAppendTime = (t: number): void => {
      if (t > lastAppendTime) lastAppendTime = t;
    };
    const next = pending[k + 1];
    if (next !== undefined && cp !== null) {
      // At or after the checkpoint's active segment and followed by another: sealed by a roll whose
      // checkpoint was never written, so maybe not durable (a background roll fsyncs the old segment
      // after opening the new one: seal-job.ts). Damage, or an end that does not meet the next
      // segment's base, is a torn tail: cut here, and the later segments (past a gap) go.
      const last = scanTail(scanner, fd, size, p, producers, onAppendTime, report, dir);
      if (last.end === size && p.tracker.meta.endSeq === next.tracker.meta.baseSeq) {
        layer.close(fd);
        sealed.push(p.tracker.meta);
        rebuiltIndexes.push(p.tracker);
        continue;
      }
      if (last.end < size) {
        layer.truncate(fd, last.end);
        layer.fsync(fd);
        report.truncatedBytes += size - last.end;
      }
      for (const q of pending.slice(k + 1)) {
        const base = q.tracker.meta.baseSeq;
        const bytes = sizeOf(layer, join(dir, logFileName(base)));
        deleteSegmentFiles(layer, dir, base);
        report.truncatedBytes += bytes;
        report.problems.push(
          `${join(dir, logFileName(base))}: deleted (${bytes} bytes): it follows ${logFileName(p.tracker.meta.baseSeq)}, which ends at seq ${p.tracker.meta.endSeq - 1} after a crash before its roll was made durable`,
        );
      }
      layer.syncDir(dir);
      pending.length = k + 1;
      activeFd = fd;
      break;
    }
    if (next !== undefined) {
      // Sealed: a later segment exists, so this one was complete (fsync'd before the roll). Damage here is corruption, not a torn tail: report it, never cut.
      scanSealedSegment(layer, scanner, fd, size, p, next.tracker.meta.baseSeq, producers, onAppendTime, report, cfg.recordBytesMax, dir);
      layer.close(fd);
      sealed.push(p.tracker.meta);
      rebuiltIndexes.push(p.tracker);
      continue;
    }
    // The active (last) segment: the first bad record starts a torn tail, which is cut.
    const last = scanTail(scanner, fd, size, p, producers, onAppendTime, report, dir);
    if (last.end < size) {
      layer.truncate(fd, last.end);
      layer.fsync(fd);
      report.truncatedBytes += size - last.end;
    }
    activeFd = fd;
  }
  const active = pending[pending.length - 1]!.tracker;
  return { sealed, active, activeFd, lastAppendTime, producers, report, rebuiltIndexes };
}

function scanTail(
  scanner: RecordScanner,
  fd: number,
  size: number,
  p: Pending,
  producers: ProducerTable,
  onAppendTime: (t: number) => void,
  report: RecoveryReport,
  dir: string,
): { end: number } {
  const result = scanner.scan(fd, p.fromPos, size, p.fromSeq, (dv, off, length, position, seq) => {
    const appendTime = recordAppendTime(dv, off);
    p.tracker.observe(position, length, seq, appendTime, recordEventTimeMax(dv, off));
    onAppendTime(appendTime);
    const producerId = getU64(dv, off + OFF_PRODUCER_ID);
    if (producerId !== 0) producers.applyRecovered(producerId, dv.getUint32(off + OFF_PRODUCER_SEQ, true), seq, appendTime);
  });
  report.scannedBytes += result.end - p.fromPos;
  if (result.problem !== null) {
    report.problems.push(
      `${join(dir, logFileName(p.tracker.meta.baseSeq))}: ${result.problem.message}; torn tail of the active segment truncated at byte ${result.end} (${size - result.end} bytes cut, from seq ${result.nextSeq})`,
    );
  }
  return { end: result.end };
}

/**
 * Scans a sealed segment (one a later segment follows) from p.fromPos,
 * resynchronising past damage instead of cutting: every damaged range is
 * reported, the file is kept whole (bytes = its size) and the segment ends
 * where the next one begins (endSeq = nextBase), so reads serve its intact
 * records and answer CORRUPT for the hidden seqs. Later segments are kept.
 */
function scanSealedSegment(
  layer: FileLayer,
  scanner: RecordScanner,
  fd: number,
  size: number,
  p: Pending,
  nextBase: number,
  producers: ProducerTable,
  onAppendTime: (t: number) => void,
  report: RecoveryReport,
  recordBytesMax: number,
  dir: string,
): void {
  const t = p.tracker;
  const file = join(dir, logFileName(t.meta.baseSeq));
  const r = scanSealed(scanner, layer, fd, p.fromPos, size, p.fromSeq, nextBase, recordBytesMax, (dv, off, length, position, seq) => {
    const appendTime = recordAppendTime(dv, off);
    t.observe(position, length, seq, appendTime, recordEventTimeMax(dv, off));
    onAppendTime(appendTime);
    const producerId = getU64(dv, off + OFF_PRODUCER_ID);
    if (producerId !== 0) producers.applyRecovered(producerId, dv.getUint32(off + OFF_PRODUCER_SEQ, true), seq, appendTime);
  }, (d) => {
    // The first record is damaged: the index still starts at (0, 0), so a read of the base seq meets the damage and reports it.
    if (t.index.count === 0) t.index.add(0, 0, TIME_NONE, TIME_NONE);
    report.damagedBytes += d.byteEnd - d.byteStart;
    report.problems.push(
      `${file}: sealed data damaged at bytes ${d.byteStart}..${d.byteEnd} (seqs ${d.seqFirst}..${d.seqLast} not served): ${d.message}; kept, not truncated`,
    );
  });
  report.scannedBytes += size - p.fromPos;
  if (r.end === size && r.nextSeq !== nextBase) {
    report.problems.push(
      r.nextSeq < nextBase
        ? `${file} ends at seq ${r.nextSeq - 1}, but the next segment ${logFileName(nextBase)} starts at seq ${nextBase}: seqs ${r.nextSeq}..${nextBase - 1} are missing`
        : `${file} holds seqs up to ${r.nextSeq - 1}, past the next segment ${logFileName(nextBase)}'s base ${nextBase}: seqs from ${nextBase} are served from the next segment`,
    );
  }
  t.meta.bytes = size;
  t.meta.endSeq = nextBase;
  t.meta.indexEntries = t.index.count;
}

function freshPending(baseSeq: number, cfg: RecoveryConfig): Pending {
  return { tracker: SegmentTracker.fresh(baseSeq, cfg.indexIntervalBytes), fromPos: 0, fromSeq: baseSeq };
}

/** The checkpointed active segment, resumed at its checkpointed position when its index and log allow it. */
function activeFromCheckpoint(layer: FileLayer, dir: string, meta: SegmentMeta, cfg: RecoveryConfig, report: RecoveryReport): Pending {
  const bytes = readWholeFile(layer, join(dir, indexFileName(meta.baseSeq)));
  const logSize = sizeOf(layer, join(dir, logFileName(meta.baseSeq)));
  const decoded = bytes === null ? null : decodeIndex(bytes, Math.max(logSize, 1));
  if (decoded === null || decoded.index.count < meta.indexEntries || logSize < meta.bytes) {
    report.problems.push(
      logSize < meta.bytes
        ? `${join(dir, logFileName(meta.baseSeq))} is ${logSize} bytes, shorter than the ${meta.bytes} the checkpoint says are durable; rescanned from its start`
        : `${join(dir, indexFileName(meta.baseSeq))} is missing or shorter than the checkpoint says; rebuilt from the log`,
    );
    return freshPending(meta.baseSeq, cfg);
  }
  decoded.index.truncateTo(meta.indexEntries);
  return { tracker: new SegmentTracker({ ...meta }, decoded.index, cfg.indexIntervalBytes), fromPos: meta.bytes, fromSeq: meta.endSeq };
}

function sizeOf(layer: FileLayer, path: string): number {
  if (!layer.exists(path)) return 0;
  const fd = layer.open(path, 'read');
  try {
    return layer.size(fd);
  } finally {
    layer.close(fd);
  }
}

function loadCheckpoint(layer: FileLayer, dir: string, bases: number[], report: RecoveryReport): Checkpoint | null {
  const bytes = readWholeFile(layer, join(dir, CHECKPOINT_FILE));
  if (bytes === null) {
    if (bases.length > 0) report.problems.push('no checkpoint; every segment was scanned');
    return null;
  }
  try {
    const cp = decodeCheckpoint(bytes);
    if (!bases.includes(cp.active.baseSeq)) {
      report.problems.push(`checkpoint names active segment ${cp.active.baseSeq}, which is missing; every segment was scanned`);
      return null;
    }
    return cp;
  } catch (e) {
    report.problems.push(`${(e as Error).message}; every segment was scanned`);
    return null;
  }
}

/** Sealed segments of the checkpoint whose files exist: a missing prefix was deleted by retention; a hole is corruption. */
function presentSealed(cp: Checkpoint, bases: number[], dir: string): SegmentMeta[] {
  const present = new Set(bases);
  const firstPresent = cp.sealed.findIndex((s) => present.has(s.baseSeq));
  if (firstPresent < 0) return [];
  const kept = cp.sealed.slice(firstPresent);
  for (const s of kept) {
    if (!present.has(s.baseSeq)) {
      throw new StorageError('CORRUPT', `sealed segment ${join(dir, logFileName(s.baseSeq))} (seqs ${s.baseSeq}..${s.endSeq - 1}) is missing`);
    }
  }
  return kept;
}

/**
 * After an fsync failure stopped the store (fsync-guard.ts): cuts the
 * shard's files back to what the last successful fsyncs covered, before
 * recovery reads them. Every segment after cut.baseSeq is deleted (log and
 * index: later data may not follow a hole), then segment cut.baseSeq is
 * truncated to cut.bytes. Nothing is fsync'd here: recovery and the store's
 * open fsync the truncated log, the directory and a new checkpoint.
 * Idempotent (a reopen attempt repeats it). Returns the log files deleted
 * and the bytes cut off segment cut.baseSeq.
 *
 * Why the live files are not trusted: after a failed fsync the kernel may
 * have dropped the dirty pages (the file reads zeros or old bytes there) or
 * kept them in the page cache without writing them (they read fine, and a
 * power loss takes them): either way only what a successful fsync covered
 * is known to be on disk.
 */
export function cutToDurable(layer: FileLayer, dir: string, cut: { baseSeq: number; bytes: number }): { removed: string[]; bytesCut: number } {
  const removed: string[] = [];
  for (const b of segmentBases(layer.readdir(dir))) {
    if (b <= cut.baseSeq) continue;
    deleteSegmentFiles(layer, dir, b);
    removed.push(logFileName(b));
  }
  let bytesCut = 0;
  const path = join(dir, logFileName(cut.baseSeq));
  if (layer.exists(path)) {
    const fd = layer.open(path, 'readwrite');
    try {
      const size = layer.size(fd);
      if (size > cut.bytes) {
        layer.truncate(fd, cut.bytes);
        bytesCut = size - cut.bytes;
      }
    } finally {
      layer.close(fd);
    }
  }
  return { removed, bytesCut };
}

function deleteSegmentFiles(layer: FileLayer, dir: string, baseSeq: number): void {
  for (const name of [logFileName(baseSeq), indexFileName(baseSeq)]) {
    const path = join(dir, name);
    if (layer.exists(path)) layer.unlink(path);
  }
}


/**
 * One operator-facing log line for what recovery did at open, or null when
 * there is nothing to say (a clean or empty shard, nothing cut or damaged).
 * The shard worker logs it, so a torn tail cut off the active segment (acked
 * records lost under a lax fsync policy) or damage in sealed data is never
 * silent.
 */
export function recoveryLogLine(dir: string, r: RecoveryReport): string | null {
  if (r.truncatedBytes === 0 && r.damagedBytes === 0 && r.problems.length === 0) return null;
  const what: string[] = [];
  if (r.truncatedBytes > 0) what.push(`truncated ${r.truncatedBytes} bytes`);
  if (r.damagedBytes > 0) what.push(`found ${r.damagedBytes} damaged bytes of sealed data (kept, never served)`);
  if (what.length === 0) what.push('found problems');
  return `shard ${dir}: recovery at open ${what.join(' and ')}: ${r.problems.join('; ')}`;
}
