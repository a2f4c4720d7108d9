/**
 * The frame of a Raft log segment file: one frame per persist call, so a
 * persist is durable whole or not at all (a torn frame fails its CRC).
 *
 *   off size field (little endian)
 *     0   4  magic u32 = 0x4e4c5246 ("FRLN" in file order)
 *     4   4  payloadLength u32 (1 .. FRAME_BYTES_MAX)
 *     8   4  payloadCrc u32: CRC-32 (IEEE) of the payload
 *    12   4  headerCrc u32: CRC-32 of bytes [0, 12)
 *    16   .  payload: the records (raft-disk-records.ts)
 *
 * scanSegment walks the frames of one segment file. A frame that fails any
 * check ends the scan at its offset; what that means is the caller's call:
 * in a sealed segment it is corruption; in the last segment it is a torn
 * tail only when no valid frame starts anywhere after it (a crash tears at
 * most the one frame being written, since every persist fsyncs before the
 * next one writes), otherwise it is corruption too (a flipped byte in an
 * acknowledged frame must never be truncated away silently).
 */
import { crc32 } from '../record/crc32.js';
import { FRAME_BYTES_MAX } from './raft-disk-limits.js';

export const FRAME_MAGIC = 0x4e4c5246;
export const FRAME_HEADER_BYTES = 16;

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, payload.length, true);
  view.setUint32(8, crc32(payload), true);
  view.setUint32(12, crc32(out, 0, 12), true);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** End offset of a valid frame at `off`, or a sentence saying why there is none. */
export function checkFrameAt(bytes: Uint8Array, off: number): number | string {
  if (bytes.length - off < FRAME_HEADER_BYTES) return `${bytes.length - off} bytes left, short of a frame header`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(off, true) !== FRAME_MAGIC) return 'no frame magic';
  if (view.getUint32(off + 12, true) !== crc32(bytes, off, off + 12)) return 'the frame header fails its CRC';
  const length = view.getUint32(off + 4, true);
  if (length < 1 || length > FRAME_BYTES_MAX) return `the frame length ${length} is out of bounds`;
  const end = off + FRAME_HEADER_BYTES + length;
  if (end > bytes.length) return `the frame ends at ${end}, past the end of the file (${bytes.length})`;
  if (view.getUint32(off + 8, true) !== crc32(bytes, off + FRAME_HEADER_BYTES, end)) return 'the frame payload fails its CRC';
  return end;
}

export interface ScannedFrame {
  readonly offset: number;
  readonly payload: Uint8Array;
}

export interface SegmentScan {
  readonly frames: ScannedFrame[];
  /** Length of the run of valid frames from byte 0. */
  readonly validBytes: number;
  /** Why the frame at validBytes is not valid; null when the scan reached the end of the file. */
  readonly badReason: string | null;
}

export function scanSegment(bytes: Uint8Array): SegmentScan {
  const frames: ScannedFrame[] = [];
  let off = 0;
  while (off < bytes.length) {
    const end = checkFrameAt(bytes, off);
    if (typeof end === 'string') return { frames, validBytes: off, badReason: end };
    frames.push({ offset: off, payload: bytes.subarray(off + FRAME_HEADER_BYTES, end) });
    off = end;
  }
  return { frames, validBytes: off, badReason: null };
}

/** Offset of the first valid frame starting after `from`, or -1 (tells a torn tail from damage before valid data). */
export function nextValidFrame(bytes: Uint8Array, from: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = from + 1; off + FRAME_HEADER_BYTES <= bytes.length; off++) {
    if (view.getUint32(off, true) !== FRAME_MAGIC) continue;
    if (typeof checkFrameAt(bytes, off) === 'number') return off;
  }
  return -1;
}
