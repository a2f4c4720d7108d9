import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventQueue } from '../../src/sim/event-queue.js';
import { Prng } from '../../src/sim/prng.js';

test('one seed gives one sequence; different seeds give different sequences', () => {
  const draw = (seed: number) => { const r = new Prng(seed); return Array.from({ length: 32 }, () => r.nextU32()); };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
});

test('prng.int(n) stays in [0, n) and range(lo, hi) in [lo, hi]', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
    const r = new Prng(seed);
    for (let i = 0; i < 50; i++) {
      const v = r.int(n);
      assert.ok(Number.isInteger(v) && v >= 0 && v < n);
      const w = r.range(-n, n);
      assert.ok(w >= -n && w <= n);
    }
  }), { numRuns: 300 });
});

test('prng.int rejects a non-positive bound with a clear error', () => {
  assert.throws(() => new Prng(1).int(0), /positive integer/);
});

test('the event queue pops in time order, ties in insertion order', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
    const q = new EventQueue<number>();
    times.forEach((t, i) => q.push(t, i));
    const expected = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[1]);
    const got: number[] = [];
    for (let e = q.pop(); e !== undefined; e = q.pop()) got.push(e.event);
    assert.deepEqual(got, expected);
  }), { numRuns: 300 });
});
