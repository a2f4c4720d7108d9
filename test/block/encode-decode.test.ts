import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BLOCK_HEADER_BYTES,
  RowError,
  SchemaError,
  decodeBlock,
  encodeBlock,
  parseSchema,
  verifyBlockValues,
} from '../../src/block/index.js';
import { placeAt, schemaAndColumnsArb } from './arbitraries.js';

test('encodeBlock then decodeBlock returns every value, null and type of every column (property)', () => {
  fc.assert(
    fc.property(schemaAndColumnsArb, ({ schema, rowCount, columns }) => {
      const block = decodeBlock(encodeBlock(schema, columns));
      assert.equal(block.rowCount, rowCount);
      assert.deepEqual(block.schema, schema);
      verifyBlockValues(block);
      for (const c of schema.columns) {
        const view = block.column(c.name)!;
        const got = Array.from({ length: rowCount }, (_, i) => view.get(i));
        assert.deepEqual(got, columns[c.name]);
      }
    }),
    { numRuns: 300 },
  );
});

test('every section of an encoded block starts 8-aligned and the block length is a multiple of 8 (property)', () => {
  fc.assert(
    fc.property(schemaAndColumnsArb, ({ schema, columns }) => {
      const bytes = encodeBlock(schema, columns);
      assert.equal(bytes.length % 8, 0);
      const block = decodeBlock(bytes);
      for (const c of block.columns) {
        assert.equal((c.values.byteOffset - bytes.byteOffset) % 8, 0);
        if (c.validity !== null) assert.equal((c.validity.byteOffset - bytes.byteOffset) % 8, 0);
        if (c.bytes !== null) assert.equal((c.bytes.byteOffset - bytes.byteOffset) % 8, 0);
      }
    }),
    { numRuns: 200 },
  );
});

const sample = parseSchema('host string, cpu float64, n nullable(int64), ok bool, _tp_time datetime64');
const sampleColumns = {
  host: ['a', 'bé', ''],
  cpu: new Float64Array([0.5, 1.5, -2]),
  n: [1n, null, -7],
  ok: [true, false, true],
  _tp_time: [1_700_000_000_000, 1_700_000_000_001, 0],
};

test('decoding a block at an 8-aligned offset returns views over the received ArrayBuffer, nothing copied', () => {
  const received = placeAt(encodeBlock(sample, sampleColumns), 40);
  const block = decodeBlock(received);
  assert.equal(block.copied, false);
  assert.equal(block.bytes.buffer, received.buffer);
  for (const c of block.columns) {
    assert.equal(c.values.buffer, received.buffer, `column ${c.name} values`);
    assert.ok(c.values.byteOffset >= received.byteOffset && c.values.byteOffset + c.values.byteLength <= received.byteOffset + received.length);
  }
  const cpu = block.columnOf('cpu', 'float64').values;
  assert.ok(cpu instanceof Float64Array);
  assert.deepEqual(Array.from(cpu), [0.5, 1.5, -2]);
  received[cpu.byteOffset - received.byteOffset] ^= 0xff; // a write to the received bytes shows through the view
  assert.notEqual(block.columnOf('cpu', 'float64').values[0], 0.5);
});

test('decoding a block inside a SharedArrayBuffer views the shared memory', () => {
  const bytes = encodeBlock(sample, sampleColumns);
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length + 16), 16, bytes.length);
  shared.set(bytes);
  const block = decodeBlock(shared);
  assert.equal(block.copied, false);
  assert.equal(block.columnOf('_tp_time', 'datetime64').values.buffer, shared.buffer);
  assert.deepEqual([0, 1, 2].map((i) => block.column('host')!.get(i)), ['a', 'bé', '']);
});

test('numberAt reads every type as a number, 64-bit ones without a bigint, exact up to 2^53 (property)', () => {
  const s = parseSchema('i int64, u uint64, t datetime64, f float32, b bool');
  const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
  fc.assert(
    fc.property(int64, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), int64, (i, u, t) => {
      const block = decodeBlock(encodeBlock(s, { i: [i], u: [u], t: [t], f: [0.5], b: [true] }));
      assert.deepEqual(['i', 'u', 't', 'f', 'b'].map((name) => block.column(name)!.numberAt(0)), [Number(i), Number(u), Number(t), 0.5, 1]);
    }),
    { numRuns: 500 },
  );
});

test('decoding a misaligned block copies it once, says so with copied=true, and reads the same values', () => {
  const bytes = encodeBlock(sample, sampleColumns);
  for (const offset of [1, 3, 4, 6]) {
    const received = placeAt(bytes, offset);
    const block = decodeBlock(received);
    assert.equal(block.copied, true);
    assert.notEqual(block.bytes.buffer, received.buffer);
    assert.equal(block.bytes.byteOffset % 8, 0);
    assert.deepEqual(Array.from(block.columnOf('cpu', 'float64').values), [0.5, 1.5, -2]);
    assert.equal(block.column('host')!.get(1), 'bé');
  }
});

test('a misaligned Node Buffer (as sockets deliver) is copied into a fresh aligned buffer, not viewed in place', () => {
  const bytes = encodeBlock(sample, sampleColumns);
  const pooled = Buffer.alloc(bytes.length + 3).subarray(3);
  pooled.set(bytes);
  const block = decodeBlock(pooled);
  assert.equal(block.copied, true);
  assert.notEqual(block.bytes.buffer, pooled.buffer);
  assert.deepEqual(Array.from(block.columnOf('cpu', 'float64').values), [0.5, 1.5, -2]);
  const aligned = Buffer.from(new ArrayBuffer(bytes.length + 8), 8, bytes.length);
  aligned.set(bytes);
  assert.equal(decodeBlock(aligned).copied, false);
});

test('null rows read as null, have a clear validity bit and a zero value slot', () => {
  const block = decodeBlock(encodeBlock(sample, sampleColumns));
  const n = block.columnOf('n', 'int64');
  assert.equal(n.nullable, true);
  assert.deepEqual([n.isNull(0), n.isNull(1), n.isNull(2)], [false, true, false]);
  assert.deepEqual([n.get(0), n.get(1), n.get(2)], [1n, null, -7n]);
  assert.equal(n.values[1], 0n);
  assert.equal(n.validity![0], 0b101);
  assert.equal(block.column('host')!.validity, null);
});

test('a block of zero rows encodes and decodes with empty views', () => {
  const block = decodeBlock(encodeBlock(sample, { host: [], cpu: [], n: [], ok: [], _tp_time: [] }));
  assert.equal(block.rowCount, 0);
  for (const c of block.columns) assert.equal(c.length, 0);
  assert.equal(block.columnOf('host', 'string').values.length, 1);
});

test('the header starts with magic NLBK, version 1, and records column count, row count and length', () => {
  const bytes = encodeBlock(sample, sampleColumns);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, BLOCK_HEADER_BYTES);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'NLBK');
  assert.equal(dv.getUint8(4), 1);
  assert.equal(dv.getUint16(6, true), 5);
  assert.equal(dv.getUint32(8, true), 3);
  assert.equal(dv.getUint32(12, true), bytes.length);
});

test('encodeBlock copies a TypedArray of the exact type as-is and checks bool bytes', () => {
  const s = parseSchema('a int32, b bool, c uint64');
  const block = decodeBlock(encodeBlock(s, { a: new Int32Array([1, -2]), b: new Uint8Array([1, 0]), c: new BigUint64Array([2n ** 64n - 1n, 0n]) }));
  assert.deepEqual([block.column('a')!.get(1), block.column('b')!.get(0), block.column('c')!.get(0)], [-2, true, 2n ** 64n - 1n]);
  assert.throws(() => encodeBlock(s, { a: new Int32Array(1), b: new Uint8Array([2]), c: new BigUint64Array(1) }), /bool bytes must be 0 or 1/);
});

test('encodeBlock takes a nullable column as { values, validity }, zeroing the null slots', () => {
  const s = parseSchema('x nullable(float64), t nullable(datetime64)');
  const block = decodeBlock(
    encodeBlock(s, {
      x: { values: new Float64Array([1.5, 99, 3]), validity: new Uint8Array([0b101]) },
      t: { values: new BigInt64Array([5n, 6n, 7n]), validity: new Uint8Array([0b010]) },
    }),
  );
  assert.deepEqual([0, 1, 2].map((i) => block.column('x')!.get(i)), [1.5, null, 3]);
  assert.deepEqual(Array.from(block.columnOf('x', 'float64').values), [1.5, 0, 3]);
  assert.deepEqual([0, 1, 2].map((i) => block.column('t')!.get(i)), [null, 6n, null]);
});

test('encodeBlock rejects a bad { values, validity } column with a clear error', () => {
  const s = parseSchema('x nullable(int32), y int32, z nullable(string)');
  const ok = { x: new Int32Array(2), y: new Int32Array(2), z: ['a', null] };
  assert.throws(() => encodeBlock(s, { ...ok, x: { values: new Int32Array(2), validity: new Uint8Array(2) } }), /validity bitmap must be a Uint8Array of 1 bytes for 2 rows/);
  assert.throws(() => encodeBlock(s, { ...ok, x: { values: new Float64Array(2), validity: new Uint8Array(1) } }), /needs values of the exact TypedArray for int32/);
  assert.throws(() => encodeBlock(s, { ...ok, y: { values: new Int32Array(2), validity: new Uint8Array([0b01]) } }), /row 2, column "y": null in a non-nullable column/);
  assert.throws(() => encodeBlock(s, { ...ok, z: { values: new Int32Array(2), validity: new Uint8Array(1) } }), /a string column takes an array/);
});

test('encodeBlock rejects out-of-range, mistyped and null values with the 1-based row and the column', () => {
  const s = parseSchema('a int8, b uint64, c string, d float32, t datetime64');
  const ok = { a: [1, 2], b: [1, 2n], c: ['x', 'y'], d: [1, 2], t: [0, new Date(5)] };
  assert.doesNotThrow(() => encodeBlock(s, ok));
  const cases: [Record<string, unknown[]>, RegExp][] = [
    [{ a: [1, 128] }, /row 2, column "a": 128 is out of range for int8/],
    [{ a: [1.5, 1] }, /row 1, column "a": expected an integer for int8/],
    [{ b: [1, -1] }, /row 2, column "b": -1 is out of range for uint64/],
    [{ b: [2 ** 60, 1] }, /row 1, column "b": .*lost precision/],
    [{ c: ['x', 5] }, /row 2, column "c": expected a string/],
    [{ c: [null, 'y'] }, /row 1, column "c": null in a non-nullable column/],
    [{ d: ['1', 2] }, /row 1, column "d": expected a number/],
    [{ t: [0, new Date(NaN)] }, /row 2, column "t": the Date is invalid/],
  ];
  for (const [patch, message] of cases) {
    assert.throws(() => encodeBlock(s, { ...ok, ...patch } as never), (e: unknown) => e instanceof RowError && message.test(e.message));
  }
});

test('encodeBlock rejects a missing column, an extra column, and columns of different lengths', () => {
  const s = parseSchema('a int8, b int8');
  const schemaError = (message: RegExp) => (e: unknown) => e instanceof SchemaError && message.test(e.message);
  assert.throws(() => encodeBlock(s, { a: [1] }), schemaError(/^column "b" of the schema is missing$/));
  assert.throws(() => encodeBlock(s, { a: [1], b: [1], c: [1] }), schemaError(/^column "c" is not in the schema$/));
  assert.throws(() => encodeBlock(s, { a: [1], b: [1, 2] }), schemaError(/^column "b" has 2 rows; column "a" has 1$/));
});

test('a lone surrogate in a string is stored as U+FFFD (UTF-8 cannot hold it)', () => {
  const s = parseSchema('s string');
  assert.equal(decodeBlock(encodeBlock(s, { s: ['a\ud800b'] })).column('s')!.get(0), 'a\ufffdb');
});

test('long and non-ASCII strings (past the short-ASCII fast path) decode to the same text', () => {
  const s = parseSchema('s string');
  const values = ['x'.repeat(1000) + 'é', 'y'.repeat(65), 'z'.repeat(64), '日本語', '🙂'];
  const column = decodeBlock(encodeBlock(s, { s: values })).column('s')!;
  assert.deepEqual(values.map((_, i) => column.get(i)), values);
});
