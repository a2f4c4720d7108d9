import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  RowError,
  blockRowToJson,
  blockToRows,
  cellToJson,
  decodeBlock,
  encodeBlock,
  parseSchema,
  rowsToBlock,
} from '../../src/block/index.js';
import { schemaAndColumnsArb } from './arbitraries.js';

const schema = parseSchema('host string, cpu float64, n int64, ok bool, _tp_time datetime64, note nullable(string)');

test('rowsToBlock then blockToRows gives back the rows, with datetime64 as epoch ms', () => {
  const rows = [
    { host: 'a', cpu: 0.25, n: 1, ok: true, _tp_time: 1_700_000_000_000, note: 'x' },
    { host: 'b', cpu: -1, n: -5, ok: false, _tp_time: '2024-05-01T00:00:00Z', note: null },
    { host: 'c', cpu: 3, n: '12', ok: true, _tp_time: '1700000000123' },
  ];
  assert.deepEqual(blockToRows(decodeBlock(rowsToBlock(schema, rows))), [
    { host: 'a', cpu: 0.25, n: 1, ok: true, _tp_time: 1_700_000_000_000, note: 'x' },
    { host: 'b', cpu: -1, n: -5, ok: false, _tp_time: Date.UTC(2024, 4, 1), note: null },
    { host: 'c', cpu: 3, n: 12, ok: true, _tp_time: 1_700_000_000_123, note: null },
  ]);
});

test('int64 and uint64 past 2^53 go in as decimal strings and come out as strings; safe ones as numbers', () => {
  const s = parseSchema('i int64, u uint64');
  const rows = [
    { i: '-9223372036854775808', u: '18446744073709551615' },
    { i: '9007199254740993', u: 9007199254740991 },
    { i: -9007199254740991, u: '0' },
  ];
  const block = decodeBlock(rowsToBlock(s, rows));
  assert.equal(block.column('i')!.get(0), -(2n ** 63n));
  assert.deepEqual(blockToRows(block), [
    { i: '-9223372036854775808', u: '18446744073709551615' },
    { i: '9007199254740993', u: 9007199254740991 },
    { i: -9007199254740991, u: 0 },
  ]);
});

test('negative zero comes out as 0 because JSON has no -0', () => {
  const s = parseSchema('f float64');
  assert.equal(JSON.stringify(blockToRows(decodeBlock(encodeBlock(s, { f: [-0] })))), '[{"f":0}]');
});

test('non-finite floats go out as "NaN"/"Infinity"/"-Infinity" strings and read back', () => {
  const s = parseSchema('f float64, g float32');
  const rows = [{ f: 'NaN', g: 'Infinity' }, { f: '-Infinity', g: 1.5 }];
  assert.deepEqual(blockToRows(decodeBlock(rowsToBlock(s, rows))), rows);
});

test('bad rows are reported with their 1-based row number (offset by firstRowNumber) and column', () => {
  const good = { host: 'a', cpu: 1, n: 1, ok: true, _tp_time: 0 };
  const cases: [Record<string, unknown> | unknown, RegExp][] = [
    [{ ...good, cpu: '1.5' }, /^row 2, column "cpu": expected a number for float64, got the string "1.5"$/],
    [{ ...good, n: 1.5 }, /^row 2, column "n": expected an integer for int64/],
    [{ ...good, n: 2 ** 60 }, /^row 2, column "n": .*lost precision/],
    [{ ...good, n: '9223372036854775808' }, /^row 2, column "n": 9223372036854775808 is out of range for int64$/],
    [{ ...good, n: '1e3' }, /^row 2, column "n": expected an integer/],
    [{ ...good, ok: 1 }, /^row 2, column "ok": expected true or false, got number 1$/],
    [{ ...good, host: 5 }, /^row 2, column "host": expected a string/],
    [{ ...good, _tp_time: 'yesterday' }, /^row 2, column "_tp_time": expected epoch ms .* or an ISO-8601 time/],
    [{ ...good, _tp_time: 1.5 }, /^row 2, column "_tp_time": expected epoch ms/],
    [{ ...good, host: null }, /^row 2, column "host": null in a non-nullable column$/],
    [{ cpu: 1, n: 1, ok: true, _tp_time: 0 }, /^row 2, column "host": the field is missing/],
    [{ ...good, extra: 1 }, /^row 2, column "extra": the field is not in the schema$/],
    [[1, 2], /^row 2: expected a JSON object, got an array$/],
    ['text', /^row 2: expected a JSON object/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () => rowsToBlock(schema, [good, bad]),
      (e: unknown) => e instanceof RowError && e.row === 2 && message.test(e.message),
      JSON.stringify(bad),
    );
  }
  assert.throws(
    () => rowsToBlock(schema, [good, good, { ...good, ok: 'yes' }], { firstRowNumber: 41 }),
    (e: unknown) => e instanceof RowError && e.row === 43 && /^row 43, column "ok"/.test(e.message),
  );
});

test('rowNumbers gives each row the number errors report, e.g. line numbers with blank lines skipped', () => {
  const good = { host: 'a', cpu: 1, n: 1, ok: true, _tp_time: 0 };
  assert.throws(
    () => rowsToBlock(schema, [good, { ...good, cpu: null }], { rowNumbers: [3, 7] }),
    (e: unknown) => e instanceof RowError && e.row === 7 && e.column === 'cpu',
  );
  assert.throws(() => rowsToBlock(schema, [good], { rowNumbers: [1, 2] }), /rowNumbers has 2 entries for 1 rows/);
});

test('small integer columns take only JSON numbers in range', () => {
  const s = parseSchema('a int8, b uint16');
  assert.throws(() => rowsToBlock(s, [{ a: '1', b: 1 }]), /column "a": expected an integer for int8/);
  assert.throws(() => rowsToBlock(s, [{ a: 1, b: 65536 }]), /column "b": 65536 is out of range for uint16/);
  assert.deepEqual(blockToRows(decodeBlock(rowsToBlock(s, [{ a: -128, b: 65535 }]))), [{ a: -128, b: 65535 }]);
});

test('unknownFields: "ignore" drops fields not in the schema', () => {
  const s = parseSchema('a int8');
  assert.deepEqual(blockToRows(decodeBlock(rowsToBlock(s, [{ a: 1, b: 2 }], { unknownFields: 'ignore' }))), [{ a: 1 }]);
});

test('a column named __proto__ is an ordinary field in and out', () => {
  const s = parseSchema('__proto__ int8');
  const rows = blockToRows(decodeBlock(rowsToBlock(s, [JSON.parse('{"__proto__": 7}')])));
  assert.equal(JSON.stringify(rows), '[{"__proto__":7}]');
});

test('blockToRows output fed back through JSON and rowsToBlock gives byte-identical blocks (property)', () => {
  fc.assert(
    fc.property(schemaAndColumnsArb, ({ schema: s, columns }) => {
      // JSON has no negative zero (JSON.stringify(-0) is "0"), so -0 is the one value that cannot survive.
      const noNegativeZero = Object.fromEntries(Object.entries(columns).map(([k, vs]) => [k, vs.map((v) => (Object.is(v, -0) ? 0 : v))]));
      const bytes = encodeBlock(s, noNegativeZero);
      const json = JSON.stringify(blockToRows(decodeBlock(bytes)));
      assert.deepEqual(rowsToBlock(s, JSON.parse(json) as unknown[]), bytes);
    }),
    { numRuns: 300 },
  );
});

test('blockRowToJson gives one row; cellToJson maps unsafe bigints to strings', () => {
  const block = decodeBlock(rowsToBlock(schema, [{ host: 'h', cpu: 1, n: '9007199254740992', ok: false, _tp_time: 5 }]));
  assert.deepEqual(blockRowToJson(block, 0), { host: 'h', cpu: 1, n: '9007199254740992', ok: false, _tp_time: 5, note: null });
  assert.equal(cellToJson('int64', 9007199254740991n), 9007199254740991);
  assert.equal(cellToJson('datetime64', -(2n ** 60n)), '-1152921504606846976');
});
