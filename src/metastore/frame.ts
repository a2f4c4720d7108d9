/**
 * Framing of the MetaStore command log. Each entry is
 *
 *   off size field
 *     0   4  payloadLength u32 LE   (1 .. COMMAND_BYTES_MAX)
 *     4   4  payloadCrc u32 LE      CRC-32 of the payload
 *     8   4  headerCrc u32 LE       CRC-32 of bytes [0, 8)
 *    12   .  payload (msgpackr-encoded LogEntry)
 *
 * scanFrames tells a torn tail (a crash during the last append: dropped) from
 * corruption (damage before the tail: META_CORRUPT, never skipped). A frame is
 * torn only when nothing valid can follow it: its header is cut short, or its
 * intact header declares an end past the end of the file, or its payload CRC
 * fails and it ends exactly at the end of the file, or every byte from it to
 * the end of the file is zero (a file extended but never written).
 */
import { crc32 } from '../record/crc32.js';
import { COMMAND_BYTES_MAX } from './bounds.js';
import { MetaError } from './types.js';

export const FRAME_HEADER_BYTES = 12;

export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32(payload), true);
  view.setUint32(8, crc32(out, 0, 8), true);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

export interface ScanResult {
  /** Payloads of the whole, CRC-valid frames, in order, with their file offsets. */
  payloads: { offset: number; bytes: Uint8Array }[];
  /** Length of the valid prefix; bytes past it are a torn tail to truncate. */
  validBytes: number;
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function corrupt(offset: number, what: string): MetaError {
  return new MetaError('META_CORRUPT', `MetaStore command log is corrupt at byte ${offset}: ${what}.`);
}

/** Returns the end of the frame at `off`, or -1 when it is a torn tail; throws when it is corrupt. */
function checkFrame(bytes: Uint8Array, off: number): number {
  const size = bytes.length;
  if (size - off < FRAME_HEADER_BYTES || allZero(bytes, off)) return -1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(off, true);
  if (view.getUint32(off + 8, true) !== crc32(bytes, off, off + 8)) throw corrupt(off, 'the entry header fails its CRC');
  if (length < 1 || length > COMMAND_BYTES_MAX) throw corrupt(off, `the entry length ${length} is out of bounds`);
  const end = off + FRAME_HEADER_BYTES + length;
  if (end > size) return -1;
  if (view.getUint32(off + 4, true) !== crc32(bytes, off + FRAME_HEADER_BYTES, end)) {
    if (end === size) return -1;
    throw corrupt(off, 'the entry fails its CRC');
  }
  return end;
}

export function scanFrames(bytes: Uint8Array): ScanResult {
  const payloads: ScanResult['payloads'] = [];
  let off = 0;
  while (off < bytes.length) {
    const end = checkFrame(bytes, off);
    if (end < 0) break;
    payloads.push({ offset: off, bytes: bytes.subarray(off + FRAME_HEADER_BYTES, end) });
    off = end;
  }
  return { payloads, validBytes: off };
}
