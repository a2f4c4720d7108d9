import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32, crc32Js, crc32Native, hasNativeCrc32 } from '../../src/record/crc32.js';

test('zlib.crc32 is available on the supported Node.js (the fast path is in use)', () => {
  assert.equal(hasNativeCrc32, true);
});

test('zlib.crc32 and the crc-32 package agree on random buffers and sub-ranges', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4096 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % bytes.length;
      const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
      assert.equal(crc32Native(bytes, start, end), crc32Js(bytes, start, end));
      assert.equal(crc32(bytes, start, end), crc32Js(bytes, start, end));
    }),
    { numRuns: 2000 },
  );
});

test('crc32 matches the published check value for "123456789"', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32Js(new TextEncoder().encode('123456789')), 0xcbf43926);
});
