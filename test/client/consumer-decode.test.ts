/**
 * decodeFetchBody: the consumer decodes a fetch answer's records straight
 * into ConsumedRecords (one DataView per body). It must give the fields
 * decodeRecord gives, stop before the end seq, and refuse (BAD_RESPONSE) a
 * body holding a record that fails its CRC, handing out none of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFetchBody } from '../../src/client/consumer.js';
import { NativeLogError, type ConsumedRecord } from '../../src/client/types.js';
import { dataViewOf, decodeRecord, encodeRecord, patchServerFields, type RecordInput } from '../../src/record/record.js';
import { CODEC_BLOCK } from '../../src/record/layout.js';

const te = new TextEncoder();

function body(inputs: RecordInput[], firstSeq: number, appendTime: number, at = 0): Uint8Array {
  const recs = inputs.map((i) => encodeRecord(i));
  const total = recs.reduce((n, r) => n + r.length, 0);
  const buf = new Uint8Array(new ArrayBuffer(at + total), at, total); // a body that starts inside its ArrayBuffer
  let off = 0;
  recs.forEach((r, i) => {
    buf.set(r, off);
    patchServerFields(dataViewOf(buf), off, firstSeq + i, appendTime + i, 3);
    off += r.length;
  });
  return buf;
}

const inputs: RecordInput[] = [
  { payload: te.encode('plain') },
  { payload: te.encode('keyed'), key: te.encode('user-1'), eventTimeMin: 1_700_000_000_000, eventTimeMax: 1_700_000_000_500 },
  { payload: te.encode('with headers'), headers: [{ name: 'h1', value: te.encode('v1') }, { name: 'ü', value: new Uint8Array(0) }], eventTimeMin: -5 },
  { payload: new Uint8Array(64).fill(9), codec: CODEC_BLOCK, schemaVersion: 7, rowCount: 12, tombstone: true },
  { payload: new Uint8Array(0) },
];

function expectedOf(b: Uint8Array, shard: number): ConsumedRecord[] {
  const out: ConsumedRecord[] = [];
  for (let off = 0; off < b.length; ) {
    const d = decodeRecord(b, off);
    out.push({ shard, seq: d.seq, epoch: d.epoch, appendTime: d.appendTime, eventTime: d.eventTimeMin, eventTimeMax: d.eventTimeMax, key: d.key, value: d.payload, headers: d.headers, codec: d.codec, schemaVersion: d.schemaVersion, rowCount: d.rowCount });
    off += d.length;
  }
  return out;
}

test('decodeFetchBody gives the same records as decodeRecord, values as views into the body', () => {
  for (const at of [0, 8, 24]) {
    const b = body(inputs, 100, 1_800_000_000_000, at);
    const out: ConsumedRecord[] = [];
    assert.equal(decodeFetchBody(b, 2, Infinity, out), false);
    assert.deepEqual(out, expectedOf(b, 2));
    assert.equal(out[1]!.value.buffer, b.buffer);
    assert.equal(out[1]!.key.buffer, b.buffer);
    assert.deepEqual(out.map((r) => r.seq), [100, 101, 102, 103, 104]);
    assert.equal(out[0]!.eventTime, out[0]!.appendTime);
    assert.equal(out[2]!.eventTime, -5);
    assert.equal(out[0]!.key.length, 0);
    assert.deepEqual(out[2]!.headers.map((h) => h.name), ['h1', 'ü']);
  }
});

test('decodeFetchBody stops before the first record at or past the end seq', () => {
  const b = body(inputs, 10, 0);
  const out: ConsumedRecord[] = [];
  assert.equal(decodeFetchBody(b, 0, 13, out), true);
  assert.deepEqual(out.map((r) => r.seq), [10, 11, 12]);
});

test('a record that fails its CRC makes the whole body a BAD_RESPONSE', () => {
  const b = body(inputs, 0, 0);
  const second = decodeRecord(b, 0).length;
  b[second + 90]! ^= 1; // inside the second record's CRC-covered bytes
  const out: ConsumedRecord[] = [];
  assert.throws(
    () => decodeFetchBody(b, 0, Infinity, out),
    (e) => e instanceof NativeLogError && e.codeName === 'BAD_RESPONSE' && /CRC/.test(e.message),
  );
});

test('an empty key is a zero-length array, and each record has its own headers array', () => {
  const b = body([{ payload: te.encode('a') }, { payload: te.encode('b') }], 0, 0);
  const out: ConsumedRecord[] = [];
  decodeFetchBody(b, 0, Infinity, out);
  assert.equal(out[0]!.key.length, 0);
  assert.equal(out[1]!.key.length, 0);
  out[0]!.headers.push({ name: 'x', value: new Uint8Array(0) });
  assert.equal(out[1]!.headers.length, 0);
});
