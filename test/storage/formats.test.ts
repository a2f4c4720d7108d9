import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dataViewOf, patchServerFields, recordProblem } from '../../src/record/record.js';
import { appendProblem, storedRecordProblem } from '../../src/storage/batch-check.js';
import { type Checkpoint, TIME_NONE, decodeCheckpoint, encodeCheckpoint } from '../../src/storage/checkpoint.js';
import { crc32Small, patchServerFieldsFast } from '../../src/storage/server-fields.js';
import { INDEX_ENTRY_BYTES, SparseIndex, decodeIndex } from '../../src/storage/sparse-index.js';
import { crc32 } from '../../src/record/crc32.js';
import { batch, rec } from './helpers.js';

test('the allocation-free server-field patch writes the same bytes as patchServerFields', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), fc.nat({ max: 0xffffffff }), (seq, t, epoch) => {
      const a = batch([rec('payload')]);
      const b = a.slice();
      patchServerFields(dataViewOf(a), 0, seq, t, epoch);
      patchServerFieldsFast(b, dataViewOf(b), 0, seq, t, epoch);
      assert.deepEqual(b, a);
    }),
    { numRuns: 500 },
  );
});

test('crc32Small (slice-by-8) equals the zlib CRC-32 on random buffers and sub-ranges', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % bytes.length;
      const end = start + (b % (bytes.length - start + 1));
      assert.equal(crc32Small(bytes, start, end), crc32(bytes, start, end));
    }),
    { numRuns: 1000 },
  );
});

const checkpointArb: fc.Arbitrary<Checkpoint> = fc
  .record({
    bases: fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 6 }),
    producers: fc.array(
      fc.tuple(fc.integer({ min: 1, max: 2 ** 53 - 1 }), fc.array(fc.record({ producerSeqFirst: fc.nat({ max: 1000 }), producerSeqLast: fc.nat({ max: 1000 }), seqFirst: fc.nat(), appendTime: fc.nat() }), { maxLength: 5 })),
      { maxLength: 4 },
    ),
    time: fc.integer({ min: 0, max: 2 ** 45 }),
  })
  .map(({ bases, producers, time }) => {
    let seq = 5;
    const sealed = bases.map((n, i) => {
      const m = { baseSeq: seq, endSeq: seq + n, bytes: n * 88, firstAppendTime: time + i, appendTimeMax: time + i + 1, eventTimeMax: time - i, indexEntries: i + 1 };
      seq += n;
      return m;
    });
    const active = { baseSeq: seq, endSeq: seq, bytes: 0, firstAppendTime: TIME_NONE, appendTimeMax: TIME_NONE, eventTimeMax: TIME_NONE, indexEntries: 0 };
    return { startSeq: sealed[0]?.baseSeq ?? seq, active, sealed, lastAppendTime: time, producers: producers.map(([id, bs]) => [id, bs.map((b) => ({ ...b }))] as [number, typeof bs]) };
  });

test('checkpoints round-trip, and any flipped bit is rejected', () => {
  fc.assert(
    fc.property(checkpointArb, fc.nat(), (cp, bit) => {
      const bytes = encodeCheckpoint(cp);
      assert.deepEqual(decodeCheckpoint(bytes), cp);
      const damaged = bytes.slice();
      damaged[(bit >>> 3) % damaged.length]! ^= 1 << (bit & 7);
      assert.throws(() => decodeCheckpoint(damaged));
    }),
    { numRuns: 300 },
  );
});

test('sparse index entries round-trip; decoding keeps the valid prefix and names the first bad entry', () => {
  const ix = new SparseIndex();
  for (let i = 0; i < 10; i++) ix.add(i * 3, i * 512, 1000 + i, 50 + i * 2);
  const bytes = ix.encode(0, ix.count);
  assert.equal(bytes.length, 10 * INDEX_ENTRY_BYTES);
  const d = decodeIndex(bytes, 10 * 512);
  assert.equal(d.problem, null);
  assert.deepEqual([...d.index.relSeq.subarray(0, 10)], [...ix.relSeq.subarray(0, 10)]);
  assert.deepEqual([...d.index.eventTimeMax.subarray(0, 10)], [...ix.eventTimeMax.subarray(0, 10)]);
  const bad = bytes.slice();
  bad[6 * INDEX_ENTRY_BYTES + 9] ^= 4;
  const d2 = decodeIndex(bad, 10 * 512);
  assert.equal(d2.index.count, 6);
  assert.match(d2.problem!, /entry 6: bad crc/);
  assert.match(decodeIndex(bytes.subarray(0, bytes.length - 3), 10 * 512).problem!, /partial entry/);
  assert.match(decodeIndex(bytes, 4 * 512).problem!, /past the segment end/);
});

test('sparse index searches find the floor seq and the last entry below a time', () => {
  const ix = new SparseIndex();
  [[0, 0, 10, 5], [4, 100, 20, 30], [9, 250, 30, 30], [15, 400, 40, 90]].forEach(([r, p, a, e]) => ix.add(r!, p!, a!, e!));
  assert.deepEqual([0, 3, 4, 8, 9, 100].map((r) => ix.floorByRelSeq(r)), [0, 0, 1, 1, 2, 3]);
  assert.deepEqual([5, 6, 30, 31, 91].map((t) => ix.lastBelowEventTime(t)), [-1, 0, 0, 2, 3]);
  assert.deepEqual([10, 11, 40, 41].map((t) => ix.lastBelowAppendTime(t)), [-1, 0, 2, 3]);
});

test('the append-path and read-path checks accept and reject exactly what recordProblem does (random records, random damage)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ payload: fc.uint8Array({ maxLength: 400 }), key: fc.uint8Array({ maxLength: 10 }), headers: fc.array(fc.record({ name: fc.string({ maxLength: 5 }), value: fc.uint8Array({ maxLength: 8 }) }), { maxLength: 2 }) }), { minLength: 1, maxLength: 3 }),
      fc.nat(),
      fc.nat({ max: 255 }),
      fc.boolean(),
      (inputs, where, value, damage) => {
        const bytes = batch(inputs);
        for (let off = 0, seq = 0; off < bytes.length; seq++) {
          const len = dataViewOf(bytes).getUint32(off, true);
          patchServerFields(dataViewOf(bytes), off, seq, 1000 + seq, 1);
          off += len;
        }
        if (damage) bytes[where % bytes.length] = value;
        const dv = dataViewOf(bytes);
        for (let pos = 0; pos < bytes.length; ) {
          const a = appendProblem(bytes, dv, pos, bytes.length, 1 << 20);
          const b = recordProblem(dv, pos, bytes.length, 1 << 20, false);
          assert.equal(typeof a === 'number' ? a : a[0], typeof b === 'number' ? b : b[0]);
          const c = storedRecordProblem(bytes, dv, pos, bytes.length, 1 << 20);
          const d = recordProblem(dv, pos, bytes.length, 1 << 20, true);
          assert.equal(typeof c === 'number' ? c : c[0], typeof d === 'number' ? d : d[0]);
          if (typeof a !== 'number') break;
          pos += a;
        }
      },
    ),
    { numRuns: 1000 },
  );
});
