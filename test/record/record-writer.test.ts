/**
 * encodeRecordInto no longer zeroes the record's bytes first (it writes every
 * byte itself), and RecordWriter encodes many records into one buffer through
 * one DataView (the producer's batch): both must give exactly encodeRecord's
 * bytes, whatever the buffer held before and wherever the buffer's view starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordWriter, decodeRecord, encodeRecord, encodeRecordInto, encodedRecordLength, type RecordInput } from '../../src/record/record.js';
import { CODEC_BLOCK } from '../../src/record/layout.js';

const timeArb = fc.integer({ min: -8_640_000_000_000, max: 8_640_000_000_000 });

const recordInputArb: fc.Arbitrary<RecordInput> = fc
  .record({
    payload: fc.uint8Array({ maxLength: 300 }),
    key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
    headers: fc.option(fc.array(fc.record({ name: fc.string({ maxLength: 12 }), value: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 3 }), {
      nil: undefined,
    }),
    eventTimes: fc.option(fc.tuple(timeArb, fc.nat({ max: 1_000_000 })), { nil: undefined }),
    codec: fc.constantFrom(0, CODEC_BLOCK),
    tombstone: fc.boolean(),
    schemaVersion: fc.integer({ min: 0, max: 0xffff }),
    rowCount: fc.integer({ min: 0, max: 0xffff_ffff }),
    producerId: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    producerSeq: fc.integer({ min: 0, max: 0xffff_ffff }),
  })
  // Fields present but undefined, as the producer's reused input object has them.
  .map(({ eventTimes, ...rest }) => ({ ...rest, eventTimeMin: eventTimes?.[0], eventTimeMax: eventTimes === undefined ? undefined : eventTimes[0] + eventTimes[1] }));

test('encodeRecordInto over a buffer full of garbage writes exactly encodeRecord\'s bytes (pads, reserved and server fields zero)', () => {
  fc.assert(
    fc.property(recordInputArb, fc.integer({ min: 0, max: 255 }), fc.nat({ max: 16 }), (input, junk, at) => {
      const expected = encodeRecord(input);
      const buf = new Uint8Array(at + expected.length + 8).fill(junk);
      assert.equal(encodeRecordInto(buf, at, input), expected.length);
      assert.deepEqual(buf.subarray(at, at + expected.length), expected);
      // Bytes around the record are untouched.
      assert.ok(buf.subarray(0, at).every((b) => b === junk));
      assert.ok(buf.subarray(at + expected.length).every((b) => b === junk));
    }),
    { numRuns: 300 },
  );
});

test('a RecordWriter gives encodeRecord\'s bytes for runs of records, on reused dirty buffers and on views that start inside their ArrayBuffer', () => {
  fc.assert(
    fc.property(fc.array(recordInputArb, { minLength: 1, maxLength: 8 }), fc.nat({ max: 64 }), (inputs, viewStart) => {
      const expected = inputs.map((i) => encodeRecord(i));
      const total = expected.reduce((n, e) => n + e.length, 0);
      // One ArrayBuffer reused for two writers over different views of it (a batch buffer replaced by the next one).
      const backing = new ArrayBuffer(viewStart + total + 64);
      for (const start of [viewStart, 0]) {
        new Uint8Array(backing).fill(0xa5);
        const bytes = new Uint8Array(backing, start, total + 8);
        const w = new RecordWriter(bytes);
        assert.equal(w.bytes, bytes);
        let off = 0;
        for (const input of inputs) off += w.encode(off, input);
        assert.equal(off, total);
        let pos = 0;
        for (const e of expected) {
          assert.deepEqual(bytes.subarray(pos, pos + e.length), e);
          pos += e.length;
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('two RecordWriters used in turn each write only their own buffer', () => {
  const a = new Uint8Array(4096);
  const b = new Uint8Array(4096);
  const wa = new RecordWriter(a);
  const wb = new RecordWriter(b);
  let offA = 0;
  let offB = 0;
  for (let i = 0; i < 10; i++) {
    offA += wa.encode(offA, { payload: new Uint8Array([i]), producerSeq: i });
    offB += wb.encode(offB, { payload: new Uint8Array([100 + i, 1, 2]), producerSeq: 100 + i, key: new Uint8Array([i]) });
  }
  for (let i = 0, off = 0; i < 10; i++) {
    const d = decodeRecord(a, off);
    assert.deepEqual([...d.payload], [i]);
    assert.equal(d.producerSeq, i);
    assert.equal(d.key.length, 0);
    off += d.length;
  }
  for (let i = 0, off = 0; i < 10; i++) {
    const d = decodeRecord(b, off);
    assert.deepEqual([...d.payload], [100 + i, 1, 2]);
    assert.deepEqual([...d.key], [i]);
    off += d.length;
  }
});

test('a RecordWriter refuses a record that does not fit, leaving the bytes before it as they were', () => {
  const input = { payload: new Uint8Array(100) };
  const len = encodedRecordLength(input);
  const bytes = new Uint8Array(len + 10);
  const w = new RecordWriter(bytes);
  assert.equal(w.encode(0, input), len);
  const before = Uint8Array.from(bytes.subarray(0, len));
  assert.throws(() => w.encode(len, input), RangeError);
  assert.throws(() => w.encode(-8, input), RangeError);
  assert.deepEqual(bytes.subarray(0, len), before);
});
