import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32, crc32Backend, crc32Js, crc32Native, crc32Simd, hasNativeCrc32, hasSimdCrc32 } from '../../src/record/crc32.js';

test('zlib.crc32 is available on the supported Node.js (the fallback fast path exists)', () => {
  assert.equal(hasNativeCrc32, true);
});

test('the SIMD CRC module loads on linux-x64 and is the one in use', { skip: process.platform !== 'linux' || process.arch !== 'x64' }, () => {
  assert.equal(hasSimdCrc32, true);
  assert.equal(crc32Backend, process.env.NATIVELOG_CRC === 'zlib' || process.env.NATIVELOG_CRC === 'js' ? crc32Backend : 'simd');
});

test('SIMD, zlib.crc32 and the crc-32 package agree on random buffers and sub-ranges', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % bytes.length;
      const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
      const want = crc32Js(bytes, start, end);
      assert.equal(crc32Native(bytes, start, end), want);
      if (hasSimdCrc32) assert.equal(crc32Simd(bytes, start, end), want);
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
  }
});

test('crc32 matches the published check value for "123456789"', () => {
  const check = new TextEncoder().encode('123456789');
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(crc32Js(check), 0xcbf43926);
  assert.equal(crc32Native(check), 0xcbf43926);
  if (hasSimdCrc32) assert.equal(crc32Simd(check), 0xcbf43926);
});
