/**
 * Offline verification of segment files and shard folders (pure functions of
 * the files; safe to run in a worker pool, e.g. piscina, while no node owns
 * the folder). Every record is checked (length bounds, CRC, serverCrc, seq
 * continuity from the file's base seq), and the segment's sparse index, when
 * present, is checked entry by entry against the records (position on a
 * record boundary, seq, running time maxima). Damage is reported as ranges:
 * file, byte range, and the seq range it hides (null where unknowable). After
 * a damaged record the verifier resynchronises on the next 8-aligned offset
 * that holds a fully valid record, so damage in the middle of a segment does
 * not hide the good records after it.
 */
import { basename, dirname, join } from 'node:path';
import { RECORD_BYTES_LIMIT, RECORD_HEADER_BYTES, RECORD_MAGIC_V1, OFF_MAGIC } from '../record/layout.js';
import { recordAppendTime, recordEventTimeMax, recordProblem, recordSeq } from '../record/record.js';
import { decodeCheckpoint } from './checkpoint.js';
import { type FileLayer, nodeFileLayer, readFully, readWholeFile } from './file-layer.js';
import { RecordScanner } from './record-scanner.js';
import { CHECKPOINT_FILE, indexFileName, parseLogFileName, segmentBases, logFileName } from './segment-name.js';
import { type SparseIndex, decodeIndex } from './sparse-index.js';

export interface DamagedRange {
  file: string;
  /** First damaged byte. */
  byteStart: number;
  /** One past the last damaged byte. */
  byteEnd: number;
  /** Seqs that cannot be read from this range (null when unknown). */
  seqFirst: number | null;
  seqLast: number | null;
  problem: string;
  message: string;
}

export interface IndexReport {
  file: string;
  entries: number;
  /** null when every entry is right. */
  problem: string | null;
}

export interface SegmentReport {
  file: string;
  baseSeq: number | null;
  bytes: number;
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  damaged: DamagedRange[];
  /** The sparse index beside the segment; null when there is none. */
  index: IndexReport | null;
  ok: boolean;
}

export interface ShardReport {
  dir: string;
  segments: SegmentReport[];
  /** Damage across all segments, plus gaps between segments. */
  damaged: DamagedRange[];
  /** Problems of index files and the checkpoint (rebuildable, but reported). */
  problems: string[];
  records: number;
  ok: boolean;
}

export interface VerifyOptions {
  recordBytesMax?: number;
  fileLayer?: FileLayer;
  /** Check the .index file beside the segment (default true). */
  checkIndex?: boolean;
}

/** Verifies one segment file (and its index). */
export function verifySegmentFile(path: string, opts: VerifyOptions = {}): SegmentReport {
  const layer = opts.fileLayer ?? nodeFileLayer;
  const max = opts.recordBytesMax ?? RECORD_BYTES_LIMIT;
  const baseSeq = parseLogFileName(basename(path));
  const fd = layer.open(path, 'read');
  try {
    const size = layer.size(fd);
    const report: SegmentReport = { file: path, baseSeq, bytes: size, records: 0, firstSeq: null, lastSeq: null, damaged: [], index: null, ok: true };
    const index = opts.checkIndex === false || baseSeq === null ? null : loadIndexFor(layer, path, baseSeq, size, report);
    const checker = index === null ? null : new IndexChecker(index.index, baseSeq ?? 0);
    const scanner = new RecordScanner(layer, max);
    let pos = 0;
    let expect: number | null = baseSeq;
    while (pos < size) {
      const r = scanner.scan(fd, pos, size, expect, (dv, off, _len, position, seq) => {
        report.records++;
        report.firstSeq ??= seq;
        report.lastSeq = seq;
        checker?.visit(position, seq, recordAppendTime(dv, off), recordEventTimeMax(dv, off));
      });
      if (r.problem === null) break;
      const expected = r.records > 0 || expect !== null ? r.nextSeq : null;
      const resync = findNextRecord(layer, fd, r.problem.position + 8, size, max);
      const seqLast = resync === null ? null : expected === null || resync.seq <= expected ? null : resync.seq - 1;
      report.damaged.push({
        file: path,
        byteStart: r.problem.position,
        byteEnd: resync?.position ?? size,
        seqFirst: expected,
        seqLast,
        problem: r.problem.code,
        message: r.problem.message,
      });
      if (resync === null) break;
      pos = resync.position;
      expect = resync.seq;
      checker?.skipTo(pos);
    }
    if (index !== null && report.index !== null && report.index.problem === null) {
      report.index.problem = checker!.finish(report.damaged.length === 0);
    }
    report.ok = report.damaged.length === 0 && (report.index === null || report.index.problem === null);
    return report;
  } finally {
    layer.close(fd);
  }
}

/** Verifies every segment, index and the checkpoint of a shard folder. */
export function verifyShardDir(dir: string, opts: VerifyOptions = {}): ShardReport {
  const layer = opts.fileLayer ?? nodeFileLayer;
  const bases = segmentBases(layer.readdir(dir));
  const segments = bases.map((b) => verifySegmentFile(join(dir, logFileName(b)), opts));
  const damaged: DamagedRange[] = [];
  const problems: string[] = [];
  for (let k = 0; k < segments.length; k++) {
    const s = segments[k]!;
    damaged.push(...s.damaged);
    if (s.index?.problem != null) problems.push(`${s.index.file}: ${s.index.problem}`);
    const next = segments[k + 1];
    if (next !== undefined && s.damaged.length === 0 && s.lastSeq !== null && next.baseSeq !== s.lastSeq + 1) {
      damaged.push({
        file: next.file,
        byteStart: 0,
        byteEnd: 0,
        seqFirst: s.lastSeq + 1,
        seqLast: next.baseSeq === null ? null : next.baseSeq - 1,
        problem: 'segment-gap',
        message: `${basename(next.file)} starts at seq ${next.baseSeq}, but the previous segment ends at ${s.lastSeq}`,
      });
    }
  }
  const cp = readWholeFile(layer, join(dir, CHECKPOINT_FILE));
  if (cp !== null) {
    try {
      decodeCheckpoint(cp);
    } catch (e) {
      problems.push(`${join(dir, CHECKPOINT_FILE)}: ${(e as Error).message}`);
    }
  }
  const records = segments.reduce((n, s) => n + s.records, 0);
  return { dir, segments, damaged, problems, records, ok: damaged.length === 0 && problems.length === 0 };
}

function loadIndexFor(layer: FileLayer, logPath: string, baseSeq: number, size: number, report: SegmentReport): { index: SparseIndex } | null {
  const file = join(dirname(logPath), indexFileName(baseSeq));
  const bytes = readWholeFile(layer, file);
  if (bytes === null) return null;
  const decoded = decodeIndex(bytes, Math.max(size, 1));
  report.index = { file, entries: decoded.index.count, problem: decoded.problem };
  return decoded.problem === null ? { index: decoded.index } : null;
}

/**
 * Walks index entries alongside the records, checking each against the record
 * at its position (also used by index-rebuild.ts to decide whether an index
 * needs rebuilding, in the same pass that builds its replacement).
 */
export class IndexChecker {
  private j = 0;
  private appendMax = -Infinity;
  private eventMax = -Infinity;
  private problem: string | null = null;

  constructor(
    private readonly index: SparseIndex,
    private readonly baseSeq: number,
  ) {}

  visit(position: number, seq: number, appendTime: number, eventTimeMax: number): void {
    this.appendMax = Math.max(this.appendMax, appendTime);
    this.eventMax = Math.max(this.eventMax, eventTimeMax);
    const ix = this.index;
    if (this.problem !== null || this.j >= ix.count) return;
    const p = ix.position[this.j]!;
    if (p < position) {
      this.problem = `entry ${this.j} points at byte ${p}, which is not a record boundary`;
    } else if (p === position) {
      if (this.baseSeq + ix.relSeq[this.j]! !== seq) this.problem = `entry ${this.j} says seq ${this.baseSeq + ix.relSeq[this.j]!}, the record has ${seq}`;
      else if (ix.appendTimeMax[this.j] !== this.appendMax) this.problem = `entry ${this.j} has append time max ${ix.appendTimeMax[this.j]}, the log gives ${this.appendMax}`;
      else if (ix.eventTimeMax[this.j] !== this.eventMax) this.problem = `entry ${this.j} has event time max ${ix.eventTimeMax[this.j]}, the log gives ${this.eventMax}`;
      this.j++;
    }
  }

  /** Damage was skipped: entries inside it cannot be checked. */
  skipTo(position: number): void {
    while (this.j < this.index.count && this.index.position[this.j]! < position) this.j++;
  }

  finish(complete: boolean): string | null {
    if (this.problem === null && complete && this.j < this.index.count) {
      return `entry ${this.j} points at byte ${this.index.position[this.j]}, past the last record`;
    }
    return this.problem;
  }
}

const RESYNC_WINDOW_BYTES = 1024 * 1024;

/** The next 8-aligned position at or after `from` holding a fully valid record, or null. */
function findNextRecord(layer: FileLayer, fd: number, from: number, size: number, max: number): { position: number; seq: number } | null {
  let buf = new Uint8Array(RESYNC_WINDOW_BYTES);
  let bufStart = -1;
  let bufLen = 0;
  const load = (pos: number, n: number): DataView | null => {
    if (pos < bufStart || pos + n > bufStart + bufLen) {
      if (n > buf.length) buf = new Uint8Array(n);
      bufStart = pos;
      bufLen = readFully(layer, fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (bufLen < n) return null;
    }
    return new DataView(buf.buffer, pos - bufStart, n);
  };
  for (let q = from + ((8 - (from % 8)) % 8); q + RECORD_HEADER_BYTES <= size; q += 8) {
    const head = load(q, RECORD_HEADER_BYTES);
    if (head === null) return null;
    const length = head.getUint32(0, true);
    if (head.getUint8(OFF_MAGIC) !== RECORD_MAGIC_V1 || length < RECORD_HEADER_BYTES || length % 8 !== 0 || length > max || q + length > size) continue;
    const whole = load(q, length);
    if (whole === null) continue;
    if (typeof recordProblem(whole, 0, length, max, true) === 'number') return { position: q, seq: recordSeq(whole, 0) };
  }
  return null;
}
