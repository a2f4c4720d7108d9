import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  COLUMNS_MAX,
  SchemaError,
  decodeBlock,
  encodeBlock,
  makeSchema,
  parseSchema,
  schemaToString,
  schemasEqual,
  validateBlock,
} from '../../src/block/index.js';
import { schemaArb } from './arbitraries.js';

test('parseSchema reads the example schema into names, types and nullability in order', () => {
  const s = parseSchema('host string, cpu float64, n int64, ok bool, _tp_time datetime64');
  assert.deepEqual(
    s.columns.map((c) => [c.name, c.type, c.nullable]),
    [
      ['host', 'string', false],
      ['cpu', 'float64', false],
      ['n', 'int64', false],
      ['ok', 'bool', false],
      ['_tp_time', 'datetime64', false],
    ],
  );
});

test('parseSchema accepts nullable(T), any case for types, datetime64(3), and free whitespace', () => {
  const s = parseSchema('  a   Nullable( Int64 ) ,b UINT8,c DateTime64(3), d nullable(datetime64(3))  ');
  assert.deepEqual(
    s.columns.map((c) => [c.name, c.type, c.nullable]),
    [
      ['a', 'int64', true],
      ['b', 'uint8', false],
      ['c', 'datetime64', false],
      ['d', 'datetime64', true],
    ],
  );
  assert.equal(schemaToString(s), 'a nullable(int64), b uint8, c datetime64, d nullable(datetime64)');
});

test('schemaToString then parseSchema gives back the same schema (property)', () => {
  fc.assert(
    fc.property(schemaArb, (s) => {
      const text = schemaToString(s);
      assert.ok(schemasEqual(parseSchema(text), s));
      assert.equal(schemaToString(parseSchema(text)), text);
    }),
    { numRuns: 500 },
  );
});

test('parseSchema rejects malformed text with a SchemaError that names the problem', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['a', /column 1 "a" is not "name type"/],
    ['a int32,', /column 2 "" is not "name type"/],
    ['a int128', /column "a" has unknown type "int128"/],
    ['a nullable(nullable(int8))', /unknown type/],
    ['a datetime64(6)', /precision "6" is not supported/],
    ['1a int8', /column name "1a" is invalid/],
    ['a-b int8', /column name "a-b" is invalid/],
    ['a int8, a string', /column "a" appears twice/],
    [`${'x'.repeat(256)} int8`, /is 256 bytes; the limit is 255/],
    [Array.from({ length: COLUMNS_MAX + 1 }, (_, i) => `c${i} int8`).join(','), /1025 columns; the limit is 1024/],
    ['a int8 '.repeat(10_000), /longer than 65536 bytes/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseSchema(text), (e: unknown) => e instanceof SchemaError && message.test(e.message), text.slice(0, 40));
  }
});

test('validateBlock accepts a block of the schema and names the first difference otherwise', () => {
  const s = parseSchema('a int32, b nullable(string)');
  const block = decodeBlock(encodeBlock(s, { a: [1], b: [null] }));
  assert.doesNotThrow(() => validateBlock(block, s));
  const cases: [string, RegExp][] = [
    ['a int32', /extra column 2 "b"/],
    ['a int32, b nullable(string), c bool', /lacks column 3 "c"/],
    ['x int32, b nullable(string)', /column 1 is "a"; the schema says "x"/],
    ['a int64, b nullable(string)', /column "a" is int32; the schema says int64/],
    ['a int32, b string', /column "b" is nullable\(string\); the schema says string/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => validateBlock(block, parseSchema(text)), (e: unknown) => e instanceof SchemaError && message.test(e.message));
  }
});

test('makeSchema rejects an empty column list and an unknown type given in code', () => {
  assert.throws(() => makeSchema([]), /at least one column/);
  assert.throws(() => makeSchema([{ name: 'a', type: 'int9' as never, nullable: false }]), /unknown type "int9"/);
});
