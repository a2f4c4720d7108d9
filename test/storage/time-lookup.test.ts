import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unlinkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { RecordInput } from '../../src/record/record.js';
import { batch, openStore, readAll, tempDir } from './helpers.js';

interface Op {
  clockStep: number;
  records: Array<{ eventMin: number | null; spread: number; pad: number }>;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  clockStep: fc.integer({ min: -50, max: 100 }),
  records: fc.array(
    fc.record({
      eventMin: fc.option(fc.integer({ min: 0, max: 2000 }), { freq: 4 }),
      spread: fc.integer({ min: 0, max: 300 }),
      pad: fc.integer({ min: 0, max: 200 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
});

function toInput(r: Op['records'][number]): RecordInput {
  const base: RecordInput = { payload: new Uint8Array(r.pad) };
  return r.eventMin === null ? base : { ...base, eventTimeMin: r.eventMin, eventTimeMax: r.eventMin + r.spread };
}

/** Brute force: lowest seq whose value >= t, else endSeq. */
function lowest(values: number[], startSeq: number, endSeq: number, t: number): number {
  const i = values.findIndex((v) => v >= t);
  return i < 0 ? endSeq : startSeq + i;
}

test('seqForEventTime and seqForAppendTime equal a brute-force scan on random out-of-order times, across segments, reopen and lost indexes', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: -100, max: 6000 }), { minLength: 5, maxLength: 20 }), (ops, queries) => {
      const { dir, cleanup } = tempDir('nl-lookup-');
      try {
        let t = 1000;
        const opts = { dir, now: () => t, segmentBytesMax: 1500, indexIntervalBytes: 200 };
        let s = openStore(opts);
        for (const op of ops) {
          t += op.clockStep;
          s.append(batch(op.records.map(toInput)));
        }
        const check = (): void => {
          const all = readAll(s);
          const d = s.describe();
          const events = all.map((r) => r.eventTimeMax);
          const appends = all.map((r) => r.appendTime);
          for (let i = 1; i < appends.length; i++) assert.ok(appends[i]! >= appends[i - 1]!, 'append time is non-decreasing');
          for (const q of queries) {
            assert.equal(s.seqForEventTime(q), lowest(events, d.startSeq, d.endSeq, q), `event time ${q}`);
            assert.equal(s.seqForAppendTime(q), lowest(appends, d.startSeq, d.endSeq, q), `append time ${q}`);
          }
        };
        check();
        s.close();
        s = openStore(opts);
        check();
        s.abandon();
        for (const f of readdirSync(dir)) if (f.endsWith('.index')) unlinkSync(join(dir, f));
        s = openStore(opts);
        check();
        s.close();
      } finally {
        cleanup();
      }
    }),
    { numRuns: 40 },
  );
});
