import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { crc32, crc32Backend, crc32Js, crc32Native, crc32Simd, crc32Vpclmul, firstBadRecordCrc, hasNativeCrc32, hasSimdCrc32, hasVpclmulCrc32 } from '../../src/record/crc32.js';
import { CRC_START, OFF_CRC, OFF_LENGTH } from '../../src/record/layout.js';
import { encodeRecordInto, encodedRecordLength } from '../../src/record/record.js';

/** True on a CPU whose flags include what the addon's folding path needs (Linux; elsewhere unknown: false). */
function cpuHasVpclmulqdq(): boolean {
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8');
    return /\bvpclmulqdq\b/.test(flags) && /\bavx2\b/.test(flags) && /\bpclmulqdq\b/.test(flags);
  } catch {
    return false;
  }
}
const forcedCrc = process.env.NATIVELOG_CRC === 'simd' || process.env.NATIVELOG_CRC === 'zlib' || process.env.NATIVELOG_CRC === 'js';
const expectAddon = process.arch === 'x64' && cpuHasVpclmulqdq() && process.env.NATIVELOG_NO_NATIVE !== '1' && !forcedCrc;

test('zlib.crc32 is available on the supported Node.js (the fallback fast path exists)', () => {
  assert.equal(hasNativeCrc32, true);
});

test('the SIMD CRC module (@node-rs/crc32) loads on linux-x64', { skip: process.platform !== 'linux' || process.arch !== 'x64' }, () => {
  assert.equal(hasSimdCrc32, process.env.NATIVELOG_CRC !== 'zlib' && process.env.NATIVELOG_CRC !== 'js');
});

test('on an x86-64 CPU with VPCLMULQDQ the install built our CRC addon and crc32() uses it', { skip: !expectAddon && 'CPU without VPCLMULQDQ/AVX2, not x86-64, or disabled by NATIVELOG_CRC / NATIVELOG_NO_NATIVE' }, () => {
  assert.equal(hasVpclmulCrc32, true, 'src/record/native/build/Release/nativelog_crc32.node missing or unusable: see the "nativelog:" line of the npm install log (src/record/native/build.mjs)');
  assert.equal(crc32Backend, 'vpclmul');
  assert.equal(typeof firstBadRecordCrc, 'function');
});

test('SIMD, zlib.crc32 and the crc-32 package agree on random buffers and sub-ranges', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % bytes.length;
      const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
      const want = crc32Js(bytes, start, end);
      assert.equal(crc32Native(bytes, start, end), want);
      if (hasSimdCrc32) assert.equal(crc32Simd(bytes, start, end), want);
      if (hasVpclmulCrc32) assert.equal(crc32Vpclmul(bytes, start, end), want);
      assert.equal(crc32(bytes, start, end), want);
    }),
    { numRuns: 500 },
  );
});

test('the CRC of bytes in a SharedArrayBuffer (ring and worker views) equals the CRC of a plain copy', () => {
  const sab = new SharedArrayBuffer(200_000);
  const u8 = new Uint8Array(sab);
  let x = 12345;
  for (let i = 0; i < u8.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    u8[i] = x >>> 24;
  }
  for (const [s, e] of [[0, 0], [3, 100], [7, 65_543], [100, 200_000]] as const) {
    const copy = u8.slice(s, e);
    const want = crc32Js(copy);
    assert.equal(crc32(u8, s, e), want, `range [${s}, ${e})`);
    if (hasSimdCrc32) assert.equal(crc32Simd(u8, s, e), want, `range [${s}, ${e})`);
    if (hasVpclmulCrc32) assert.equal(crc32Vpclmul(u8, s, e), want, `range [${s}, ${e})`);
  }
});

test('crc32 matches the published check value for "123456789"', () => {
  const check = new TextEncoder().encode('123456789');
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(crc32Js(check), 0xcbf43926);
  assert.equal(crc32Native(check), 0xcbf43926);
  if (hasSimdCrc32) assert.equal(crc32Simd(check), 0xcbf43926);
  if (hasVpclmulCrc32) assert.equal(crc32Vpclmul(check), 0xcbf43926);
});

const addonOnly = { skip: !hasVpclmulCrc32 && 'the CRC addon is not built or not usable here' };

test('the addon agrees with crc-32 at every length from 0 to 1100 bytes and every start alignment (fold/table boundaries)', addonOnly, () => {
  const u8 = new Uint8Array(new SharedArrayBuffer(1200));
  for (let i = 0; i < u8.length; i++) u8[i] = (i * 167 + 13) & 0xff;
  for (let start = 0; start < 8; start++) {
    for (let n = 0; n <= 1100; n++) assert.equal(crc32Vpclmul(u8, start, start + n), crc32Js(u8, start, start + n), `start ${start}, ${n} bytes`);
  }
});

test('the addon refuses a range outside its view and a non-Uint8Array, instead of reading out of bounds', addonOnly, () => {
  const u8 = new Uint8Array(new SharedArrayBuffer(64), 8, 32);
  assert.throws(() => crc32Vpclmul(u8, 0, 33), RangeError);
  assert.throws(() => crc32Vpclmul(u8, 5, 4), RangeError);
  assert.throws(() => crc32Vpclmul(u8, -1, 4), RangeError);
  assert.throws(() => crc32Vpclmul(u8, 0.5, 4), RangeError);
  assert.throws(() => crc32Vpclmul(new Uint16Array(8) as unknown as Uint8Array, 0, 4), TypeError);
  assert.throws(() => firstBadRecordCrc!(u8, 0, 40, OFF_LENGTH, OFF_CRC, CRC_START), RangeError);
});

/** A SharedArrayBuffer-backed batch of real records with random payload sizes, and each record's offset. */
function recordBatch(seed: number, count: number): { u8: Uint8Array; offsets: number[]; end: number } {
  let x = seed >>> 0 || 1;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  const inputs = Array.from({ length: count }, () => {
    const payload = new Uint8Array(next() % 3000);
    for (let i = 0; i < payload.length; i++) payload[i] = next() >>> 24;
    return { payload };
  });
  const total = inputs.reduce((n, r) => n + encodedRecordLength(r), 0);
  const u8 = new Uint8Array(new SharedArrayBuffer(total + 16), 8, total);
  const offsets: number[] = [];
  let off = 0;
  for (const r of inputs) {
    offsets.push(off);
    off += encodeRecordInto(u8, off, r);
  }
  return { u8, offsets, end: off };
}

test('firstBadRecord finds exactly the record whose CRC-covered bit was flipped, and passes intact batches', addonOnly, () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 12 }), fc.nat(), fc.nat(), (seed, count, which, bit) => {
      const { u8, offsets, end } = recordBatch(seed, count);
      assert.equal(firstBadRecordCrc!(u8, 0, end, OFF_LENGTH, OFF_CRC, CRC_START), -1);
      const k = which % count;
      const recEnd = k + 1 < count ? offsets[k + 1]! : end;
      const span = (recEnd - offsets[k]! - CRC_START) * 8;
      const at = offsets[k]! * 8 + CRC_START * 8 + (bit % span);
      u8[at >>> 3] ^= 1 << (at & 7);
      assert.equal(firstBadRecordCrc!(u8, 0, end, OFF_LENGTH, OFF_CRC, CRC_START), offsets[k]);
      // The records before k still pass on their own.
      assert.equal(firstBadRecordCrc!(u8, 0, offsets[k]!, OFF_LENGTH, OFF_CRC, CRC_START), -1);
    }),
    { numRuns: 200 },
  );
});

test('firstBadRecord reports a record whose length is under the header or runs past the end, instead of reading past it', addonOnly, () => {
  const { u8, offsets, end } = recordBatch(99, 4);
  assert.equal(firstBadRecordCrc!(u8, 0, end - 8, OFF_LENGTH, OFF_CRC, CRC_START), offsets[3]);
  assert.equal(firstBadRecordCrc!(u8, 0, offsets[2]! + 16, OFF_LENGTH, OFF_CRC, CRC_START), offsets[2]);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  dv.setUint32(offsets[1]! + OFF_LENGTH, 8, true);
  assert.equal(firstBadRecordCrc!(u8, 0, end, OFF_LENGTH, OFF_CRC, CRC_START), offsets[1]);
  dv.setUint32(offsets[1]! + OFF_LENGTH, 0xffff_fff8, true);
  assert.equal(firstBadRecordCrc!(u8, 0, end, OFF_LENGTH, OFF_CRC, CRC_START), offsets[1]);
});
