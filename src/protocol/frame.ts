/**
 * Frame layout, protocol version 1 (docs/PROTOCOL.md repeats it). All
 * integers little-endian.
 *
 *   off size field
 *     0   4  frameLength u32   whole frame, these 4 bytes included
 *     4   1  version u8        protocol version (hello frames always 1)
 *     5   1  flags u8          bit 0 response, bit 1 error, bits 2-7 zero
 *     6   2  op u16            see ops.ts
 *     8   4  requestId u32     chosen by the requester, echoed in the response
 *    12   4  headerLength u32  msgpack control header bytes
 *    16   .  control header (msgpack), then zero padding to an 8-byte boundary
 *  body   .  raw record bytes, unencoded, up to frameLength
 *
 * body = align8(16 + headerLength), so a body that starts at an 8-aligned
 * address keeps every record (and every Block column) 8-aligned.
 */
import { Packr, Unpackr } from 'msgpackr';

export const FRAME_PREFIX_BYTES = 16;
export const OFF_FRAME_LENGTH = 0;
export const OFF_VERSION = 4;
export const OFF_FLAGS = 5;
export const OFF_OP = 6;
export const OFF_REQUEST_ID = 8;
export const OFF_HEADER_LENGTH = 12;

export const FLAG_RESPONSE = 0b01;
export const FLAG_ERROR = 0b10;
export const FLAGS_KNOWN = FLAG_RESPONSE | FLAG_ERROR;

export const REQUEST_ID_MAX = 0xffff_ffff;

/** A decoded frame: header and body are views, not copies. */
export interface Frame {
  version: number;
  flags: number;
  op: number;
  requestId: number;
  /** msgpack bytes of the control header. */
  header: Uint8Array;
  /** Raw record bytes. */
  body: Uint8Array;
}

/** What to send. */
export interface OutFrame {
  version: number;
  flags: number;
  op: number;
  requestId: number;
  /** Any msgpack-encodable value (usually an object). */
  header: unknown;
  /** Record bytes appended as they are, in order. */
  body?: Uint8Array[];
}

const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export function align8(n: number): number {
  return (n + 7) & ~7;
}

export function bodyOffset(headerLength: number): number {
  return align8(FRAME_PREFIX_BYTES + headerLength);
}

export function packHeader(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes a control header; throws on malformed msgpack or trailing bytes. */
export function unpackHeader(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return {};
  return unpackr.unpack(bytes);
}

/**
 * Encodes a frame as a list of buffers to write in order (writev): the prefix
 * with the header and padding, then the body parts untouched (zero copy).
 */
export function encodeFrame(f: OutFrame): Uint8Array[] {
  const header = packHeader(f.header);
  const start = bodyOffset(header.length);
  let bodyBytes = 0;
  for (const part of f.body ?? []) bodyBytes += part.length;
  const prefix = new Uint8Array(start);
  const dv = new DataView(prefix.buffer);
  dv.setUint32(OFF_FRAME_LENGTH, start + bodyBytes, true);
  dv.setUint8(OFF_VERSION, f.version);
  dv.setUint8(OFF_FLAGS, f.flags);
  dv.setUint16(OFF_OP, f.op, true);
  dv.setUint32(OFF_REQUEST_ID, f.requestId >>> 0, true);
  dv.setUint32(OFF_HEADER_LENGTH, header.length, true);
  prefix.set(header, FRAME_PREFIX_BYTES);
  return f.body === undefined || f.body.length === 0 ? [prefix] : [prefix, ...f.body];
}

/** The frame as one contiguous buffer (tests, small frames). */
export function encodeFrameBytes(f: OutFrame): Uint8Array {
  const parts = encodeFrame(f);
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
