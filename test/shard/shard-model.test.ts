import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ShardHandle } from '../../src/shard/shard-handle.js';
import { ShardError } from '../../src/shard/shard-error.js';
import { OFF_CRC } from '../../src/record/index.js';
import { SMALL, batchOf, payloadFor, recordsIn, tempShardDir } from './shard-fixtures.js';

type Op =
  | { kind: 'append'; count: number; payloadBytes: number; corrupt: boolean }
  | { kind: 'read'; fromFrac: number; maxBytes: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 8 }), payloadBytes: fc.integer({ min: 0, max: 2000 }), corrupt: fc.integer({ min: 0, max: 9 }).map((n) => n < 2) }),
  fc.record({ kind: fc.constant('read' as const), fromFrac: fc.double({ min: 0, max: 1, noNaN: true }), maxBytes: fc.integer({ min: 0, max: 20_000 }) }),
);

test('property: any sequence of concurrent appends (some with a bad CRC) and reads matches a model log', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
      const h = await ShardHandle.open({ dir: tempShardDir(), ...SMALL, inFlightMax: 6 });
      try {
        const model: Uint8Array[] = []; // payload by seq, in call order
        let nextId = 0;
        const checks: Promise<void>[] = [];
        for (const op of ops) {
          if (op.kind === 'append') {
            const id = nextId;
            nextId += op.count;
            const batch = batchOf(id, op.count, op.payloadBytes);
            if (op.corrupt) batch[OFF_CRC] ^= 1;
            const first = model.length;
            if (!op.corrupt) for (let k = 0; k < op.count; k++) model.push(payloadFor(id + k, op.payloadBytes));
            checks.push(
              h.append(batch).then(
                (r) => {
                  assert.ok(!op.corrupt, 'a corrupt batch is never acked');
                  assert.deepEqual([r.firstSeq, r.lastSeq, r.count], [first, first + op.count - 1, op.count]);
                },
                (e: unknown) => {
                  assert.ok(op.corrupt && e instanceof ShardError && e.code === 'BAD_RECORD', String(e));
                },
              ),
            );
          } else {
            const endAtCall = model.length;
            const from = Math.floor(op.fromFrac * endAtCall);
            checks.push(
              h.read(from, op.maxBytes).then((r) => {
                const recs = recordsIn(r.bytes);
                if (from < endAtCall) assert.ok(recs.length >= 1, 'at least one record when one exists');
                if (recs.length > 1) assert.ok(r.bytes.length <= op.maxBytes, 'maxBytes holds unless a single record exceeds it');
                assert.equal(r.count, recs.length);
                assert.equal(r.nextSeq, from + recs.length);
                recs.forEach((rec, k) => {
                  assert.equal(rec.seq, from + k);
                  assert.deepEqual(rec.payload, model[from + k]);
                });
              }),
            );
          }
        }
        await Promise.all(checks);
        assert.equal((await h.describe()).endSeq, model.length);
      } finally {
        await h.close();
      }
    }),
    { numRuns: 10, seed: 4242 },
  );
});
