/**
 * Shard placement in the MetaStore (issue 14: the conditional commands
 * replication needs): sequencer election by compare-and-set on the epoch,
 * segments that tile the seqs, stale epochs and old incarnations refused,
 * and all of it durable across reopen and snapshots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { apply, emptyState, stateFromSnapshot, type MetaState } from '../../src/metastore/state-machine.js';
import { checkPlacement, placementKey } from '../../src/metastore/placement.js';
import { MetaStore } from '../../src/metastore/meta-store.js';
import type { MetaCommand, ShardPlacement, ShardRef, StreamConfig } from '../../src/metastore/types.js';

const INC = '00000000000000aa';

function stream(over: Partial<StreamConfig> = {}): StreamConfig {
  return { namespace: 'default', name: 's', shards: 2, replicas: 3, retentionMs: null, retentionBytes: null, schema: null, schemaVersion: 0, createdAt: 1, incarnation: INC, ...over };
}

const ref: ShardRef = { namespace: 'default', name: 's', incarnation: INC, shard: 0 };

function step(state: MetaState, command: MetaCommand): { state: MetaState; code: string | null; placement?: ShardPlacement } {
  const r = apply(state, command);
  return r.ok ? { state: r.state, code: null, placement: r.placement! } : { state: r.state, code: r.error.code };
}

test('sequencer election is a compare-and-set on the epoch: a stale expectEpoch fails and changes nothing', () => {
  let s = step(emptyState(), { op: 'createStream', stream: stream() }).state;
  assert.deepEqual(s.placements.get(placementKey('default', 's', 0)), { ...ref, sequencer: null, epoch: 0, segments: [] });
  const a = step(s, { op: 'electSequencer', ...ref, node: 1, expectEpoch: 0 });
  assert.equal(a.code, null);
  assert.equal(a.placement!.epoch, 1);
  assert.equal(a.placement!.sequencer, 1);
  s = a.state;
  const late = step(s, { op: 'electSequencer', ...ref, node: 2, expectEpoch: 0 });
  assert.equal(late.code, 'STALE_EPOCH');
  assert.equal(late.state, s, 'a failed command leaves the state unchanged');
  const b = step(s, { op: 'electSequencer', ...ref, node: 2, expectEpoch: 1 });
  assert.equal(b.placement!.epoch, 2);
  assert.equal(b.placement!.sequencer, 2);
  assert.equal(step(s, { op: 'electSequencer', ...ref, node: 0, expectEpoch: 1 }).code, 'INVALID_ARGUMENT');
  assert.equal(step(s, { op: 'electSequencer', ...ref, shard: 2, node: 1, expectEpoch: 1 }).code, 'UNKNOWN_SHARD');
});

test('segments tile the seqs: open needs the current epoch and a sealed predecessor ending at its base; a deposed sequencer cannot open or seal', () => {
  let s = step(emptyState(), { op: 'createStream', stream: stream() }).state;
  assert.equal(step(s, { op: 'openSegment', ...ref, epoch: 0, baseSeq: 0, replicas: [1, 2, 3] }).code, 'STALE_EPOCH', 'no sequencer yet');
  s = step(s, { op: 'electSequencer', ...ref, node: 1, expectEpoch: 0 }).state;
  assert.equal(step(s, { op: 'openSegment', ...ref, epoch: 1, baseSeq: 5, replicas: [1, 2, 3] }).code, 'CONFLICT', 'the first segment starts at 0');
  assert.equal(step(s, { op: 'openSegment', ...ref, epoch: 1, baseSeq: 0, replicas: [1, 2] }).code, 'INVALID_ARGUMENT', 'R = 3 replicas');
  assert.equal(step(s, { op: 'openSegment', ...ref, epoch: 1, baseSeq: 0, replicas: [1, 1, 2] }).code, 'INVALID_ARGUMENT', 'distinct replicas');
  s = step(s, { op: 'openSegment', ...ref, epoch: 1, baseSeq: 0, replicas: [1, 2, 3] }).state;
  assert.equal(step(s, { op: 'openSegment', ...ref, epoch: 1, baseSeq: 0, replicas: [1, 2, 3] }).code, 'CONFLICT', 'one active segment');
  // Node 2 takes over (epoch 2); node 1's late seal and open are fenced.
  s = step(s, { op: 'electSequencer', ...ref, node: 2, expectEpoch: 1 }).state;
  assert.equal(step(s, { op: 'sealSegment', ...ref, epoch: 1, baseSeq: 0, endSeq: 100 }).code, 'STALE_EPOCH');
  assert.equal(step(s, { op: 'sealSegment', ...ref, epoch: 2, baseSeq: 7, endSeq: 100 }).code, 'CONFLICT', 'no active segment there');
  assert.equal(step(s, { op: 'sealSegment', ...ref, epoch: 2, baseSeq: 0, endSeq: -1 }).code, 'INVALID_ARGUMENT');
  const sealed = step(s, { op: 'sealSegment', ...ref, epoch: 2, baseSeq: 0, endSeq: 40 });
  assert.deepEqual(sealed.placement!.segments, [{ baseSeq: 0, endSeq: 40, epoch: 1, replicas: [1, 2, 3] }]);
  s = sealed.state;
  assert.equal(step(s, { op: 'openSegment', ...ref, epoch: 2, baseSeq: 41, replicas: [2, 3, 4] }).code, 'CONFLICT', 'must start at the sealed end');
  const next = step(s, { op: 'openSegment', ...ref, epoch: 2, baseSeq: 40, replicas: [2, 3, 4] });
  assert.deepEqual(next.placement!.segments[1], { baseSeq: 40, endSeq: null, epoch: 2, replicas: [2, 3, 4] });
  assert.equal(next.state.placements.get(placementKey('default', 's', 1))!.epoch, 0, 'other shards untouched');
});

test('a command for a deleted life of a stream fails on the re-created one (UNKNOWN_STREAM); delete drops the placements', () => {
  let s = step(emptyState(), { op: 'createStream', stream: stream() }).state;
  s = step(s, { op: 'electSequencer', ...ref, node: 1, expectEpoch: 0 }).state;
  s = step(s, { op: 'deleteStream', namespace: 'default', name: 's' }).state;
  assert.equal(s.placements.size, 0);
  s = step(s, { op: 'createStream', stream: stream({ incarnation: '00000000000000bb' }) }).state;
  assert.equal(step(s, { op: 'electSequencer', ...ref, node: 1, expectEpoch: 0 }).code, 'UNKNOWN_STREAM');
  assert.equal(step(s, { op: 'electSequencer', ...ref, incarnation: '00000000000000bb', node: 1, expectEpoch: 0 }).code, null);
});

const shardArb = fc.integer({ min: 0, max: 1 });
const nodeArb = fc.integer({ min: 1, max: 4 });
const epochArb = fc.integer({ min: 0, max: 4 });
const seqArb = fc.integer({ min: 0, max: 60 });
const placementCommandArb: fc.Arbitrary<MetaCommand> = fc.oneof(
  fc.record({ shard: shardArb, node: nodeArb, expectEpoch: epochArb }).map((c) => ({ op: 'electSequencer' as const, ...ref, ...c })),
  fc.record({ shard: shardArb, epoch: epochArb, baseSeq: seqArb, replicas: fc.uniqueArray(nodeArb, { minLength: 3, maxLength: 3 }) }).map((c) => ({ op: 'openSegment' as const, ...ref, ...c })),
  fc.record({ shard: shardArb, epoch: epochArb, baseSeq: seqArb, endSeq: seqArb }).map((c) => ({ op: 'sealSegment' as const, ...ref, ...c })),
);

test('property: under any command sequence every placement keeps its rules, the epoch never decreases, and sealed segments never change', () => {
  fc.assert(
    fc.property(fc.array(placementCommandArb, { maxLength: 80 }), (commands) => {
      const created = stream();
      let s = step(emptyState(), { op: 'createStream', stream: created }).state;
      for (const c of commands) {
        const before = s;
        const r = step(s, c);
        s = r.state;
        for (const [key, p] of s.placements) {
          checkPlacement(p, created);
          const old = before.placements.get(key)!;
          assert.ok(p.epoch >= old.epoch);
          old.segments.forEach((seg, i) => {
            if (seg.endSeq !== null) assert.deepEqual(p.segments[i], seg, 'a sealed segment is never changed');
          });
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('placements survive reopen of the MetaStore, through the command log and through a snapshot; an older snapshot without placements gets the initial ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-meta-placement-'));
  try {
    const a = await MetaStore.open(dir, { snapshotEvery: 3 });
    const s = await a.createStream({ name: 'p', shards: 2, replicas: 1 });
    const r: ShardRef = { namespace: 'default', name: 'p', incarnation: s.incarnation, shard: 1 };
    await a.electSequencer(r, 4, 0);
    await a.openSegment(r, 1, 0, [4]); // the third command: a snapshot is written
    await a.sealSegment(r, 1, 0, 10);
    await assert.rejects(a.electSequencer(r, 5, 0), { code: 'STALE_EPOCH' });
    const want = a.getPlacement('default', 'p', 1);
    assert.deepEqual(want, { ...r, sequencer: 4, epoch: 1, segments: [{ baseSeq: 0, endSeq: 10, epoch: 1, replicas: [4] }] });
    await a.close();
    const b = await MetaStore.open(dir);
    assert.deepEqual(b.getPlacement('default', 'p', 1), want);
    assert.deepEqual(b.getPlacement('default', 'p', 0), { ...r, shard: 0, sequencer: null, epoch: 0, segments: [] });
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const legacy = stateFromSnapshot([stream()], undefined);
  assert.equal(legacy.placements.size, 2);
  assert.throws(() => stateFromSnapshot([stream()], [{ ...ref, sequencer: null, epoch: 0, segments: [] }]), { code: 'META_CORRUPT' }, 'a snapshot missing a shard placement');
});
