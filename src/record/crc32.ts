/**
 * CRC-32 (IEEE 802.3, polynomial 0xEDB88320, the zlib/PNG/Ethernet CRC) of
 * record bytes.
 *
 * Four implementations of the same function, fastest first:
 * - our addon src/record/native/crc32-vpclmul.c: 256-bit carry-less multiply
 *   folding (VPCLMULQDQ + AVX2), built at install by node-gyp where a C
 *   compiler and Node's headers are present (src/record/native/build.mjs),
 *   used only where the CPU runs its folding path. It also checks every
 *   record CRC of a batch in one call (firstBadRecordCrc). Measured on the
 *   2-core EPYC (Zen 3) dev machine (2026-11-25, hot SharedArrayBuffer
 *   views): 18.5 GB/s on 64 KiB, 20.5 GB/s on 1 MiB, 2.9 GB/s on a single
 *   1 KiB call (about 270 ns fixed cost per Node-API call).
 * - @node-rs/crc32: a prebuilt N-API module (Rust crc32fast, 128-bit
 *   PCLMULQDQ folding): 7.7 GB/s on 64 KiB, 2.3 GB/s on 1 KiB, same run.
 *   It is an npm dependency whose per-platform binaries are optional
 *   packages; where no binary exists for the platform, loading fails and the
 *   next one serves.
 * - Node's built-in zlib.crc32 (Node >= 20.15 / 22.2): 3.2 GB/s on 64 KiB,
 *   1.7 GB/s on 1 KiB (Node's zlib build does not use its SIMD CRC here).
 * - the crc-32 package, in JavaScript: the reference and last fallback.
 *
 * NATIVELOG_CRC=simd, zlib or js in the environment starts the choice at
 * that implementation (for comparisons). test/record/crc32.test.ts proves
 * all agree, on plain and SharedArrayBuffer-backed bytes. The record CRC is
 * what the storage append path checks per byte written, so this choice sets
 * the 64 KiB append speed (docs/FORMAT.md section 10).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import CRC32 from 'crc-32';

type Crc32Fn = (data: Uint8Array, value?: number) => number;

type Addon = {
  impl: string;
  crc32(u8: Uint8Array, start: number, end: number): number;
  firstBadRecord(u8: Uint8Array, start: number, end: number, offLength: number, offCrc: number, crcStart: number): number;
};

/** Where build.mjs leaves the addon, from dist/src/record/ (compiled) or src/record/ (sources). */
const ADDON_PATHS = ['../../../src/record/native/build/Release/nativelog_crc32.node', './native/build/Release/nativelog_crc32.node'];

function loadAddon(): Addon | undefined {
  const forced = process.env.NATIVELOG_CRC;
  if (forced === 'simd' || forced === 'zlib' || forced === 'js') return undefined;
  const require = createRequire(import.meta.url);
  for (const rel of ADDON_PATHS) {
    try {
      const mod = require(fileURLToPath(new URL(rel, import.meta.url))) as Partial<Addon>;
      // Only the folding path beats @node-rs/crc32; refuse a module that loads but computes something else.
      if (mod.impl !== 'vpclmulqdq' || typeof mod.crc32 !== 'function' || typeof mod.firstBadRecord !== 'function') continue;
      const check = new TextEncoder().encode('123456789');
      if (mod.crc32(check, 0, check.length) !== 0xcbf43926) continue;
      return mod as Addon;
    } catch {
      // not built here (no compiler, other platform): try the next path, then the fallbacks
    }
  }
  return undefined;
}

const addon: Addon | undefined = loadAddon();

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

/** CRC-32 with our VPCLMULQDQ addon; result as an unsigned 32-bit integer. */
export function crc32Vpclmul(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (addon === undefined) throw new Error('the nativelog CRC-32 addon is not built or not usable on this CPU');
  return addon.crc32(bytes, start, end);
}

/**
 * Checks the CRC of every record in bytes[start, end) in one native call, or
 * undefined where the addon is absent (callers then check record by record).
 * Each record's u32 LE length is at offLength; the u32 LE at offCrc must equal
 * the CRC-32 of [record + crcStart, record + length). Returns -1 when all
 * pass, else the offset of the first record that fails (or whose length does
 * not fit); callers check that record and the rest one by one.
 */
export const firstBadRecordCrc: Addon['firstBadRecord'] | undefined = addon?.firstBadRecord;

export const hasVpclmulCrc32 = addon !== undefined;
export const hasNativeCrc32 = zlibCrc32 !== undefined;
export const hasSimdCrc32 = simdCrc32 !== undefined;

/** Which implementation crc32() uses: 'vpclmul' (our addon), 'simd' (@node-rs/crc32), 'zlib' or 'js'. */
export const crc32Backend: 'vpclmul' | 'simd' | 'zlib' | 'js' = hasVpclmulCrc32
  ? 'vpclmul'
  : hasSimdCrc32
    ? 'simd'
    : hasNativeCrc32 && process.env.NATIVELOG_CRC !== 'js'
      ? 'zlib'
      : 'js';

/** CRC-32 of bytes[start, end): the fastest available implementation. */
export const crc32: (bytes: Uint8Array, start?: number, end?: number) => number =
  crc32Backend === 'vpclmul' ? crc32Vpclmul : crc32Backend === 'simd' ? crc32Simd : crc32Backend === 'zlib' ? crc32Native : crc32Js;
