/**
 * The read side of a shard: finding a record by seq (sparse index, then a
 * bounded scan), filling a buffer with whole validated records from one
 * segment with one positioned read, and time lookups. Every record served
 * has passed its CRC, serverCrc and seq check; damage met on the first record
 * of a read throws CORRUPT naming file, byte offset and seq; damage met later
 * ends the read before it (the next read, starting there, throws). A read
 * starting past the damage resynchronises on the next valid record (locate).
 *
 * A cursor remembers where the previous read ended, so a sequential reader
 * skips the index lookup.
 */
import { join } from 'node:path';
import { RECORD_HEADER_BYTES } from '../record/layout.js';
import { dataViewOf, recordSeq } from '../record/record.js';
import { crcsPassedEnd, storedRecordProblem } from './batch-check.js';
import type { SegmentMeta } from './checkpoint.js';
import { type FileLayer, readFully } from './file-layer.js';
import type { RecordScanner } from './record-scanner.js';
import { findValidRecord } from './resync.js';
import { logFileName } from './segment-name.js';
import type { SparseIndex } from './sparse-index.js';
import { type ReadIntoResult, StorageError } from './types.js';

/** How the reader reaches a segment's file and index (the active one or a cached sealed one). */
export interface SegmentAccess {
  fd(meta: SegmentMeta): number;
  index(meta: SegmentMeta): SparseIndex;
}

export interface Location {
  meta: SegmentMeta;
  fd: number;
  position: number;
}

export class SegmentReader {
  private cursorSeq = -1;
  private cursorBase = -1;
  private cursorPosition = 0;

  constructor(
    private readonly layer: FileLayer,
    private readonly scanner: RecordScanner,
    private readonly dir: string,
    private readonly recordBytesMax: number,
    private readonly access: SegmentAccess,
  ) {}

  /** Drops the sequential-read cursor (the log was cut: positions past the cut may hold other records later). */
  forgetCursor(): void {
    this.cursorSeq = -1;
    this.cursorBase = -1;
    this.cursorPosition = 0;
  }

  /**
   * File position of record seq (which must exist). Damage between the index
   * entry and seq (a damaged length field loses the record boundaries) is
   * passed by resynchronising as verify does: the next 8-aligned position
   * holding a fully valid record of this segment with a later seq. When that
   * record's seq is past seq, seq lies in the damaged range: CORRUPT names the
   * file, the byte and the hidden seq range.
   */
  locate(meta: SegmentMeta, seq: number): Location {
    const fd = this.access.fd(meta);
    if (seq === this.cursorSeq && meta.baseSeq === this.cursorBase) return { meta, fd, position: this.cursorPosition };
    const index = this.access.index(meta);
    const i = index.floorByRelSeq(seq - meta.baseSeq);
    if (i < 0) throw this.corrupt(meta, 0, seq, `the segment's index has no entry at or before seq ${seq}`);
    let fromSeq = meta.baseSeq + index.relSeq[i]!;
    let position = index.position[i]!;
    // The record lies before the next entry's record: read no further.
    const stop = i + 1 < index.count ? index.position[i + 1]! : meta.bytes;
    while (fromSeq !== seq) {
      let lastVisited = -1;
      const r = this.scanner.scan(
        fd,
        position,
        stop,
        fromSeq,
        (_dv, _off, _len, pos, s) => {
          lastVisited = pos;
          if (s !== seq) return true;
          position = pos;
          return false;
        },
        true,
      );
      if (r.stopped) break;
      if (r.problem === null) throw this.corrupt(meta, r.end, r.nextSeq, `seq ${seq} not found by its index`);
      // Headers only: a damaged but plausible length of the last record visited leads into the middle of a record, so resynchronise right after that record's start.
      const from = lastVisited >= 0 ? lastVisited + 8 : r.problem.position + 8;
      const next = findValidRecord(this.layer, fd, from, stop, this.recordBytesMax, r.nextSeq, meta.endSeq);
      if (next === null || next.seq > seq) {
        const hidden = next === null ? `seqs ${r.nextSeq} to at least ${seq}` : `seqs ${r.nextSeq} to ${next.seq - 1} (the next valid record, seq ${next.seq}, is at byte ${next.position})`;
        throw this.corrupt(meta, r.problem.position, seq, `${r.problem.message}; the damage hides ${hidden}`);
      }
      position = next.position;
      fromSeq = next.seq;
    }
    return { meta, fd, position };
  }

  /** Reads whole, validated records of one segment from loc into target[0, limit), none with seq >= seqEnd. */
  fill(loc: Location, fromSeq: number, target: Uint8Array, limit: number, seqEnd = Infinity): ReadIntoResult {
    const want = Math.min(limit, target.length, loc.meta.bytes - loc.position);
    const got = readFully(this.layer, loc.fd, target, 0, want, loc.position);
    // A sealed segment cut short (torn): the whole records before the cut are served; the record the cut is in is damage.
    const cut = got < want ? `the file ends at byte ${loc.position + got}, ${loc.meta.bytes - loc.position - got} bytes before the segment's end` : null;
    const dv = dataViewOf(target);
    const max = this.recordBytesMax;
    let off = 0;
    let seq = fromSeq;
    let firstRecordBytes = 0;
    const crcEnd = crcsPassedEnd(target, 0, got);
    while (off < got && seq < seqEnd) {
      const first = seq === fromSeq;
      const fileLeft = loc.meta.bytes - loc.position - off;
      if (got - off < RECORD_HEADER_BYTES) {
        const why = cut ?? (fileLeft < RECORD_HEADER_BYTES ? `only ${fileLeft} bytes left, less than a header` : null);
        if (why !== null && first) throw this.corrupt(loc.meta, loc.position + off, seq, why);
        if (first) firstRecordBytes = RECORD_HEADER_BYTES;
        break;
      }
      const length = dv.getUint32(off, true);
      if (length < RECORD_HEADER_BYTES || length % 8 !== 0 || length > max || length > fileLeft) {
        if (first) throw this.corrupt(loc.meta, loc.position + off, seq, `invalid record length ${length}`);
        break;
      }
      if (off + length > got) {
        if (cut !== null && first) throw this.corrupt(loc.meta, loc.position + off, seq, `${length}-byte record cut: ${cut}`);
        if (first) firstRecordBytes = length;
        break;
      }
      const p = storedRecordProblem(target, dv, off, got, max, off + length <= crcEnd);
      const problem = typeof p !== 'number' ? p[1] : recordSeq(dv, off) !== seq ? `record has seq ${recordSeq(dv, off)}, expected ${seq}` : null;
      if (problem !== null) {
        if (first) throw this.corrupt(loc.meta, loc.position + off, seq, problem);
        break;
      }
      off += length;
      seq++;
    }
    if (cut !== null && seq === fromSeq) throw this.corrupt(loc.meta, loc.position + off, seq, cut);
    if (seq < loc.meta.endSeq) {
      this.cursorSeq = seq;
      this.cursorBase = loc.meta.baseSeq;
      this.cursorPosition = loc.position + off;
    }
    return { byteLength: off, count: seq - fromSeq, firstSeq: fromSeq, nextSeq: seq, firstRecordBytes };
  }

  corrupt(meta: SegmentMeta, position: number, seq: number, why: string): StorageError {
    const file = join(this.dir, logFileName(meta.baseSeq));
    return new StorageError('CORRUPT', `damaged data in ${file} at byte ${position}: ${why}; seq ${seq} is not served (a read from a later seq resumes at the next valid record)`);
  }

  /** Lowest seq in meta's segment whose value (append time or event time max) is >= t; the segment's max must be >= t. */
  firstAtOrAfter(
    meta: SegmentMeta,
    t: number,
    valueOf: (dv: DataView, off: number) => number,
    lastBelow: (ix: SparseIndex, t: number) => number,
  ): number {
    const index = this.access.index(meta);
    const i = lastBelow(index, t);
    const from = i < 0 ? 0 : index.position[i]!;
    const fromSeq = meta.baseSeq + (i < 0 ? 0 : index.relSeq[i]!);
    let found = meta.endSeq;
    // The answer is at or before entry i + 1's record (its running max is >= t): stop before entry i + 2.
    const end = i + 2 < index.count ? index.position[i + 2]! : meta.bytes;
    const r = this.scanner.scan(this.access.fd(meta), from, end, fromSeq, (dv, off, _len, _pos, seq) => {
      if (valueOf(dv, off) < t) return true;
      found = seq;
      return false;
    });
    if (r.problem !== null) throw this.corrupt(meta, r.problem.position, r.nextSeq, r.problem.message);
    return found;
  }
}
