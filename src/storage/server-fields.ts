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

const CRC_TABLE = makeTable();

function makeTable(): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

/** CRC-32 (zlib polynomial) of bytes[start, end), without allocating. For short ranges. */
export function crc32Small(bytes: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Writes seq, appendTime, epoch and serverCrc of the record at absolute offset `at` of the buffer behind dv/bytes. */
export function patchServerFieldsFast(bytes: Uint8Array, dv: DataView, at: number, seq: number, appendTime: number, epoch: number): void {
  setU64(dv, at + OFF_SEQ, seq);
  setI64(dv, at + OFF_APPEND_TIME, appendTime);
  dv.setUint32(at + OFF_EPOCH, epoch >>> 0, true);
  dv.setUint32(at + OFF_SERVER_CRC, crc32Small(bytes, at + SERVER_CRC_START, at + OFF_SERVER_CRC), true);
}
