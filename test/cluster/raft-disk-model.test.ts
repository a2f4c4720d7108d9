/**
 * Property test: random persist sequences (the shapes a RaftNode emits) with
 * reopens at random points, on the in-memory file layer, against SimDisk,
 * the simulator's model of the Persist contract. After every reopen the
 * durable state equals the model's; small segments force rolls and
 * compaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RaftDisk } from '../../src/cluster/raft-disk.js';
import { SimDisk } from '../../src/sim/sim-disk.js';
import { PowerLossFs } from '../torture/harness/power-loss-fs.js';
import { assertSameState, nextPersist } from './raft-disk-gen.js';

const DIR = '/data/@raft';

test('random persists with reopens: every reopen gives exactly the model state (rolls, truncations, compaction, installs)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 1_000_000 }), { minLength: 50, maxLength: 400 }),
      fc.array(fc.nat({ max: 60 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 200, max: 5000 }),
      (draws, reopenAt, segmentBytesMax) => {
        let cursor = 0;
        const pick = (n: number): number => (n <= 1 ? 0 : (draws[cursor++ % draws.length] as number) % n);
        const layer = new PowerLossFs();
        layer.mkdirp('/data');
        const model = new SimDisk();
        let { disk } = RaftDisk.open(DIR, layer, { segmentBytesMax });
        const reopens = new Set(reopenAt);
        for (let step = 0; step < 60; step++) {
          const p = nextPersist(model, pick);
          disk.persist(p);
          model.apply(p);
          if (reopens.has(step) || step === 59) {
            disk.close();
            const r = RaftDisk.open(DIR, layer, { segmentBytesMax });
            assertSameState(r.durable, model.durableState(), `after step ${step}`);
            disk = r.disk;
            const st = disk.status();
            assert.equal(st.lastIndex, model.lastIndex());
            assert.equal(st.snapshotIndex, model.snapshot?.index ?? 0);
          }
        }
        disk.close();
      },
    ),
    { numRuns: 300 },
  );
});
