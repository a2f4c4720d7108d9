/**
 * Allocation-free patch of a record's server fields (seq, appendTime, epoch,
 * serverCrc) for the append hot path. Same bytes as patchServerFields in
 * src/record/record.ts (test/storage/server-fields.test.ts proves it), but the
 * 20-byte CRC-32 is computed with a table in JavaScript instead of creating a
 * view for zlib.crc32, so patching a batch allocates nothing.
 */
import { OFF_EPOCH, OFF_SERVER_CRC, SERVER_CRC_START } from '../record/layout.js';
import { setI64, setU64 } from '../record/record.js';
import { OFF_APPEND_TIME, OFF_SEQ } from '../record/layout.js';

/** Slice-by-8 tables: T[k*256 + n] is the CRC of byte n followed by k zero bytes. */
const T = makeTables();

function makeTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

/**
 * CRC-32 (zlib polynomial) of bytes[start, end), without allocating
 * (slice-by-8 in JavaScript). Faster than a zlib.crc32 call below about
 * CRC_SMALL_BYTES_MAX bytes, where the native call's fixed cost dominates.
 */
export function crc32Small(bytes: Uint8Array, start: number, end: number): number {
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c =
      T[7 * 256 + (c & 0xff)]! ^
      T[6 * 256 + ((c >>> 8) & 0xff)]! ^
      T[5 * 256 + ((c >>> 16) & 0xff)]! ^
      T[4 * 256 + (c >>> 24)]! ^
      T[3 * 256 + bytes[i + 4]!]! ^
      T[2 * 256 + bytes[i + 5]!]! ^
      T[256 + bytes[i + 6]!]! ^
      T[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = T[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Writes seq, appendTime, epoch and serverCrc of the record at absolute offset `at` of the buffer behind dv/bytes. */
export function patchServerFieldsFast(bytes: Uint8Array, dv: DataView, at: number, seq: number, appendTime: number, epoch: number): void {
  setU64(dv, at + OFF_SEQ, seq);
  setI64(dv, at + OFF_APPEND_TIME, appendTime);
  dv.setUint32(at + OFF_EPOCH, epoch >>> 0, true);
  dv.setUint32(at + OFF_SERVER_CRC, crc32Small(bytes, at + SERVER_CRC_START, at + OFF_SERVER_CRC), true);
}
