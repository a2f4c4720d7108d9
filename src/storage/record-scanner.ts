/**
 * Sequential, validating walk over the records in a byte range of a segment
 * file, through the file layer, with one reusable read buffer (grown only for
 * a record larger than it, up to recordBytesMax). Used by recovery, index
 * rebuild, lookups and offline verification. Every record is checked before
 * the visitor sees it: length bounds, CRC, serverCrc, and (when a first seq is
 * given) seq continuity. The walk stops at the first problem and reports it.
 */
import { RECORD_HEADER_BYTES } from '../record/layout.js';
import { type RecordProblem, recordSeq } from '../record/record.js';
import { crcsPassedEnd, storedRecordProblem } from './batch-check.js';
import { SCAN_CHUNK_BYTES } from './defaults.js';
import { type FileLayer, readFully } from './file-layer.js';

export type ScanProblemCode = RecordProblem | 'bad-seq';

export interface ScanProblem {
  code: ScanProblemCode;
  message: string;
  /** File position of the bad record. */
  position: number;
}

export interface ScanResult {
  /** Position after the last record visited (where a torn tail would be cut). */
  end: number;
  records: number;
  /** Seq after the last record visited. */
  nextSeq: number;
  problem: ScanProblem | null;
  /** True when the visitor asked to stop. */
  stopped: boolean;
}

/**
 * Sees each valid record; dv/offset address it inside the scan buffer (valid
 * only during the call; with headersOnly, only its 80-byte header is there).
 * Return false to stop.
 */
export type ScanVisitor = (dv: DataView, offset: number, length: number, position: number, seq: number) => boolean | void;

export class RecordScanner {
  private buf: Uint8Array;
  private dv: DataView;
  private bufStart = 0;
  private bufLen = 0;
  /** End of the buffer's run of whole records whose CRCs passed one native check (crcsPassedEnd); -1: not checked since the last fill. */
  private crcEnd = -1;

  constructor(
    private readonly layer: FileLayer,
    private readonly recordBytesMax: number,
    chunkBytes: number = SCAN_CHUNK_BYTES,
  ) {
    this.buf = new Uint8Array(chunkBytes);
    this.dv = new DataView(this.buf.buffer);
  }

  /**
   * Walks records in [start, end) of fd. firstSeq: the seq the first record
   * must carry (null: take it from the record, then require continuity).
   * headersOnly: check length bounds and seq only, not CRCs (for seeking to a
   * seq whose records are then read and fully checked).
   */
  scan(fd: number, start: number, end: number, firstSeq: number | null, visit: ScanVisitor, headersOnly = false): ScanResult {
    this.bufLen = 0;
    this.crcEnd = -1;
    let pos = start;
    let seq = firstSeq;
    let records = 0;
    const result = (problem: ScanProblem | null, stopped = false): ScanResult => ({
      end: pos,
      records,
      nextSeq: seq ?? 0,
      problem,
      stopped,
    });
    while (pos < end) {
      if (!this.ensure(fd, pos, RECORD_HEADER_BYTES, end)) {
        return result({ code: 'short-header', message: `only ${end - pos} bytes left at ${pos}, less than a record header`, position: pos });
      }
      const length = this.dv.getUint32(pos - this.bufStart, true);
      const early = this.headerProblem(length, pos, end);
      if (early !== null) return result(early);
      if (!headersOnly) {
        if (!this.ensure(fd, pos, length, end)) {
          return result({ code: 'beyond-buffer', message: `record at ${pos} claims ${length} bytes; the file ends first`, position: pos });
        }
        const off = pos - this.bufStart;
        if (this.crcEnd < 0) this.crcEnd = crcsPassedEnd(this.buf, 0, this.bufLen);
        const p = storedRecordProblem(this.buf, this.dv, off, off + length, this.recordBytesMax, off + length <= this.crcEnd);
        if (typeof p !== 'number') return result({ code: p[0], message: p[1].replace(`at ${off}`, `at ${pos}`), position: pos });
      }
      const off = pos - this.bufStart;
      const recSeq = recordSeq(this.dv, off);
      if (seq !== null && recSeq !== seq) {
        return result({ code: 'bad-seq', message: `record at ${pos} has seq ${recSeq}, expected ${seq}`, position: pos });
      }
      const keepGoing = visit(this.dv, off, length, pos, recSeq);
      pos += length;
      seq = recSeq + 1;
      records++;
      if (keepGoing === false) return result(null, true);
    }
    return result(null);
  }

  private headerProblem(length: number, pos: number, end: number): ScanProblem | null {
    if (length < RECORD_HEADER_BYTES || length % 8 !== 0) {
      return { code: 'bad-length', message: `record at ${pos} has invalid length ${length}`, position: pos };
    }
    if (length > this.recordBytesMax) {
      return { code: 'too-large', message: `record at ${pos} is ${length} bytes; the limit is ${this.recordBytesMax}`, position: pos };
    }
    if (pos + length > end) {
      return { code: 'beyond-buffer', message: `record at ${pos} claims ${length} bytes; only ${end - pos} remain`, position: pos };
    }
    return null;
  }

  /** Makes [pos, pos+n) present in the buffer; false when the file ends first. */
  private ensure(fd: number, pos: number, n: number, end: number): boolean {
    if (pos >= this.bufStart && pos + n <= this.bufStart + this.bufLen) return true;
    if (n > this.buf.length) {
      this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
      this.dv = new DataView(this.buf.buffer);
    }
    const want = Math.min(this.buf.length, end - pos);
    this.bufStart = pos;
    this.bufLen = readFully(this.layer, fd, this.buf, 0, want, pos);
    this.crcEnd = -1;
    return this.bufLen >= n;
  }
}
