/**
 * Resynchronising past damage inside sealed data. After a damaged record the
 * record boundaries are lost (a damaged length field points anywhere), so the
 * next record is found the way verify.ts finds it: the next 8-aligned
 * position (records are multiples of 8 bytes) holding a fully valid record
 * (length bounds, magic, CRC, serverCrc) whose seq is one the damaged range
 * can hide. Used by reads (segment-reader.ts), by recovery of sealed segments
 * and by index rebuilds (sealed-segments.ts), so that damage in the middle of
 * a sealed segment hides only the records it hit. Never used on the tail of
 * the active segment: there the first bad record is a torn tail and is cut
 * (docs/FORMAT.md sections 7 and 9).
 */
import { RECORD_HEADER_BYTES } from '../record/layout.js';
import { recordSeq } from '../record/record.js';
import { storedRecordProblem } from './batch-check.js';
import { type FileLayer, readFully } from './file-layer.js';
import type { RecordScanner, ScanVisitor } from './record-scanner.js';

const RESYNC_WINDOW_BYTES = 256 * 1024;

/** A run of bytes of a sealed segment that holds no valid record, and the seqs it hides. */
export interface DamageFound {
  /** First damaged byte. */
  byteStart: number;
  /** One past the last damaged byte: the next valid record, or the end of the range scanned. */
  byteEnd: number;
  /** First seq hidden. */
  seqFirst: number;
  /** Last seq hidden (seqEnd - 1 when nothing valid follows). */
  seqLast: number;
  message: string;
}

/**
 * The first 8-aligned position in [from, end) of fd holding a fully valid
 * record whose seq lies in [seqMin, seqEnd), or null.
 */
export function findValidRecord(
  layer: FileLayer,
  fd: number,
  from: number,
  end: number,
  recordBytesMax: number,
  seqMin: number,
  seqEnd: number,
): { position: number; seq: number } | null {
  let buf = new Uint8Array(Math.min(RESYNC_WINDOW_BYTES, Math.max(end - from, RECORD_HEADER_BYTES)));
  let dv = new DataView(buf.buffer);
  let bufStart = -1;
  let bufLen = 0;
  /** Makes [pos, pos + n) present; returns its offset in buf, or -1 when the file ends first. */
  const load = (pos: number, n: number): number => {
    if (bufStart < 0 || pos < bufStart || pos + n > bufStart + bufLen) {
      if (n > buf.length) {
        buf = new Uint8Array(n);
        dv = new DataView(buf.buffer);
      }
      bufStart = pos;
      bufLen = readFully(layer, fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (bufLen < n) return -1;
    }
    return pos - bufStart;
  };
  for (let q = from + ((8 - (from % 8)) % 8); q + RECORD_HEADER_BYTES <= end; q += 8) {
    const h = load(q, RECORD_HEADER_BYTES);
    if (h < 0) return null;
    const length = dv.getUint32(h, true);
    if (length < RECORD_HEADER_BYTES || length % 8 !== 0 || length > recordBytesMax || q + length > end) continue;
    const seq = recordSeq(dv, h);
    if (seq < seqMin || seq >= seqEnd) continue;
    const off = load(q, length);
    if (off < 0) continue;
    if (typeof storedRecordProblem(buf, dv, off, off + length, recordBytesMax) === 'number') return { position: q, seq };
  }
  return null;
}

/**
 * Walks the valid records of [start, end) of a sealed segment whose first
 * record carries firstSeq, resynchronising past each damaged run (reported to
 * onDamage) instead of stopping there. seqEnd bounds the seqs a resync may
 * accept (the segment's end seq, or Infinity when unknown). Returns the seq
 * after the last valid record visited and the position after it.
 */
export function scanSealed(
  scanner: RecordScanner,
  layer: FileLayer,
  fd: number,
  start: number,
  end: number,
  firstSeq: number,
  seqEnd: number,
  recordBytesMax: number,
  visit: ScanVisitor,
  onDamage: (d: DamageFound) => void,
): { nextSeq: number; end: number } {
  let pos = start;
  let expect = firstSeq;
  let lastEnd = start;
  for (;;) {
    const r = scanner.scan(fd, pos, end, expect, visit);
    if (r.records > 0 || r.problem === null) lastEnd = r.end;
    expect = r.nextSeq;
    if (r.problem === null) return { nextSeq: expect, end: lastEnd };
    const next = findValidRecord(layer, fd, r.problem.position + 8, end, recordBytesMax, expect, seqEnd);
    onDamage({
      byteStart: r.problem.position,
      byteEnd: next?.position ?? end,
      seqFirst: expect,
      seqLast: next === null ? seqEnd - 1 : next.seq - 1,
      message: r.problem.message,
    });
    if (next === null) return { nextSeq: expect, end: lastEnd };
    pos = next.position;
    expect = next.seq;
  }
}
