import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  RecordError,
  dataViewOf,
  decodeRecord,
  encodeRecord,
  encodedRecordLength,
  forEachRecord,
  patchServerFields,
  recordProblem,
  validateRecord,
  type RecordInput,
} from '../../src/record/record.js';
import {
  CODEC_BLOCK,
  CRC_START,
  OFF_HEADERS_LENGTH,
  OFF_KEY_LENGTH,
  OFF_LENGTH,
  OFF_PAYLOAD_LENGTH,
  OFF_SERVER_CRC,
  RECORD_HEADER_BYTES,
  SERVER_CRC_START,
} from '../../src/record/layout.js';

const timeArb = fc.integer({ min: -8_640_000_000_000, max: 8_640_000_000_000 });

const recordInputArb: fc.Arbitrary<RecordInput> = fc
  .record({
    payload: fc.uint8Array({ maxLength: 512 }),
    key: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
    headers: fc.option(
      fc.array(fc.record({ name: fc.string({ maxLength: 16 }), value: fc.uint8Array({ maxLength: 32 }) }), { maxLength: 4 }),
      { nil: undefined },
    ),
    eventTimes: fc.option(fc.tuple(timeArb, fc.nat({ max: 1_000_000 })), { nil: undefined }),
    codec: fc.constantFrom(0, CODEC_BLOCK),
    tombstone: fc.boolean(),
    schemaVersion: fc.integer({ min: 0, max: 0xffff }),
    rowCount: fc.integer({ min: 0, max: 0xffff_ffff }),
    producerId: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    producerSeq: fc.integer({ min: 0, max: 0xffff_ffff }),
  })
  .map(({ eventTimes, ...rest }) => {
    const input: RecordInput = { ...rest };
    if (rest.key === undefined) delete input.key;
    if (rest.headers === undefined) delete input.headers;
    if (eventTimes !== undefined) {
      input.eventTimeMin = eventTimes[0];
      input.eventTimeMax = eventTimes[0] + eventTimes[1];
    }
    return input;
  });

test('encode then decode returns every field a producer wrote, and the server fields patched in', () => {
  fc.assert(
    fc.property(recordInputArb, fc.nat({ max: 2 ** 40 }), timeArb, fc.nat({ max: 0xffff_ffff }), (input, seq, appendTime, epoch) => {
      const bytes = encodeRecord(input);
      assert.equal(bytes.length, encodedRecordLength(input));
      assert.equal(bytes.length % 8, 0, 'record length is 8-aligned');
      patchServerFields(dataViewOf(bytes), 0, seq, appendTime, epoch);
      const r = decodeRecord(bytes);
      assert.deepEqual(r.payload, input.payload);
      assert.deepEqual(r.key, input.key ?? new Uint8Array(0));
      assert.deepEqual(
        r.headers.map((h) => [h.name, [...h.value]]),
        (input.headers ?? []).map((h) => [h.name, [...h.value]]),
      );
      assert.equal(r.seq, seq);
      assert.equal(r.appendTime, appendTime);
      assert.equal(r.epoch, epoch);
      assert.equal(r.codec, input.codec);
      assert.equal(r.tombstone, input.tombstone);
      assert.equal(r.schemaVersion, input.schemaVersion);
      assert.equal(r.rowCount, input.rowCount);
      assert.equal(r.producerId, input.producerId);
      assert.equal(r.producerSeq, input.producerSeq);
      assert.equal(r.eventTimeMin, input.eventTimeMin ?? appendTime);
      assert.equal(r.eventTimeMax, input.eventTimeMax ?? appendTime);
      assert.equal((r.payload.byteOffset - bytes.byteOffset) % 8, 0, 'payload starts 8-aligned within the record');
      validateRecord(dataViewOf(bytes), 0, bytes.length, undefined, true);
    }),
    { numRuns: 500 },
  );
});

test('decoded key and payload are views of the given bytes, not copies', () => {
  const bytes = encodeRecord({ payload: new Uint8Array([1, 2, 3]), key: new Uint8Array([9]) });
  const r = decodeRecord(bytes);
  assert.equal(r.payload.buffer, bytes.buffer);
  assert.equal(r.key.buffer, bytes.buffer);
});

test('patching seq, append time and epoch leaves the record CRC valid (the node never recomputes it)', () => {
  const bytes = encodeRecord({ payload: new TextEncoder().encode('hello') });
  const before = recordProblem(dataViewOf(bytes), 0);
  patchServerFields(dataViewOf(bytes), 0, 123456789, 1_700_000_000_000, 7);
  assert.equal(before, bytes.length);
  assert.equal(recordProblem(dataViewOf(bytes), 0), bytes.length);
});

test('any single-bit flip inside the CRC-covered range is detected', () => {
  fc.assert(
    fc.property(recordInputArb, fc.nat(), fc.nat({ max: 7 }), (input, at, bit) => {
      const bytes = encodeRecord(input);
      const pos = CRC_START + (at % (bytes.length - CRC_START));
      bytes[pos]! ^= 1 << bit;
      const problem = recordProblem(dataViewOf(bytes), 0);
      assert.ok(Array.isArray(problem), `flip at byte ${pos} bit ${bit} went undetected`);
    }),
    { numRuns: 3000 },
  );
});

test('any single-bit flip in the length or CRC fields is detected', () => {
  fc.assert(
    fc.property(recordInputArb, fc.nat({ max: 63 }), (input, bitIndex) => {
      const bytes = encodeRecord(input);
      const pos = OFF_LENGTH + (bitIndex >> 3);
      bytes[pos]! ^= 1 << (bitIndex & 7);
      assert.ok(Array.isArray(recordProblem(dataViewOf(bytes), 0)));
    }),
    { numRuns: 1000 },
  );
});

test('a flip in the server-assigned fields is caught by serverCrc', () => {
  fc.assert(
    fc.property(recordInputArb, fc.nat(), fc.nat({ max: 7 }), (input, at, bit) => {
      const bytes = encodeRecord(input);
      patchServerFields(dataViewOf(bytes), 0, 42, 1_700_000_000_000, 1);
      const pos = SERVER_CRC_START + (at % (OFF_SERVER_CRC + 4 - SERVER_CRC_START));
      bytes[pos]! ^= 1 << bit;
      const problem = recordProblem(dataViewOf(bytes), 0, bytes.length, undefined, true);
      assert.ok(Array.isArray(problem) && problem[0] === 'bad-server-crc');
    }),
    { numRuns: 1000 },
  );
});

test('length fields pointing past the buffer are rejected with a RecordError, never read out of bounds', () => {
  fc.assert(
    fc.property(
      recordInputArb,
      fc.constantFrom(OFF_LENGTH, OFF_KEY_LENGTH, OFF_HEADERS_LENGTH, OFF_PAYLOAD_LENGTH),
      fc.nat({ max: 0xffff_ffff }),
      fc.nat(),
      (input, field, value, cut) => {
        const full = encodeRecord(input);
        const dv = dataViewOf(full);
        if (field === OFF_KEY_LENGTH) dv.setUint16(field, value & 0xffff, true);
        else dv.setUint32(field, value, true);
        // Also present the record in a buffer cut short at a random point.
        const bytes = full.subarray(0, cut % (full.length + 1));
        try {
          validateRecord(dataViewOf(bytes), 0);
        } catch (e) {
          assert.ok(e instanceof RecordError, `expected RecordError, got ${String(e)}`);
          return;
        }
        // Only the untouched value may validate, and only in the full buffer.
        assert.equal(bytes.length, full.length);
      },
    ),
    { numRuns: 3000 },
  );
});

test('random garbage never validates and never throws anything but RecordError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const problem = recordProblem(dataViewOf(bytes), 0);
      assert.ok(Array.isArray(problem));
    }),
    { numRuns: 3000 },
  );
});

test('forEachRecord walks concatenated records and stops with an error at a torn tail', () => {
  const a = encodeRecord({ payload: new Uint8Array(10) });
  const b = encodeRecord({ payload: new Uint8Array(100), key: new Uint8Array(3) });
  const run = new Uint8Array(a.length + b.length);
  run.set(a, 0);
  run.set(b, a.length);
  const seen: number[] = [];
  assert.equal(forEachRecord(run, (off) => seen.push(off)), 2);
  assert.deepEqual(seen, [0, a.length]);
  assert.throws(() => forEachRecord(run.subarray(0, run.length - 8), () => {}), RecordError);
});

test('the header is 80 bytes and an empty record is exactly the header', () => {
  assert.equal(encodeRecord({ payload: new Uint8Array(0) }).length, RECORD_HEADER_BYTES);
});

test('encoding refuses an event time range whose max is before its min', () => {
  assert.throws(() => encodeRecord({ payload: new Uint8Array(1), eventTimeMin: 10, eventTimeMax: 5 }), RangeError);
});
