/**
 * The sparse index of one segment: `<baseSeq>.index`. It holds the shard's
 * three indexes (seq -> file position, append time -> seq, event time -> seq)
 * as columns of one run of entries that share their sample points. An entry
 * is added for the first record of the segment and then for the first record
 * that starts at least indexIntervalBytes after the previous entry's record.
 *
 * File format: a bare array of 32-byte entries, no header (append-only, so the
 * active segment's index grows by whole entries). All little-endian:
 *
 *   off size field
 *     0   4  relSeq u32          seq - baseSeq of the sampled record
 *     4   4  position u32        byte offset of that record in the .log file
 *     8   8  appendTimeMax i64   max append time of records [base, seq] (epoch ms)
 *    16   8  eventTimeMax i64    max eventTimeMax of records [base, seq] (epoch ms)
 *    24   4  crc u32             CRC-32 of bytes [0, 24) of this entry
 *    28   4  reserved u32 = 0
 *
 * The time columns hold the running maximum within the segment, so they are
 * non-decreasing even though event times are not. "Lowest seq whose event
 * time >= T" is exactly "lowest seq whose running max >= T" (the running max
 * first reaches T at a record whose own value is >= T), which a binary search
 * over the entries narrows to one index interval, then a scan finishes.
 *
 * The .log file is the only source of truth: an index that is missing, has a
 * bad entry CRC, is not strictly increasing, points outside the segment, or
 * has fewer entries than the recovery checkpoint says, is rebuilt from the log.
 */
import { dataViewOf, getI64, setI64 } from '../record/record.js';
import { crc32Small } from './server-fields.js';

export const INDEX_ENTRY_BYTES = 32;
const OFF_REL_SEQ = 0;
const OFF_POSITION = 4;
const OFF_APPEND_TIME_MAX = 8;
const OFF_EVENT_TIME_MAX = 16;
const OFF_ENTRY_CRC = 24;
const OFF_ENTRY_RESERVED = 28;
const ENTRY_CRC_END = 24;
const INITIAL_CAPACITY = 64;

/** An in-memory sparse index; `persisted` entries are already in the file. */
export class SparseIndex {
  count = 0;
  persisted = 0;
  relSeq = new Uint32Array(INITIAL_CAPACITY);
  position = new Uint32Array(INITIAL_CAPACITY);
  appendTimeMax = new Float64Array(INITIAL_CAPACITY);
  eventTimeMax = new Float64Array(INITIAL_CAPACITY);

  constructor(capacity = INITIAL_CAPACITY) {
    if (capacity > INITIAL_CAPACITY) {
      this.relSeq = new Uint32Array(capacity);
      this.position = new Uint32Array(capacity);
      this.appendTimeMax = new Float64Array(capacity);
      this.eventTimeMax = new Float64Array(capacity);
    }
  }

  add(relSeq: number, position: number, appendTimeMax: number, eventTimeMax: number): void {
    if (this.count === this.relSeq.length) this.grow();
    const i = this.count;
    if (i > 0 && (relSeq <= this.relSeq[i - 1]! || position <= this.position[i - 1]!)) {
      throw new Error(`index entry ${relSeq}@${position} does not follow ${this.relSeq[i - 1]}@${this.position[i - 1]}`);
    }
    this.relSeq[i] = relSeq;
    this.position[i] = position;
    this.appendTimeMax[i] = appendTimeMax;
    this.eventTimeMax[i] = eventTimeMax;
    this.count = i + 1;
  }

  /** Bytes of memory its columns take (capacity, not count). */
  memoryBytes(): number {
    return this.relSeq.byteLength + this.position.byteLength + this.appendTimeMax.byteLength + this.eventTimeMax.byteLength;
  }

  /** Drops entries from i on (recovery truncation). */
  truncateTo(count: number): void {
    this.count = Math.min(this.count, count);
    this.persisted = Math.min(this.persisted, this.count);
  }

  lastPosition(): number {
    return this.count === 0 ? -1 : this.position[this.count - 1]!;
  }

  /** Largest i with relSeq[i] <= rel, or -1. */
  floorByRelSeq(rel: number): number {
    return lastIndexWhere(this.count, (i) => this.relSeq[i]! <= rel);
  }

  /** Largest i with appendTimeMax[i] < t, or -1. */
  lastBelowAppendTime(t: number): number {
    return lastIndexWhere(this.count, (i) => this.appendTimeMax[i]! < t);
  }

  /** Largest i with eventTimeMax[i] < t, or -1. */
  lastBelowEventTime(t: number): number {
    return lastIndexWhere(this.count, (i) => this.eventTimeMax[i]! < t);
  }

  /** Entries [from, to) in file format. */
  encode(from: number, to: number): Uint8Array {
    const bytes = new Uint8Array((to - from) * INDEX_ENTRY_BYTES);
    const dv = dataViewOf(bytes);
    for (let i = from; i < to; i++) {
      const o = (i - from) * INDEX_ENTRY_BYTES;
      dv.setUint32(o + OFF_REL_SEQ, this.relSeq[i]!, true);
      dv.setUint32(o + OFF_POSITION, this.position[i]!, true);
      setI64(dv, o + OFF_APPEND_TIME_MAX, this.appendTimeMax[i]!);
      setI64(dv, o + OFF_EVENT_TIME_MAX, this.eventTimeMax[i]!);
      dv.setUint32(o + OFF_ENTRY_CRC, crc32Small(bytes, o, o + ENTRY_CRC_END), true);
    }
    return bytes;
  }

  private grow(): void {
    const n = this.relSeq.length * 2;
    this.relSeq = copyGrow(this.relSeq, new Uint32Array(n));
    this.position = copyGrow(this.position, new Uint32Array(n));
    this.appendTimeMax = copyGrow(this.appendTimeMax, new Float64Array(n));
    this.eventTimeMax = copyGrow(this.eventTimeMax, new Float64Array(n));
  }
}

function copyGrow<T extends Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Largest i in [0, n) for which pred holds, given pred is true on a prefix; -1 if none. */
function lastIndexWhere(n: number, pred: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export interface DecodedIndex {
  index: SparseIndex;
  /** null when every entry was valid; otherwise why decoding stopped (entries before it are kept). */
  problem: string | null;
}

/**
 * Decodes index file bytes, keeping the longest valid prefix of entries:
 * CRC-valid, reserved zero, strictly increasing relSeq and position, first
 * entry at (0, 0), positions below segmentBytes, times non-decreasing.
 */
export function decodeIndex(bytes: Uint8Array, segmentBytes: number): DecodedIndex {
  const whole = Math.floor(bytes.length / INDEX_ENTRY_BYTES);
  const index = new SparseIndex(whole);
  const dv = dataViewOf(bytes);
  for (let i = 0; i < whole; i++) {
    const o = i * INDEX_ENTRY_BYTES;
    const problem = entryProblem(dv, bytes, o, index, segmentBytes);
    if (problem !== null) return { index, problem: `index entry ${i}: ${problem}` };
    index.add(
      dv.getUint32(o + OFF_REL_SEQ, true),
      dv.getUint32(o + OFF_POSITION, true),
      getI64(dv, o + OFF_APPEND_TIME_MAX),
      getI64(dv, o + OFF_EVENT_TIME_MAX),
    );
  }
  index.persisted = index.count;
  const rest = bytes.length - whole * INDEX_ENTRY_BYTES;
  return { index, problem: rest === 0 ? null : `index file ends with a partial entry of ${rest} bytes` };
}

function entryProblem(dv: DataView, bytes: Uint8Array, o: number, prev: SparseIndex, segmentBytes: number): string | null {
  if (dv.getUint32(o + OFF_ENTRY_CRC, true) !== crc32Small(bytes, o, o + ENTRY_CRC_END)) return 'bad crc';
  if (dv.getUint32(o + OFF_ENTRY_RESERVED, true) !== 0) return 'reserved bytes not zero';
  const rel = dv.getUint32(o + OFF_REL_SEQ, true);
  const pos = dv.getUint32(o + OFF_POSITION, true);
  if (pos >= segmentBytes) return `position ${pos} is past the segment end ${segmentBytes}`;
  const n = prev.count;
  if (n === 0) return rel === 0 && pos === 0 ? null : 'first entry is not (0, 0)';
  if (rel <= prev.relSeq[n - 1]! || pos <= prev.position[n - 1]!) return 'not strictly increasing';
  if (getI64(dv, o + OFF_APPEND_TIME_MAX) < prev.appendTimeMax[n - 1]!) return 'append time decreases';
  if (getI64(dv, o + OFF_EVENT_TIME_MAX) < prev.eventTimeMax[n - 1]!) return 'event time max decreases';
  return null;
}
