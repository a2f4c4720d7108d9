/**
 * The pure rules of recovery and replica trust (src/replication/verify-end.ts):
 * the tail search over R - W + 1 fence answers finds every record a write
 * quorum may hold, and a replica's log is trusted only up to the seal of the
 * segment of its last record's epoch. The property test builds histories the
 * way the write path does (one sequencer per epoch, acks from a quorum,
 * crashes at any point) and checks that no acknowledged record is ever
 * outside the recovered end, whichever R - W + 1 replicas answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { recoveryEnd, trustedEnd } from '../../src/replication/verify-end.js';
import { writeQuorum } from '../../src/replication/sequencer.js';
import type { SegmentPlacement } from '../../src/metastore/types.js';

const seg = (baseSeq: number, endSeq: number | null, epoch: number, replicas = [1, 2, 3]): SegmentPlacement => ({ baseSeq, endSeq, epoch, replicas });

test('trustedEnd: a log is trusted up to the seal of the segment of its last record epoch', () => {
  const segments = [seg(0, 10, 1), seg(10, 25, 2), seg(25, null, 3)];
  assert.equal(trustedEnd(8, 1, segments), 8, 'a lagging replica of a sealed segment: all of it');
  assert.equal(trustedEnd(12, 1, segments), 10, 'a deposed epoch-1 tail past the seal at 10 is not trusted');
  assert.equal(trustedEnd(30, 2, segments), 25, 'epoch 2 records past 25 are a tail of a deposed sequencer');
  assert.equal(trustedEnd(31, 3, segments), 31, 'the active segment: all of it');
  assert.equal(trustedEnd(0, 0, segments), 0);
  assert.equal(trustedEnd(5, 0, []), 5, 'records of no epoch (a node alone): trusted');
  assert.equal(trustedEnd(14, 4, [seg(0, 10, 1), seg(10, null, 5)]), 10, 'an epoch with no segment: up to the first newer one');
});

test('recoveryEnd: only answers of the segment epoch count; the highest wins', () => {
  const answers = new Map([
    [1, { endSeq: 17, lastEpoch: 2 }],
    [2, { endSeq: 19, lastEpoch: 2 }],
    [3, { endSeq: 40, lastEpoch: 1 }], // an old epoch's tail: holds nothing of segment 2
  ]);
  assert.deepEqual(recoveryEnd(answers, 2, 10), { endSeq: 19, source: 2 });
  assert.deepEqual(recoveryEnd(new Map([[3, { endSeq: 40, lastEpoch: 1 }]]), 2, 10), { endSeq: 10, source: null });
});

test('property: any R - W + 1 fence answers cover every record a write quorum stored', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 7 }),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.array(fc.boolean(), { minLength: 7, maxLength: 7 })), { maxLength: 30 }),
      fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 7, maxLength: 7 }),
      (R, batches, order) => {
        const W = writeQuorum(R);
        const base = 100;
        // Each replica stores a prefix of the sequencer's batches (a replica that missed one stores nothing after it).
        const ends = Array.from({ length: R }, () => base);
        const stopped = Array.from({ length: R }, () => false);
        let acked = base;
        let seq = base;
        for (const [count, got] of batches) {
          const end = seq + count;
          let holders = 0;
          for (let r = 0; r < R; r++) {
            if (!stopped[r] && got[r]) {
              ends[r] = end;
              holders++;
            } else stopped[r] = true;
          }
          if (holders >= W) acked = end; // the sequencer acked it (and everything before: prefixes)
          seq = end;
        }
        // A different R - W + 1 of them answer the fence, picked by `order`.
        const chosen = new Set<number>();
        for (const o of order) if (chosen.size < R - W + 1) chosen.add(o % R);
        for (let r = 0; chosen.size < R - W + 1; r++) chosen.add(r);
        const answers = new Map([...chosen].map((r) => [r + 1, { endSeq: ends[r]!, lastEpoch: ends[r]! > base ? 7 : 6 }]));
        const got = recoveryEnd(answers, 7, base);
        assert.ok(got.endSeq >= acked, `recovered end ${got.endSeq} loses acked records up to ${acked} (R=${R}, answers ${JSON.stringify([...answers])})`);
        assert.ok(got.endSeq <= seq, 'recovery never invents records');
      },
    ),
    { numRuns: 2000 },
  );
});
