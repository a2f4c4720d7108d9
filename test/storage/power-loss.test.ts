import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemFileLayer } from '../../src/storage/mem-file-layer.js';
import { ShardStore } from '../../src/storage/shard-store.js';
import type { FsyncPolicy } from '../../src/storage/types.js';
import { batch, readAll, rec, textOf } from './helpers.js';

type Op =
  | { kind: 'append'; n: number; size: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'sync' }
  | { kind: 'roll' }
  | { kind: 'reopen' }
  | { kind: 'retain'; bytes: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 4 }), size: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('roll' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retain' as const), bytes: fc.integer({ min: 500, max: 6000 }) }) },
);

const policyArb: fc.Arbitrary<FsyncPolicy> = fc.oneof(
  fc.constant<FsyncPolicy>({ mode: 'always' }),
  fc.constant<FsyncPolicy>({ mode: 'interval', ms: 1000 }),
  fc.constant<FsyncPolicy>({ mode: 'bytes', bytes: 2000 }),
);

test('power loss (unsynced writes and directory entries lost, torn tails kept) leaves the acked records up to at least the last fsync, at their seqs, and nothing else (with rolls, retention and reopens)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), policyArb, fc.nat(), (ops, fsync, tornSeed) => {
      const layer = new MemFileLayer();
      const dir = '/data/ns/stream/0';
      let t = 1_000_000;
      const open = (): ShardStore => ShardStore.open({ dir, fileLayer: layer, fsync, now: () => t, segmentBytesMax: 1500, minFreeBytes: 0 });
      let s = open();
      const acked: string[] = [];
      let durable = 0;
      for (const op of ops) {
        if (op.kind === 'append') {
          const texts = Array.from({ length: op.n }, (_, i) => `${acked.length + i}:${'d'.repeat(op.size)}`);
          const r = s.append(batch(texts.map((x) => rec(x))));
          assert.equal(r.firstSeq, acked.length);
          acked.push(...texts);
          if (fsync.mode === 'always') durable = acked.length;
        } else if (op.kind === 'tick') {
          t += op.ms;
          s.tick();
        } else if (op.kind === 'sync') {
          s.sync();
          durable = acked.length;
        } else if (op.kind === 'roll') {
          s.roll();
          durable = acked.length;
        } else if (op.kind === 'retain') {
          s.setRetention(null, op.bytes);
          s.enforceRetention();
          s.setRetention(null, null);
          durable = Math.max(durable, s.describe().startSeq);
        } else {
          s.close();
          durable = acked.length;
          s = open();
        }
      }
      let seed = tornSeed;
      layer.crash((_path, unsynced) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % (unsynced + 1);
      });
      const r = open();
      const start = r.describe().startSeq;
      const got = readAll(r).map((x) => textOf(x.payload));
      const end = start + got.length;
      assert.ok(end >= durable, `lost fsynced records: the shard ends at ${end}, ${durable} were durable`);
      assert.deepEqual(got, acked.slice(start, end), 'what survives is exactly a run of what was acked, at the same seqs');
      assert.equal(r.describe().endSeq, end);
      const next = r.append(batch([rec('after')]));
      assert.equal(next.firstSeq, end);
      r.close();
    }),
    { numRuns: 150 },
  );
});
