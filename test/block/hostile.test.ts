import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  BlockError,
  type BlockProblem,
  COLUMN_ENTRY_BYTES,
  type ColumnType,
  decodeBlock,
  encodeBlock,
  parseSchema,
  verifyBlockValues,
} from '../../src/block/index.js';
import { blockBytesArb } from './arbitraries.js';

const EXPECTED_JS_TYPE: Record<ColumnType, string> = {
  int8: 'number', int16: 'number', int32: 'number', uint8: 'number', uint16: 'number', uint32: 'number',
  float32: 'number', float64: 'number', int64: 'bigint', uint64: 'bigint', datetime64: 'bigint',
  bool: 'boolean', string: 'string',
};

/**
 * Decodes and reads every value. Passes when that either works with values of
 * the column's JavaScript type (an out-of-bounds TypedArray read would give
 * undefined) or fails with a BlockError; anything else fails the test.
 */
function decodeAndTouchAll(bytes: Uint8Array): void {
  try {
    const block = decodeBlock(bytes);
    for (const c of block.columns) {
      for (let i = 0; i < block.rowCount; i++) {
        const v = c.get(i);
        if (v !== null) assert.equal(typeof v, EXPECTED_JS_TYPE[c.type], `column ${c.name} row ${i}`);
      }
    }
    verifyBlockValues(block);
  } catch (e) {
    if (!(e instanceof BlockError)) throw e;
  }
}

function headerLike(length: number, columnCount: number, rowCount: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, BLOCK_MAGIC, true);
  dv.setUint8(4, 1);
  dv.setUint16(6, columnCount, true);
  dv.setUint32(8, rowCount, true);
  dv.setUint32(12, length, true);
  return bytes;
}

test('random bytes decode only with a BlockError, never another error or an out-of-bounds read', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), decodeAndTouchAll), { numRuns: 2000 });
});

test('random bytes behind a valid header (so the directory is parsed) fail only with a BlockError', () => {
  fc.assert(
    fc.property(fc.nat({ max: 80 }), fc.integer({ min: 1, max: 6 }), fc.nat({ max: 70 }), fc.uint8Array({ maxLength: 640 }), (words, columns, rows, noise) => {
      const bytes = headerLike(BLOCK_HEADER_BYTES + columns * COLUMN_ENTRY_BYTES + words * 8, columns, rows);
      bytes.set(noise.subarray(0, bytes.length - BLOCK_HEADER_BYTES), BLOCK_HEADER_BYTES);
      decodeAndTouchAll(bytes);
    }),
    { numRuns: 2000 },
  );
});

test('valid blocks with random byte mutations decode only with a BlockError or as valid values', () => {
  const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
  fc.assert(
    fc.property(blockBytesArb, fc.array(mutation, { minLength: 1, maxLength: 6 }), (block, mutations) => {
      const bytes = block.slice();
      for (const m of mutations) bytes[m.at % bytes.length] = m.value;
      decodeAndTouchAll(bytes);
    }),
    { numRuns: 1500 },
  );
});

test('valid blocks with a mutated directory word (offsets, lengths) fail only with a BlockError', () => {
  fc.assert(
    fc.property(blockBytesArb, fc.nat(), fc.oneof(fc.nat({ max: 4096 }), fc.constant(0xffff_ffff), fc.nat()), (block, word, value) => {
      const bytes = block.slice();
      const columns = new DataView(bytes.buffer).getUint16(6, true);
      const at = BLOCK_HEADER_BYTES + ((word % (columns * 8)) * 4);
      new DataView(bytes.buffer).setUint32(at, value >>> 0, true);
      decodeAndTouchAll(bytes);
    }),
    { numRuns: 1500 },
  );
});

test('truncated or extended valid blocks are rejected with bad-length', () => {
  fc.assert(
    fc.property(blockBytesArb, fc.integer({ min: -64, max: 64 }).filter((d) => d !== 0), (block, delta) => {
      const length = Math.max(BLOCK_HEADER_BYTES, block.length + delta);
      const bytes = new Uint8Array(length);
      bytes.set(block.subarray(0, Math.min(length, block.length)));
      assert.throws(() => decodeBlock(bytes), (e: unknown) => e instanceof BlockError && e.problem === 'bad-length');
    }),
    { numRuns: 300 },
  );
});

const schema = parseSchema('s string, n nullable(int32), b bool');
const good = (): Uint8Array => encodeBlock(schema, { s: ['ab', 'cd'], n: [1, null], b: [true, false] });
const entry = (column: number, field: number): number => BLOCK_HEADER_BYTES + column * COLUMN_ENTRY_BYTES + field;

function expectProblem(bytes: Uint8Array, problem: BlockProblem, message: RegExp): void {
  assert.throws(() => decodeBlock(bytes), (e: unknown) => e instanceof BlockError && e.problem === problem && message.test(e.message));
}

function patched(edit: (dv: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = good();
  edit(new DataView(bytes.buffer), bytes);
  return bytes;
}

test('each header and directory defect gets its own problem code and a message that names it', () => {
  expectProblem(new Uint8Array(8), 'short', /at least 16 bytes/);
  expectProblem(patched((dv) => dv.setUint8(0, 0)), 'bad-magic', /not a block/);
  expectProblem(patched((dv) => dv.setUint8(4, 2)), 'bad-version', /version 2/);
  expectProblem(patched((dv) => dv.setUint8(5, 1)), 'bad-flags', /reserved/);
  expectProblem(patched((dv) => dv.setUint16(6, 0, true)), 'too-large', /0 columns/);
  expectProblem(patched((dv) => dv.setUint32(8, 0xffff_ffff, true)), 'too-large', /rows; the limit/);
  expectProblem(patched((dv) => dv.setUint16(6, 1000, true)), 'short', /directory of 1000 columns/);
  expectProblem(patched((dv) => dv.setUint8(entry(0, 0), 99)), 'bad-column', /unknown type code 99/);
  expectProblem(patched((dv) => dv.setUint8(entry(0, 1), 2)), 'bad-column', /reserved/);
  expectProblem(patched((dv) => dv.setUint32(entry(0, 28), 1, true)), 'bad-column', /reserved/);
  expectProblem(patched((dv) => dv.setUint16(entry(0, 2), 0, true)), 'bad-column', /name of 0 bytes/);
  expectProblem(patched((dv) => dv.setUint32(entry(0, 4), 0, true)), 'bad-section', /name .* outside/);
  expectProblem(patched((dv, b) => (b[dv.getUint32(entry(1, 4), true)] = 's'.charCodeAt(0))), 'bad-column', /repeats the name "s"/);
  expectProblem(patched((dv, b) => (b[dv.getUint32(entry(0, 4), true)] = 0xff)), 'bad-column', /not valid UTF-8/);
  expectProblem(patched((dv, b) => (b[dv.getUint32(entry(0, 4), true)] = '-'.charCodeAt(0))), 'bad-column', /is not \[A-Za-z_\]/);
  expectProblem(patched((dv) => dv.setUint32(entry(0, 16), 8, true)), 'bad-section', /values take 8 bytes; 2 rows of string take 12/);
  expectProblem(patched((dv) => dv.setUint32(entry(0, 12), dv.getUint32(entry(0, 12), true) + 4, true)), 'bad-section', /misaligned/);
  expectProblem(patched((dv) => dv.setUint32(entry(0, 12), 0xffff_fff8, true)), 'bad-section', /outside the block/);
  expectProblem(patched((dv) => dv.setUint32(entry(0, 12), 8, true)), 'bad-section', /outside/);
  expectProblem(patched((dv) => dv.setUint32(entry(1, 8), 0, true)), 'bad-section', /validity/);
  expectProblem(patched((dv) => dv.setUint32(entry(0, 8), 64, true)), 'bad-column', /not nullable but has a validity offset/);
  expectProblem(patched((dv) => dv.setUint32(entry(2, 20), 64, true)), 'bad-column', /bool but has a string bytes section/);
  expectProblem(patched((dv) => dv.setUint32(entry(0, 24), 3, true)), 'bad-value', /string offsets run from 0 to 4; expected 0 to 3/);
});

test('a string whose own offsets are bad fails with bad-value when read, and verifyBlockValues finds it up front', () => {
  const bytes = patched((dv) => dv.setUint32(dv.getUint32(entry(0, 12), true) + 4, 9, true)); // offsets [0, 9, 4]
  const block = decodeBlock(bytes);
  const s = block.column('s')!;
  assert.throws(() => s.get(0), (e: unknown) => e instanceof BlockError && e.problem === 'bad-value' && /offsets \[0, 9\) are invalid for 4 bytes/.test(e.message));
  assert.throws(() => verifyBlockValues(block), /offsets decrease/);
});

test('invalid UTF-8 and a bool byte other than 0/1 fail with bad-value', () => {
  const badUtf8 = patched((dv, b) => (b[dv.getUint32(entry(0, 20), true)] = 0xff));
  assert.throws(() => decodeBlock(badUtf8).column('s')!.get(1), (e: unknown) => e instanceof BlockError && e.problem === 'bad-value' && /"s": its string bytes are not valid UTF-8/.test(e.message));
  assert.throws(() => verifyBlockValues(decodeBlock(badUtf8)), /not valid UTF-8/);
  const split = encodeBlock(parseSchema('s string'), { s: ['é', ''] });
  const dv = new DataView(split.buffer);
  dv.setUint32(dv.getUint32(entry(0, 12), true) + 4, 1, true); // offsets [0, 1, 2] split the two-byte character
  assert.throws(() => verifyBlockValues(decodeBlock(split)), /falls inside a UTF-8 character/);
  assert.throws(() => decodeBlock(split).column('s')!.get(0), /row 0: the string is not valid UTF-8 \(it cuts a character\)/);
  assert.throws(() => decodeBlock(split).column('s')!.get(1), /row 1: the string is not valid UTF-8 \(it cuts a character\)/);
  const badBool = patched((dv, b) => (b[dv.getUint32(entry(2, 12), true)] = 7));
  assert.equal(decodeBlock(badBool).column('b')!.get(0), true);
  assert.throws(() => verifyBlockValues(decodeBlock(badBool)), /bool byte is 7/);
});

test('reading a row outside the column is a RangeError naming the row and the column', () => {
  const c = decodeBlock(good()).column('n')!;
  assert.throws(() => c.get(2), /row 2 is outside column "n" of 2 rows/);
  assert.throws(() => c.get(-1), RangeError);
});
