/** The bounded outbound queue: both bounds refuse the newest frame; FIFO order; accounting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeerQueue } from '../../src/cluster/peer-queue.js';

const frame = (bytes: number) => ({ parts: [new Uint8Array(bytes)], bytes });

test('the message bound refuses the newest frame', () => {
  const q = new PeerQueue(3, 1000);
  assert.equal(q.push(frame(1)), true);
  assert.equal(q.push(frame(2)), true);
  assert.equal(q.push(frame(3)), true);
  assert.equal(q.push(frame(4)), false);
  assert.equal(q.length, 3);
  assert.equal(q.bytes, 6);
  assert.equal(q.shift()?.bytes, 1);
  assert.equal(q.push(frame(5)), true);
});

test('the byte bound refuses the newest frame', () => {
  const q = new PeerQueue(100, 10);
  assert.equal(q.push(frame(6)), true);
  assert.equal(q.push(frame(5)), false);
  assert.equal(q.push(frame(4)), true);
  assert.equal(q.bytes, 10);
});

test('FIFO, and a push is refused exactly when it would pass a bound (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constant(0)), { maxLength: 3000 }), (ops) => {
      const q = new PeerQueue(20, 300);
      const model: { tag: number; bytes: number }[] = [];
      let id = 0;
      for (const op of ops) {
        if (op === 0) {
          const f = q.shift();
          const m = model.shift();
          assert.equal(f?.parts[0]?.[0], m?.tag);
        } else {
          const tag = ++id % 256;
          const f = frame(op);
          f.parts[0]![0] = tag;
          const expected = model.length < 20 && model.reduce((a, m) => a + m.bytes, 0) + op <= 300;
          assert.equal(q.push(f), expected);
          if (expected) model.push({ tag, bytes: op });
        }
        assert.equal(q.length, model.length);
        assert.equal(q.bytes, model.reduce((a, m) => a + m.bytes, 0));
      }
    }),
  );
});
