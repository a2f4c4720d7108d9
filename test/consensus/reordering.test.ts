import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Message } from '../../src/consensus/types.js';
import { TestCluster, bytes } from './cluster-harness.js';

/**
 * The core alone (no simulator): whatever order, duplication or loss the
 * network inflicts on a burst of traffic, once it heals every node applies the
 * proposals the leader accepted, in proposal order.
 */
test('reordered, duplicated and dropped messages never change what is applied, only when', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 12 }),
    fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 200 }),
    (proposals, order, fate) => {
      const c = new TestCluster([1, 2, 3], { appendEntriesMax: 2, inFlightEntriesMax: 4 });
      c.elect(1);
      const sent: string[] = [];
      for (let i = 0; i < proposals; i++) {
        if (c.step(1, { type: 'propose', data: bytes(`v${i}`) }).refused === null) sent.push(`v${i}`);
        if (i % 3 === 0) c.tick(1);
      }
      // Chaos: deliver the pending traffic in a scrambled order, some twice, some never.
      for (let round = 0; round < 5 && c.inbox.length > 0; round++) {
        const pending: Message[] = c.inbox;
        c.inbox = [];
        for (let k = 0; k < pending.length; k++) {
          const j = (order[(k + round) % order.length] as number) % pending.length;
          const m = pending[j] as Message;
          const f = fate[(k * 7 + round) % fate.length] as number;
          if (f === 0) continue; // dropped
          const copies = f === 1 ? 2 : 1; // duplicated
          for (let d = 0; d < copies; d++) c.step(m.to, { type: 'message', message: m });
        }
      }
      // Heal: reliable delivery plus a few heartbeats.
      c.deliverAll();
      for (let i = 0; i < 6; i++) { c.tick(1); c.deliverAll(); }
      assert.deepEqual(c.leaders(), [1]);
      for (const id of [1, 2, 3]) assert.deepEqual(c.appliedTexts(id), sent, `node ${id}`);
    },
  ), { numRuns: 300 });
});

test('a deposed leader learns the higher term from any answer and steps down', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.linkUp = (m) => m.from !== 1 && m.to !== 1;
  c.elect(2);
  const term = c.node(2).status().term;
  c.linkUp = () => true;
  c.step(1, { type: 'propose', data: bytes('from-the-past') });
  c.deliverAll();
  assert.equal(c.node(1).status().role, 'follower');
  assert.equal(c.node(1).status().term, term);
  assert.deepEqual(c.leaders(), [2]);
});
