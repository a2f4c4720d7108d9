/**
 * Encoding, validation, in-place patching and zero-copy decoding of records.
 * The byte layout is specified in ./layout.ts.
 */
import { crc32, firstBadRecordCrc } from './crc32.js';
import {
  ATTR_CODEC_MASK,
  ATTR_EVENT_TIME_IS_APPEND_TIME,
  ATTR_RESERVED_MASK,
  ATTR_TOMBSTONE,
  CODEC_MAX,
  CODEC_RAW,
  CRC_START,
  HEADERS_BYTES_MAX,
  KEY_BYTES_MAX,
  OFF_APPEND_TIME,
  OFF_ATTRIBUTES,
  OFF_CRC,
  OFF_EPOCH,
  OFF_EVENT_TIME_MAX,
  OFF_EVENT_TIME_MIN,
  OFF_HEADERS_LENGTH,
  OFF_KEY_LENGTH,
  OFF_LENGTH,
  OFF_MAGIC,
  OFF_PAYLOAD_LENGTH,
  OFF_PRODUCER_ID,
  OFF_PRODUCER_SEQ,
  OFF_RESERVED,
  OFF_ROW_COUNT,
  OFF_SCHEMA_VERSION,
  OFF_SEQ,
  OFF_SERVER_CRC,
  RECORD_BYTES_LIMIT,
  RECORD_HEADER_BYTES,
  RECORD_MAGIC_V1,
  SERVER_CRC_START,
  payloadOffset,
  recordLengthFor,
} from './layout.js';

export interface RecordHeader {
  name: string;
  value: Uint8Array;
}

/** What a producer supplies for one record. */
export interface RecordInput {
  payload: Uint8Array;
  key?: Uint8Array;
  headers?: RecordHeader[];
  /** Event time range in epoch ms; omitted = the record's append time. */
  eventTimeMin?: number;
  eventTimeMax?: number;
  codec?: number;
  tombstone?: boolean;
  schemaVersion?: number;
  rowCount?: number;
  producerId?: number;
  producerSeq?: number;
}

/** A record read from bytes; key, headers and payload are views, not copies. */
export interface DecodedRecord {
  length: number;
  crc: number;
  seq: number;
  appendTime: number;
  epoch: number;
  codec: number;
  tombstone: boolean;
  schemaVersion: number;
  rowCount: number;
  /** Resolved: equal to appendTime when the producer left event time unset. */
  eventTimeMin: number;
  eventTimeMax: number;
  producerId: number;
  producerSeq: number;
  key: Uint8Array;
  headers: RecordHeader[];
  payload: Uint8Array;
}

/** Why a run of bytes is not a valid record. Stable codes, used in errors and tests. */
export type RecordProblem =
  | 'short-header'
  | 'bad-length'
  | 'beyond-buffer'
  | 'bad-magic'
  | 'bad-attributes'
  | 'bad-lengths'
  | 'bad-crc'
  | 'bad-server-crc'
  | 'too-large';

export class RecordError extends Error {
  constructor(readonly problem: RecordProblem, message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

const TWO_32 = 0x1_0000_0000;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a u64 as a number; callers keep values below 2^53. */
export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * TWO_32;
}

export function setU64(dv: DataView, off: number, value: number): void {
  dv.setUint32(off, value >>> 0, true);
  dv.setUint32(off + 4, Math.floor(value / TWO_32) >>> 0, true);
}

/** Reads an i64 as a number (epoch ms fit easily). */
export function getI64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getInt32(off + 4, true) * TWO_32;
}

export function setI64(dv: DataView, off: number, value: number): void {
  dv.setUint32(off, value >>> 0, true);
  dv.setInt32(off + 4, Math.floor(value / TWO_32) | 0, true);
}

function headersByteLength(headers: RecordHeader[] | undefined): number {
  if (headers === undefined) return 0;
  let n = 0;
  for (const h of headers) n += 2 + textEncoder.encode(h.name).length + 4 + h.value.length;
  return n;
}

/** Bytes the encoded record will take. */
export function encodedRecordLength(input: RecordInput): number {
  return recordLengthFor(input.key?.length ?? 0, headersByteLength(input.headers), input.payload.length);
}

const EMPTY_BYTES = new Uint8Array(0);

/**
 * Writes one record at bytes[offset...] and returns its length. The server
 * fields (bytes 8..32) are left zero for the node to patch.
 *
 * Every byte of the record is written (fields, zero server fields and
 * reserved bytes, zero padding), so the buffer need not be zeroed first.
 * To encode many records into one buffer, a RecordWriter spares the
 * DataView per record.
 */
export function encodeRecordInto(bytes: Uint8Array, offset: number, input: RecordInput): number {
  return encodeAt(bytes, dataViewOf(bytes), offset, input);
}

/**
 * Encodes records into one buffer through one DataView over it (made here,
 * so it always matches the bytes), instead of a DataView per record. The
 * bytes are the same as encodeRecordInto's.
 */
export class RecordWriter {
  readonly dv: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.dv = dataViewOf(bytes);
  }

  /** Writes one record at bytes[offset...] and returns its length (as encodeRecordInto). */
  encode(offset: number, input: RecordInput): number {
    return encodeAt(this.bytes, this.dv, offset, input);
  }
}

/** encodeRecordInto with `dv` a DataView over exactly `bytes` (the caller guarantees it: checking costs more than the view). */
function encodeAt(bytes: Uint8Array, dv: DataView, offset: number, input: RecordInput): number {
  const key = input.key ?? EMPTY_BYTES;
  const headers = input.headers;
  const headersLength = headers === undefined || headers.length === 0 ? 0 : headersByteLength(headers);
  if (key.length > KEY_BYTES_MAX) throw new RangeError(`key is ${key.length} bytes; the limit is ${KEY_BYTES_MAX}`);
  if (headersLength > HEADERS_BYTES_MAX) {
    throw new RangeError(`headers take ${headersLength} bytes; the limit is ${HEADERS_BYTES_MAX}`);
  }
  const payload = input.payload;
  const length = recordLengthFor(key.length, headersLength, payload.length);
  if (length > RECORD_BYTES_LIMIT) throw new RangeError(`record is ${length} bytes; the format limit is ${RECORD_BYTES_LIMIT}`);
  if (offset < 0 || offset + length > bytes.length) throw new RangeError(`record needs ${length} bytes at ${offset}; buffer has ${bytes.length}`);
  const codec = input.codec ?? CODEC_RAW;
  if (codec < 0 || codec > CODEC_MAX) throw new RangeError(`unknown codec ${codec}`);
  const eventTimeSet = input.eventTimeMin !== undefined;
  const eventMin = input.eventTimeMin ?? 0;
  const eventMax = input.eventTimeMax ?? eventMin;
  if (eventMax < eventMin) throw new RangeError(`eventTimeMax ${eventMax} is before eventTimeMin ${eventMin}`);
  let attributes = codec;
  if (input.tombstone === true) attributes |= ATTR_TOMBSTONE;
  if (!eventTimeSet) attributes |= ATTR_EVENT_TIME_IS_APPEND_TIME;
  const o = offset;
  dv.setUint32(o + OFF_LENGTH, length, true);
  dv.setUint32(o + OFF_CRC, 0, true);
  // Server fields [8, 32): zero, for the node to patch.
  dv.setUint32(o + OFF_SEQ, 0, true);
  dv.setUint32(o + OFF_SEQ + 4, 0, true);
  dv.setUint32(o + OFF_APPEND_TIME, 0, true);
  dv.setUint32(o + OFF_APPEND_TIME + 4, 0, true);
  dv.setUint32(o + OFF_EPOCH, 0, true);
  dv.setUint32(o + OFF_SERVER_CRC, 0, true);
  dv.setUint8(o + OFF_MAGIC, RECORD_MAGIC_V1);
  dv.setUint8(o + OFF_ATTRIBUTES, attributes);
  dv.setUint16(o + OFF_SCHEMA_VERSION, input.schemaVersion ?? 0, true);
  dv.setUint32(o + OFF_ROW_COUNT, input.rowCount ?? 1, true);
  setI64(dv, o + OFF_EVENT_TIME_MIN, eventMin);
  setI64(dv, o + OFF_EVENT_TIME_MAX, eventMax);
  setU64(dv, o + OFF_PRODUCER_ID, input.producerId ?? 0);
  dv.setUint32(o + OFF_PRODUCER_SEQ, input.producerSeq ?? 0, true);
  dv.setUint16(o + OFF_KEY_LENGTH, key.length, true);
  dv.setUint16(o + OFF_RESERVED, 0, true);
  dv.setUint32(o + OFF_HEADERS_LENGTH, headersLength, true);
  dv.setUint32(o + OFF_PAYLOAD_LENGTH, payload.length, true);
  let pos = o + RECORD_HEADER_BYTES;
  if (key.length > 0) {
    bytes.set(key, pos);
    pos += key.length;
  }
  if (headersLength > 0) {
    for (const h of headers!) {
      const name = textEncoder.encode(h.name);
      if (name.length > 0xffff) throw new RangeError(`header name is ${name.length} bytes; the limit is 65535`);
      dv.setUint16(pos, name.length, true);
      bytes.set(name, pos + 2);
      pos += 2 + name.length;
      dv.setUint32(pos, h.value.length, true);
      bytes.set(h.value, pos + 4);
      pos += 4 + h.value.length;
    }
  }
  const payloadStart = o + payloadOffset(key.length, headersLength);
  while (pos < payloadStart) bytes[pos++] = 0;
  bytes.set(payload, payloadStart);
  pos = payloadStart + payload.length;
  const end = o + length;
  while (pos < end) bytes[pos++] = 0;
  dv.setUint32(o + OFF_CRC, crc32(bytes, o + CRC_START, end), true);
  return length;
}

/** Encodes one record into a fresh buffer. */
export function encodeRecord(input: RecordInput): Uint8Array {
  const bytes = new Uint8Array(encodedRecordLength(input));
  encodeRecordInto(bytes, 0, input);
  return bytes;
}

/**
 * Checks the record at dv[offset...] without trusting any of its bytes:
 * every length is bounds-checked before it is used. Returns the record length.
 * `end` is the first byte past the readable region (defaults to the view end).
 * With `checkServerCrc`, also checks serverCrc (for records the node patched).
 */
export function validateRecord(
  dv: DataView,
  offset: number,
  end: number = dv.byteLength,
  recordBytesMax: number = RECORD_BYTES_LIMIT,
  checkServerCrc = false,
): number {
  const problem = recordProblem(dv, offset, end, recordBytesMax, checkServerCrc);
  if (typeof problem === 'number') return problem;
  throw new RecordError(problem[0], problem[1]);
}

/** validateRecord without the CRCs, for a record a crcsPassedEnd run covers: throws RecordError, or returns the record length. */
export function validateStructure(dv: DataView, offset: number, end: number = dv.byteLength, recordBytesMax: number = RECORD_BYTES_LIMIT): number {
  const problem = structuralProblem(dv, offset, end, recordBytesMax);
  if (typeof problem === 'number') return problem;
  throw new RecordError(problem[0], problem[1]);
}

/**
 * Like validateRecord but returns [problem, message] instead of throwing (for
 * scans that meet torn tails routinely), or the record length when valid.
 */
export function recordProblem(
  dv: DataView,
  offset: number,
  end: number = dv.byteLength,
  recordBytesMax: number = RECORD_BYTES_LIMIT,
  checkServerCrc = false,
): number | [RecordProblem, string] {
  const length = structuralProblem(dv, offset, end, recordBytesMax);
  if (typeof length !== 'number') return length;
  // One view per CRC (crc32 takes a whole view as it is, no further copy or view).
  const expected = dv.getUint32(offset + OFF_CRC, true);
  const actual = crc32(new Uint8Array(dv.buffer, dv.byteOffset + offset + CRC_START, length - CRC_START));
  if (actual !== expected) {
    return ['bad-crc', `record at ${offset} fails its CRC (stored 0x${expected.toString(16)}, computed 0x${actual.toString(16)})`];
  }
  if (checkServerCrc) {
    const storedServer = dv.getUint32(offset + OFF_SERVER_CRC, true);
    const computedServer = crc32(new Uint8Array(dv.buffer, dv.byteOffset + offset + SERVER_CRC_START, OFF_SERVER_CRC - SERVER_CRC_START));
    if (storedServer !== computedServer) {
      return ['bad-server-crc', `record at ${offset} fails its server-field CRC (seq/appendTime/epoch damaged)`];
    }
  }
  return length;
}

/**
 * The end of the run of whole records from offset whose producer CRCs pass,
 * all checked in one native call (firstBadRecordCrc of ./crc32.ts), so that
 * a reader of many records need not call crc32() per record; offset itself
 * where the addon is absent. The native walk follows the same length fields
 * from the same start as the caller's, so a record at or past offset that
 * ends by the returned position has passed its CRC; the caller still checks
 * its structure (structuralProblem) and, for stored records, its serverCrc.
 */
export function crcsPassedEnd(bytes: Uint8Array, offset: number, end: number): number {
  if (firstBadRecordCrc === undefined) return offset;
  const bad = firstBadRecordCrc(bytes, offset, end, OFF_LENGTH, OFF_CRC, CRC_START);
  return bad < 0 ? end : bad;
}

/**
 * Everything validateRecord checks except the CRCs: every length is
 * bounds-checked before use. Returns the record length or [problem, message].
 * The storage engine's append path calls this, then its own CRC check.
 */
export function structuralProblem(
  dv: DataView,
  offset: number,
  end: number = dv.byteLength,
  recordBytesMax: number = RECORD_BYTES_LIMIT,
): number | [RecordProblem, string] {
  if (end > dv.byteLength) end = dv.byteLength;
  if (offset < 0 || offset + RECORD_HEADER_BYTES > end) {
    return ['short-header', `record header at ${offset} needs ${RECORD_HEADER_BYTES} bytes; only ${Math.max(0, end - offset)} remain`];
  }
  const length = dv.getUint32(offset + OFF_LENGTH, true);
  if (length < RECORD_HEADER_BYTES || length % 8 !== 0) {
    return ['bad-length', `record at ${offset} has invalid length ${length}`];
  }
  if (length > recordBytesMax) {
    return ['too-large', `record at ${offset} is ${length} bytes; the limit is ${recordBytesMax}`];
  }
  if (offset + length > end) {
    return ['beyond-buffer', `record at ${offset} claims ${length} bytes; only ${end - offset} remain`];
  }
  if (dv.getUint8(offset + OFF_MAGIC) !== RECORD_MAGIC_V1) {
    return ['bad-magic', `record at ${offset} has magic ${dv.getUint8(offset + OFF_MAGIC)}, expected ${RECORD_MAGIC_V1}`];
  }
  const attributes = dv.getUint8(offset + OFF_ATTRIBUTES);
  if ((attributes & ATTR_RESERVED_MASK) !== 0 || (attributes & ATTR_CODEC_MASK) > CODEC_MAX) {
    return ['bad-attributes', `record at ${offset} has invalid attributes 0x${attributes.toString(16)}`];
  }
  const keyLength = dv.getUint16(offset + OFF_KEY_LENGTH, true);
  const headersLength = dv.getUint32(offset + OFF_HEADERS_LENGTH, true);
  const payloadLength = dv.getUint32(offset + OFF_PAYLOAD_LENGTH, true);
  if (
    headersLength > HEADERS_BYTES_MAX ||
    payloadLength > length ||
    recordLengthFor(keyLength, headersLength, payloadLength) !== length ||
    dv.getUint16(offset + OFF_RESERVED, true) !== 0
  ) {
    return ['bad-lengths', `record at ${offset}: key ${keyLength}, headers ${headersLength}, payload ${payloadLength} do not add up to length ${length}`];
  }
  const headersStart = offset + RECORD_HEADER_BYTES + keyLength;
  if (!headersWellFormed(dv, headersStart, headersStart + headersLength)) {
    return ['bad-lengths', `record at ${offset}: its headers are not a well-formed run of entries`];
  }
  return length;
}

/** The node's in-place patch: sequence number, append time, epoch and their CRC. */
export function patchServerFields(dv: DataView, offset: number, seq: number, appendTime: number, epoch: number): void {
  setU64(dv, offset + OFF_SEQ, seq);
  setI64(dv, offset + OFF_APPEND_TIME, appendTime);
  dv.setUint32(offset + OFF_EPOCH, epoch >>> 0, true);
  const bytes = new Uint8Array(dv.buffer, dv.byteOffset + offset + SERVER_CRC_START, OFF_SERVER_CRC - SERVER_CRC_START);
  dv.setUint32(offset + OFF_SERVER_CRC, crc32(bytes), true);
}

export function recordLength(dv: DataView, offset: number): number {
  return dv.getUint32(offset + OFF_LENGTH, true);
}

export function recordSeq(dv: DataView, offset: number): number {
  return getU64(dv, offset + OFF_SEQ);
}

export function recordAppendTime(dv: DataView, offset: number): number {
  return getI64(dv, offset + OFF_APPEND_TIME);
}

/** Event time min, resolved to the append time when the producer left it unset. */
export function recordEventTimeMin(dv: DataView, offset: number): number {
  if ((dv.getUint8(offset + OFF_ATTRIBUTES) & ATTR_EVENT_TIME_IS_APPEND_TIME) !== 0) return recordAppendTime(dv, offset);
  return getI64(dv, offset + OFF_EVENT_TIME_MIN);
}

/** Event time max, resolved to the append time when the producer left it unset. */
export function recordEventTimeMax(dv: DataView, offset: number): number {
  if ((dv.getUint8(offset + OFF_ATTRIBUTES) & ATTR_EVENT_TIME_IS_APPEND_TIME) !== 0) return recordAppendTime(dv, offset);
  return getI64(dv, offset + OFF_EVENT_TIME_MAX);
}

export function recordProducer(dv: DataView, offset: number): { producerId: number; producerSeq: number } {
  return { producerId: getU64(dv, offset + OFF_PRODUCER_ID), producerSeq: dv.getUint32(offset + OFF_PRODUCER_SEQ, true) };
}

/**
 * Decodes the record at bytes[offset...] (validated first). Key and payload
 * are subarray views of `bytes`: nothing is copied.
 */
export function decodeRecord(bytes: Uint8Array, offset = 0, recordBytesMax: number = RECORD_BYTES_LIMIT): DecodedRecord {
  const dv = dataViewOf(bytes);
  const length = validateRecord(dv, offset, bytes.length, recordBytesMax);
  const attributes = dv.getUint8(offset + OFF_ATTRIBUTES);
  const keyLength = dv.getUint16(offset + OFF_KEY_LENGTH, true);
  const headersLength = dv.getUint32(offset + OFF_HEADERS_LENGTH, true);
  const payloadLength = dv.getUint32(offset + OFF_PAYLOAD_LENGTH, true);
  const keyStart = offset + RECORD_HEADER_BYTES;
  const payloadStart = offset + payloadOffset(keyLength, headersLength);
  const appendTime = getI64(dv, offset + OFF_APPEND_TIME);
  const eventTimeIsAppendTime = (attributes & ATTR_EVENT_TIME_IS_APPEND_TIME) !== 0;
  return {
    length,
    crc: dv.getUint32(offset + OFF_CRC, true),
    seq: getU64(dv, offset + OFF_SEQ),
    appendTime,
    epoch: dv.getUint32(offset + OFF_EPOCH, true),
    codec: attributes & ATTR_CODEC_MASK,
    tombstone: (attributes & ATTR_TOMBSTONE) !== 0,
    schemaVersion: dv.getUint16(offset + OFF_SCHEMA_VERSION, true),
    rowCount: dv.getUint32(offset + OFF_ROW_COUNT, true),
    eventTimeMin: eventTimeIsAppendTime ? appendTime : getI64(dv, offset + OFF_EVENT_TIME_MIN),
    eventTimeMax: eventTimeIsAppendTime ? appendTime : getI64(dv, offset + OFF_EVENT_TIME_MAX),
    producerId: getU64(dv, offset + OFF_PRODUCER_ID),
    producerSeq: dv.getUint32(offset + OFF_PRODUCER_SEQ, true),
    key: bytes.subarray(keyStart, keyStart + keyLength),
    headers: headersLength === 0 ? [] : decodeHeaders(dv, keyStart + keyLength, headersLength),
    payload: bytes.subarray(payloadStart, payloadStart + payloadLength),
  };
}

/** True when [start, end) is exactly a run of (u16 name length, name, u32 value length, value). */
function headersWellFormed(dv: DataView, start: number, end: number): boolean {
  let pos = start;
  while (pos < end) {
    if (pos + 2 > end) return false;
    pos += 2 + dv.getUint16(pos, true);
    if (pos + 4 > end) return false;
    pos += 4 + dv.getUint32(pos, true);
  }
  return pos === end;
}

/** Decodes the headers run at dv[start, start + length) (a validated record's); values are views. */
export function decodeHeaders(dv: DataView, start: number, length: number): RecordHeader[] {
  const headers: RecordHeader[] = [];
  const end = start + length;
  let pos = start;
  while (pos < end) {
    if (pos + 2 > end) throw new RecordError('bad-lengths', `header entry at ${pos} is cut short`);
    const nameLength = dv.getUint16(pos, true);
    if (pos + 2 + nameLength + 4 > end) throw new RecordError('bad-lengths', `header name at ${pos} overruns the headers`);
    const nameBytes = new Uint8Array(dv.buffer, dv.byteOffset + pos + 2, nameLength);
    pos += 2 + nameLength;
    const valueLength = dv.getUint32(pos, true);
    if (pos + 4 + valueLength > end) throw new RecordError('bad-lengths', `header value at ${pos} overruns the headers`);
    let name: string;
    try {
      name = textDecoder.decode(nameBytes);
    } catch {
      throw new RecordError('bad-lengths', `header name at ${pos} is not UTF-8`);
    }
    headers.push({ name, value: new Uint8Array(dv.buffer, dv.byteOffset + pos + 4, valueLength) });
    pos += 4 + valueLength;
  }
  return headers;
}

/**
 * Walks a run of concatenated records in bytes[start, end), validating each,
 * calling fn(offset, length). Throws RecordError on the first bad record.
 * Returns the number of records.
 */
export function forEachRecord(
  bytes: Uint8Array,
  fn: (offset: number, length: number) => void,
  start = 0,
  end = bytes.length,
  recordBytesMax: number = RECORD_BYTES_LIMIT,
): number {
  const dv = dataViewOf(bytes);
  let pos = start;
  let count = 0;
  while (pos < end) {
    const length = validateRecord(dv, pos, end, recordBytesMax);
    fn(pos, length);
    pos += length;
    count++;
  }
  return count;
}
