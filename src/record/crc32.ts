/**
 * CRC-32 (IEEE 802.3, polynomial 0xEDB88320, the zlib/PNG/Ethernet CRC) of
 * record bytes.
 *
 * The hot path uses Node's built-in zlib.crc32 (native, present from Node
 * 20.15/22.2) when it exists; the crc-32 package computes the same function in
 * JavaScript and is the fallback. test/record/crc32.test.ts proves they agree.
 */
import * as zlib from 'node:zlib';
import CRC32 from 'crc-32';

type Crc32Fn = (data: Uint8Array, value?: number) => number;

const nativeCrc32: Crc32Fn | undefined = (zlib as unknown as { crc32?: Crc32Fn }).crc32;

/** CRC-32 with the crc-32 package; result as an unsigned 32-bit integer. */
export function crc32Js(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return CRC32.buf(bytes.subarray(start, end)) >>> 0;
}

/** CRC-32 with Node's zlib.crc32 when present; result as an unsigned 32-bit integer. */
export function crc32Native(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (nativeCrc32 === undefined) throw new Error('zlib.crc32 is not available in this Node.js');
  return nativeCrc32(bytes.subarray(start, end)) >>> 0;
}

export const hasNativeCrc32 = nativeCrc32 !== undefined;

/** CRC-32 of bytes[start, end): the fastest available implementation. */
export const crc32: (bytes: Uint8Array, start?: number, end?: number) => number = hasNativeCrc32
  ? crc32Native
  : crc32Js;
