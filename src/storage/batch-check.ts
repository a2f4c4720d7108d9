/**
 * Checks of one record in an append batch: the same rules as recordProblem
 * (src/record/record.ts), arranged for the hot path (one view allocated per
 * record, for zlib.crc32). structuralProblem alone serves callers that have
 * verified record CRCs elsewhere (ShardStoreOptions.verifyAppendCrc = false):
 * every length is bounds-checked, but the CRC is not computed. Reads still
 * verify every CRC, so a damaged record is never served.
 */
import { crc32 } from '../record/crc32.js';
import {
  ATTR_CODEC_MASK,
  CRC_START,
  OFF_CRC,
  ATTR_RESERVED_MASK,
  CODEC_MAX,
  HEADERS_BYTES_MAX,
  OFF_ATTRIBUTES,
  OFF_HEADERS_LENGTH,
  OFF_KEY_LENGTH,
  OFF_MAGIC,
  OFF_PAYLOAD_LENGTH,
  OFF_RESERVED,
  OFF_SERVER_CRC,
  SERVER_CRC_START,
  RECORD_HEADER_BYTES,
  RECORD_MAGIC_V1,
  recordLengthFor,
} from '../record/layout.js';
import type { RecordProblem } from '../record/record.js';
import { crc32Small } from './server-fields.js';

/** Below this many CRC'd bytes the JavaScript CRC beats a zlib.crc32 call (measured: equal near 256 bytes). */
export const CRC_SMALL_BYTES_MAX = 192;

/** The record length, or [problem, message], checking everything but the CRC. */
export function structuralProblem(dv: DataView, offset: number, end: number, recordBytesMax: number): number | [RecordProblem, string] {
  if (offset + RECORD_HEADER_BYTES > end) return ['short-header', `record header at ${offset} needs ${RECORD_HEADER_BYTES} bytes; only ${Math.max(0, end - offset)} remain`];
  const length = dv.getUint32(offset, true);
  if (length < RECORD_HEADER_BYTES || length % 8 !== 0) return ['bad-length', `record at ${offset} has invalid length ${length}`];
  if (length > recordBytesMax) return ['too-large', `record at ${offset} is ${length} bytes; the limit is ${recordBytesMax}`];
  if (offset + length > end) return ['beyond-buffer', `record at ${offset} claims ${length} bytes; only ${end - offset} remain`];
  if (dv.getUint8(offset + OFF_MAGIC) !== RECORD_MAGIC_V1) return ['bad-magic', `record at ${offset} has magic ${dv.getUint8(offset + OFF_MAGIC)}`];
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
  if (headersLength > 0 && !headersWellFormed(dv, headersStart, headersStart + headersLength)) {
    return ['bad-lengths', `record at ${offset}: its headers are not a well-formed run of entries`];
  }
  return length;
}

/** The record length, or [problem, message]: structure and the producer CRC (small records: no allocation; others: one view for zlib.crc32). */
export function appendProblem(u8: Uint8Array, dv: DataView, offset: number, end: number, recordBytesMax: number): number | [RecordProblem, string] {
  const length = structuralProblem(dv, offset, end, recordBytesMax);
  if (typeof length !== 'number') return length;
  const expected = dv.getUint32(offset + OFF_CRC, true);
  const n = length - CRC_START;
  const actual = n <= CRC_SMALL_BYTES_MAX ? crc32Small(u8, offset + CRC_START, offset + length) : crc32(u8, offset + CRC_START, offset + length);
  if (actual !== expected) return ['bad-crc', `record at ${offset} fails its CRC (stored 0x${expected.toString(16)}, computed 0x${actual.toString(16)})`];
  return length;
}

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

/** appendProblem plus the serverCrc over seq/appendTime/epoch: the check for records read back from a segment. */
export function storedRecordProblem(u8: Uint8Array, dv: DataView, offset: number, end: number, recordBytesMax: number): number | [RecordProblem, string] {
  const length = appendProblem(u8, dv, offset, end, recordBytesMax);
  if (typeof length !== 'number') return length;
  if (dv.getUint32(offset + OFF_SERVER_CRC, true) !== crc32Small(u8, offset + SERVER_CRC_START, offset + OFF_SERVER_CRC)) {
    return ['bad-server-crc', `record at ${offset} fails its server-field CRC (seq/appendTime/epoch damaged)`];
  }
  return length;
}

/** True when [start, end) is a run of whole records that all pass appendProblem (a unit of parallel CRC work). */
export function runPasses(u8: Uint8Array, dv: DataView, start: number, end: number, recordBytesMax: number): boolean {
  let pos = start;
  while (pos < end) {
    const p = appendProblem(u8, dv, pos, end, recordBytesMax);
    if (typeof p !== 'number') return false;
    pos += p;
  }
  return pos === end;
}
