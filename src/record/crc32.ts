/**
 * CRC-32 (IEEE 802.3, polynomial 0xEDB88320, the zlib/PNG/Ethernet CRC) of
 * record bytes.
 *
 * Three implementations of the same function, fastest first:
 * - @node-rs/crc32: a prebuilt N-API module (Rust crc32fast, carry-less
 *   multiply folding with PCLMULQDQ). Measured on the 2-core EPYC dev machine
 *   (/tmp microbench, 2026-11-25): 10.2 GB/s on 64 KiB, 2.5 GB/s on 1 KiB.
 *   It is an npm dependency whose per-platform binaries are optional
 *   packages; where no binary exists for the platform, loading fails and the
 *   next one serves.
 * - Node's built-in zlib.crc32 (Node >= 20.15 / 22.2): 3.2 GB/s on 64 KiB,
 *   1.7 GB/s on 1 KiB on the same machine (Node's zlib build does not use its
 *   SIMD CRC here).
 * - the crc-32 package, in JavaScript: the reference and last fallback.
 *
 * test/record/crc32.test.ts proves all three agree, on plain and
 * SharedArrayBuffer-backed bytes. The record CRC is what the storage append
 * path checks per byte written, so this choice sets the 64 KiB append speed
 * (docs/ARCHITECTURE.md, "CRC").
 */
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import CRC32 from 'crc-32';

type Crc32Fn = (data: Uint8Array, value?: number) => number;

const zlibCrc32: Crc32Fn | undefined = (zlib as unknown as { crc32?: Crc32Fn }).crc32;

function loadSimdCrc32(): Crc32Fn | undefined {
  if (process.env.NATIVELOG_CRC === 'zlib' || process.env.NATIVELOG_CRC === 'js') return undefined;
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32?: Crc32Fn };
    const f = mod.crc32;
    // Refuse a module that loads but computes something else.
    if (typeof f !== 'function' || f(new TextEncoder().encode('123456789')) >>> 0 !== 0xcbf43926) return undefined;
    return f;
  } catch {
    return undefined;
  }
}

const simdCrc32: Crc32Fn | undefined = loadSimdCrc32();

/** CRC-32 with the crc-32 package; result as an unsigned 32-bit integer. */
export function crc32Js(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return CRC32.buf(bytes.subarray(start, end)) >>> 0;
}

/** CRC-32 with Node's zlib.crc32 when present; result as an unsigned 32-bit integer. */
export function crc32Native(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (zlibCrc32 === undefined) throw new Error('zlib.crc32 is not available in this Node.js');
  return zlibCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end)) >>> 0;
}

/** CRC-32 with @node-rs/crc32 (SIMD); result as an unsigned 32-bit integer. */
export function crc32Simd(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (simdCrc32 === undefined) throw new Error('@node-rs/crc32 is not loadable on this platform');
  return simdCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end)) >>> 0;
}

export const hasNativeCrc32 = zlibCrc32 !== undefined;
export const hasSimdCrc32 = simdCrc32 !== undefined;

/**
 * Which implementation crc32() uses: 'simd', 'zlib' or 'js'. NATIVELOG_CRC=zlib
 * (or js) in the environment skips the SIMD module, for comparisons.
 */
export const crc32Backend: 'simd' | 'zlib' | 'js' =
  hasSimdCrc32 ? 'simd' : hasNativeCrc32 && process.env.NATIVELOG_CRC !== 'js' ? 'zlib' : 'js';

/** CRC-32 of bytes[start, end): the fastest available implementation. */
export const crc32: (bytes: Uint8Array, start?: number, end?: number) => number =
  crc32Backend === 'simd' ? crc32Simd : crc32Backend === 'zlib' ? crc32Native : crc32Js;
