/**
 * Offline rebuild of a SEALED segment's sparse index (`<base>.index`) from its
 * `.log`, the only source of truth. A pure function of the files: safe to run
 * in a worker pool (src/shard/index-rebuild-pool.ts, piscina) while NO node
 * owns the shard folder, like verify.ts. It never touches the active segment
 * (the highest base in the folder: its index is the owning node's, cut to the
 * checkpoint at open) and never writes the checkpoint.
 *
 * The index is built by the same code that builds it while appending and at
 * recovery (RecordScanner validating every record, SegmentTracker.observe
 * choosing the sample points, SparseIndex.encode), so with the same
 * indexIntervalBytes the result is byte-identical to the index the node wrote.
 * It is written atomically (writeFileAtomic: temp file, fsync, rename, fsync
 * of the folder). A log that does not scan cleanly to its end is CORRUPT and
 * no index is written for it.
 *
 * In the same single pass, the existing index (if any) is checked: it is
 * "missing or invalid" when absent, structurally invalid (decodeIndex), when an
 * entry disagrees with the record at its position (verify's IndexChecker), or
 * when its entry count differs from the checkpoint's for this segment (the
 * node's own rule at open: it would rebuild it).
 */
import { basename, dirname, join } from 'node:path';
import { RECORD_BYTES_LIMIT } from '../record/layout.js';
import { recordAppendTime, recordEventTimeMax } from '../record/record.js';
import { type SegmentMeta, decodeCheckpoint } from './checkpoint.js';
import { INDEX_INTERVAL_BYTES_DEFAULT } from './defaults.js';
import { type FileLayer, nodeFileLayer, readWholeFile, writeFileAtomic } from './file-layer.js';
import { RecordScanner } from './record-scanner.js';
import { CHECKPOINT_FILE, indexFileName, parseLogFileName, segmentBases } from './segment-name.js';
import { SegmentTracker } from './segment-tracker.js';
import { decodeIndex } from './sparse-index.js';
import { StorageError } from './types.js';
import { IndexChecker } from './verify.js';

export interface RebuildIndexOptions {
  /**
   * Sample interval of the rebuilt index (default INDEX_INTERVAL_BYTES_DEFAULT).
   * Use the node's `--index-interval-bytes`: with another value the index is
   * still correct, but its entry count differs from the checkpoint's, so the
   * node rebuilds it once more on first read (reported in `warnings`).
   */
  indexIntervalBytes?: number;
  /** Largest record accepted by the scan (default RECORD_BYTES_LIMIT, any record the format allows). */
  recordBytesMax?: number;
  fileLayer?: FileLayer;
  /** Leave a valid index alone (still costs the scan of the log). Default false: always rewrite. */
  onlyMissingOrInvalid?: boolean;
}

export interface IndexRebuildResult {
  /** Path of the `.index` file. */
  file: string;
  /** Entries of the index now on disk. */
  entries: number;
  /** Records in the segment. */
  records: number;
  /** Bytes of the segment's log. */
  bytes: number;
  /** True when the index file was (re)written. */
  rebuilt: boolean;
  /** Why the previous index was missing or invalid; null when it was valid. */
  reason: string | null;
  /** Disagreements with the checkpoint that did not stop the rebuild. */
  warnings: string[];
}

/** Rebuilds (or, with onlyMissingOrInvalid, checks and if needed rebuilds) the index of a sealed segment. */
export function rebuildSegmentIndex(logPath: string, opts: RebuildIndexOptions = {}): IndexRebuildResult {
  const layer = opts.fileLayer ?? nodeFileLayer;
  const interval = opts.indexIntervalBytes ?? INDEX_INTERVAL_BYTES_DEFAULT;
  if (!(Number.isSafeInteger(interval) && interval > 0)) throw new RangeError(`indexIntervalBytes ${interval} must be a positive integer`);
  const dir = dirname(logPath);
  const baseSeq = parseLogFileName(basename(logPath));
  if (baseSeq === null) throw new Error(`${logPath} is not a segment file (expected <20 digits>.log)`);
  const bases = segmentBases(layer.readdir(dir));
  if (!bases.includes(baseSeq)) throw new Error(`${logPath} does not exist`);
  if (baseSeq === bases[bases.length - 1]) {
    throw new Error(`${logPath} is the active segment of its shard (the highest base in its folder); only sealed segments' indexes are rebuilt offline`);
  }
  const indexPath = join(dir, indexFileName(baseSeq));
  const cpMeta = checkpointMeta(layer, dir, baseSeq);
  const fd = layer.open(logPath, 'read');
  let size: number;
  let tracker: SegmentTracker;
  let reason: string | null;
  let oldEntries = 0;
  try {
    size = layer.size(fd);
    const oldBytes = readWholeFile(layer, indexPath);
    const decoded = oldBytes === null ? null : decodeIndex(oldBytes, Math.max(size, 1));
    reason = decoded === null ? 'missing' : decoded.problem;
    oldEntries = decoded?.index.count ?? 0;
    const checker = decoded !== null && decoded.problem === null ? new IndexChecker(decoded.index, baseSeq) : null;
    tracker = SegmentTracker.fresh(baseSeq, interval);
    const scanner = new RecordScanner(layer, opts.recordBytesMax ?? RECORD_BYTES_LIMIT);
    const r = scanner.scan(fd, 0, size, baseSeq, (dv, off, length, position, seq) => {
      const appendTime = recordAppendTime(dv, off);
      const eventTimeMax = recordEventTimeMax(dv, off);
      tracker.observe(position, length, seq, appendTime, eventTimeMax);
      checker?.visit(position, seq, appendTime, eventTimeMax);
    });
    if (r.problem !== null) {
      throw new StorageError('CORRUPT', `${logPath} byte ${r.problem.position} (from seq ${r.nextSeq}): ${r.problem.message}; its index was not rebuilt`);
    }
    if (checker !== null) reason = checker.finish(true);
    if (reason === null && cpMeta !== null && oldEntries !== cpMeta.indexEntries) {
      reason = `has ${oldEntries} entries, the checkpoint says ${cpMeta.indexEntries}`;
    }
  } finally {
    layer.close(fd);
  }
  const warnings: string[] = [];
  if (cpMeta !== null && (cpMeta.bytes !== size || cpMeta.endSeq !== tracker.meta.endSeq)) {
    warnings.push(`${logPath}: the log holds ${size} bytes up to seq ${tracker.meta.endSeq - 1}, the checkpoint says ${cpMeta.bytes} bytes up to seq ${cpMeta.endSeq - 1}`);
  }
  const records = tracker.meta.endSeq - baseSeq;
  if (opts.onlyMissingOrInvalid === true && reason === null) {
    return { file: indexPath, entries: oldEntries, records, bytes: size, rebuilt: false, reason, warnings };
  }
  const index = tracker.index;
  writeFileAtomic(layer, dir, indexFileName(baseSeq), index.encode(0, index.count));
  if (cpMeta !== null && index.count !== cpMeta.indexEntries) {
    warnings.push(
      `${indexPath}: rebuilt with ${index.count} entries (indexIntervalBytes ${interval}), the checkpoint says ${cpMeta.indexEntries}: ` +
        'the node, if it uses another --index-interval-bytes, rebuilds it again on first read',
    );
  }
  return { file: indexPath, entries: index.count, records, bytes: size, rebuilt: true, reason, warnings };
}

/** This segment's summary in the shard's checkpoint; null without a readable checkpoint or when it is not listed as sealed. */
function checkpointMeta(layer: FileLayer, dir: string, baseSeq: number): SegmentMeta | null {
  const bytes = readWholeFile(layer, join(dir, CHECKPOINT_FILE));
  if (bytes === null) return null;
  try {
    return decodeCheckpoint(bytes).sealed.find((s) => s.baseSeq === baseSeq) ?? null;
  } catch {
    // A damaged checkpoint is ignored by the node too (it rescans every segment and rewrites every index).
    return null;
  }
}
