import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  SchemaError,
  blockEventTimeRange,
  blockToRecordInput,
  blockToRows,
  decodeBlock,
  encodeBlock,
  parseSchema,
  rowsToBlock,
} from '../../src/block/index.js';
import { CODEC_BLOCK, decodeRecord, encodeRecord, encodedRecordLength, encodeRecordInto, forEachRecord } from '../../src/record/index.js';

const schema = parseSchema('host string, _tp_time nullable(datetime64), at datetime64');

test('the event-time range is the min and max of _tp_time, skipping nulls', () => {
  const block = decodeBlock(encodeBlock(schema, { host: ['a', 'b', 'c', 'd'], _tp_time: [30, null, -5, 12], at: [100, 200, 300, 400] }));
  assert.deepEqual(blockEventTimeRange(block), { min: -5, max: 30 });
  assert.deepEqual(blockEventTimeRange(block, 'at'), { min: 100, max: 400 });
});

test('the event-time range is null when the column is absent or all null, and an error when it is not datetime64', () => {
  const block = decodeBlock(encodeBlock(schema, { host: ['a'], _tp_time: [null], at: [1] }));
  assert.equal(blockEventTimeRange(block), null);
  assert.equal(blockEventTimeRange(block, 'missing'), null);
  assert.throws(() => blockEventTimeRange(block, 'host'), (e: unknown) => e instanceof SchemaError && /"host" is string; it must be datetime64/.test(e.message));
});

test('the event-time range equals the min and max of the values (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1e15, max: 1e15 }), { minLength: 1, maxLength: 50 }), (times) => {
      const block = decodeBlock(encodeBlock(parseSchema('_tp_time datetime64'), { _tp_time: times }));
      assert.deepEqual(blockEventTimeRange(block), { min: Math.min(...times), max: Math.max(...times) });
    }),
  );
});

test('blockToRecordInput makes a CODEC_BLOCK record with rowCount, schemaVersion and event-time range from the block', () => {
  const bytes = encodeBlock(schema, { host: ['a', 'b'], _tp_time: [20, 10], at: [0, 0] });
  const input = blockToRecordInput(bytes, { schemaVersion: 7, schema, key: new Uint8Array([1]) });
  assert.equal(input.payload, bytes);
  assert.deepEqual(
    { codec: input.codec, rowCount: input.rowCount, schemaVersion: input.schemaVersion, min: input.eventTimeMin, max: input.eventTimeMax },
    { codec: CODEC_BLOCK, rowCount: 2, schemaVersion: 7, min: 10, max: 20 },
  );
  const record = decodeRecord(encodeRecord(input));
  assert.deepEqual([record.codec, record.rowCount, record.schemaVersion, record.eventTimeMin, record.eventTimeMax], [CODEC_BLOCK, 2, 7, 10, 20]);
  assert.deepEqual(record.key, new Uint8Array([1]));
});

test('blockToRecordInput leaves event time unset without an event-time column, and honours eventTimeColumn', () => {
  const bytes = rowsToBlock(parseSchema('x int8, t datetime64'), [{ x: 1, t: 5 }]);
  assert.equal(blockToRecordInput(bytes, { schemaVersion: 1 }).eventTimeMin, undefined);
  assert.equal(blockToRecordInput(bytes, { schemaVersion: 1, eventTimeColumn: 't' }).eventTimeMax, 5);
});

test('blockToRecordInput rejects a block that does not match the given schema and a schemaVersion past u16', () => {
  const bytes = rowsToBlock(parseSchema('x int8'), [{ x: 1 }]);
  assert.throws(() => blockToRecordInput(bytes, { schemaVersion: 1, schema: parseSchema('x int16') }), /column "x" is int8; the schema says int16/);
  assert.throws(() => blockToRecordInput(bytes, { schemaVersion: 65536 }), /schemaVersion 65536 is not an integer in 0..65535/);
  assert.throws(() => blockToRecordInput(bytes, { schemaVersion: -1 }), RangeError);
});

test('blocks in a received run of records (8-aligned) decode as views over the run buffer, with any key length', () => {
  const s = parseSchema('n int64, f float32, _tp_time datetime64');
  const inputs = [0, 1, 3, 7, 13].map((keyLength, i) =>
    blockToRecordInput(rowsToBlock(s, [{ n: i, f: 0.5, _tp_time: 1000 + i }]), { schemaVersion: 1, key: new Uint8Array(keyLength).fill(65) }),
  );
  const total = inputs.reduce((sum, r) => sum + encodedRecordLength(r), 0);
  const received = new Uint8Array(new ArrayBuffer(total + 64), 64, total); // as if read from a socket into a pooled buffer
  let at = 0;
  for (const r of inputs) at += encodeRecordInto(received, at, r);
  let i = 0;
  forEachRecord(received, (offset) => {
    const record = decodeRecord(received, offset);
    const block = decodeBlock(record.payload);
    assert.equal(block.copied, false);
    assert.equal(block.columnOf('n', 'int64').values.buffer, received.buffer);
    assert.deepEqual(blockToRows(block), [{ n: i, f: 0.5, _tp_time: 1000 + i }]);
    assert.equal(record.eventTimeMin, 1000 + i);
    i++;
  });
  assert.equal(i, inputs.length);
});
