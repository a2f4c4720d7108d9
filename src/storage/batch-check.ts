/**
 * Checks of one record in an append batch: the same rules as recordProblem
 * (src/record/record.ts), arranged for the hot path (one view allocated per
 * record, for zlib.crc32). structuralProblem alone serves callers that have
 * verified record CRCs elsewhere (ShardStoreOptions.verifyAppendCrc = false):
 * every length is bounds-checked, but the CRC is not computed. Reads still
 * verify every CRC, so a damaged record is never served.
 */
import { crc32 } from '../record/crc32.js';
import { CRC_START, OFF_CRC, OFF_SERVER_CRC, SERVER_CRC_START } from '../record/layout.js';
import { crcsPassedEnd, structuralProblem, type RecordProblem } from '../record/record.js';

export { crcsPassedEnd, structuralProblem };
import { crc32Small } from './server-fields.js';

/** Below this many CRC'd bytes the JavaScript CRC beats a zlib.crc32 call (measured: equal near 256 bytes). */
export const CRC_SMALL_BYTES_MAX = 192;

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

/**
 * appendProblem plus the serverCrc over seq/appendTime/epoch: the check for
 * records read back from a segment. crcPassed: the producer CRC was checked
 * already (the record ends within a crcsPassedEnd run); structure and
 * serverCrc are still checked.
 */
export function storedRecordProblem(u8: Uint8Array, dv: DataView, offset: number, end: number, recordBytesMax: number, crcPassed = false): number | [RecordProblem, string] {
  const length = crcPassed ? structuralProblem(dv, offset, end, recordBytesMax) : appendProblem(u8, dv, offset, end, recordBytesMax);
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
