/**
 * The simulator's MetaStore side: the canonical state image and payloads
 * (src/sim/meta-state.ts), the per-index state check (checker.ts), and that a
 * run really drives the MetaStore state machine and checks its history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantChecker } from '../../src/sim/checker.js';
import { applyCommand } from '../../src/sim/meta-model.js';
import { decodeMetaState, decodeProposal, decodeSimSnapshot, encodeMetaState, encodeProposal, encodeSimSnapshot, metaStateHash } from '../../src/sim/meta-state.js';
import { runSeed } from '../../src/sim/simulation.js';
import { emptyState, type MetaState } from '../../src/metastore/state-machine.js';
import type { MetaCommand, StreamConfig } from '../../src/metastore/types.js';
import type { Entry } from '../../src/consensus/types.js';
import { Packr } from 'msgpackr';

const stream = (name: string, shards = 2): StreamConfig => ({
  namespace: 'ns0', name, shards, replicas: 2, retentionMs: null, retentionBytes: 4096, schema: null, schemaVersion: 0, createdAt: 7, incarnation: '0123456789abcdef',
});
const ref = (name: string, shard: number) => ({ namespace: 'ns0', name, incarnation: '0123456789abcdef', shard });

function run(commands: MetaCommand[]): MetaState {
  let s = emptyState();
  for (const c of commands) s = applyCommand(s, c).state;
  return s;
}

const cmds: MetaCommand[] = [
  { op: 'createStream', stream: stream('a') },
  { op: 'createStream', stream: stream('b', 1) },
  { op: 'electSequencer', ...ref('a', 1), node: 3, expectEpoch: 0 },
  { op: 'openSegment', ...ref('a', 1), epoch: 1, baseSeq: 0, replicas: [3, 1] },
  { op: 'sealSegment', ...ref('a', 1), epoch: 1, baseSeq: 0, endSeq: 12 },
];

test('the MetaState image round-trips, and equal states give equal bytes and hashes whatever order they were built in', () => {
  const a = run(cmds);
  const b = run([cmds[1] as MetaCommand, cmds[0] as MetaCommand, ...cmds.slice(2)]);
  assert.deepEqual(encodeMetaState(a), encodeMetaState(b));
  assert.equal(metaStateHash(a), metaStateHash(b));
  const back = decodeMetaState(encodeMetaState(a));
  assert.deepEqual(encodeMetaState(back), encodeMetaState(a));
  assert.deepEqual([...back.placements.keys()].sort(), [...a.placements.keys()].sort());
  // A different state hashes differently.
  const c = run([...cmds, { op: 'setRetention', namespace: 'ns0', name: 'b', retentionMs: 5, retentionBytes: null }]);
  assert.notEqual(metaStateHash(c), metaStateHash(a));
  assert.notDeepEqual(encodeMetaState(c), encodeMetaState(a));
});

test('snapshot payloads carry the chain and the state; a broken image is refused by the state machine\'s own validation', () => {
  const state = run(cmds);
  const s = decodeSimSnapshot(encodeSimSnapshot({ chain: 0xdeadbeef, state }));
  assert.equal(s.chain, 0xdeadbeef);
  assert.equal(metaStateHash(s.state), metaStateHash(state));
  const packr = new Packr({ useRecords: false, moreTypes: false });
  const [streams, placements] = packr.unpack(encodeMetaState(state)) as [unknown[][], unknown[][]];
  (placements[1] as unknown[])[5] = 0; // shard a#1 has a sequencer but epoch 0
  assert.throws(() => decodeMetaState(packr.pack([streams, placements])), /sequencer and epoch disagree/);
  assert.throws(() => decodeSimSnapshot(packr.pack([99, 1, encodeMetaState(state)])), /version 1 snapshot/);
});

test('proposals carry a version, an op id and a valid MetaCommand; anything else is refused', () => {
  const p = decodeProposal(encodeProposal({ opId: 5, command: cmds[0] as MetaCommand }));
  assert.equal(p.opId, 5);
  assert.deepEqual(p.command, cmds[0]);
  assert.equal(decodeProposal(encodeProposal({ opId: 0, command: null })).command, null);
  const packr = new Packr({ useRecords: false, moreTypes: false });
  assert.throws(() => decodeProposal(packr.pack([2, 5, cmds[0]])), /version 1 proposal/);
  assert.throws(() => decodeProposal(packr.pack([1, 5, { op: 'dropEverything' }])), /no valid MetaCommand/);
  assert.throws(() => decodeProposal(packr.pack([1, 5, null])), /no valid MetaCommand/);
});

test('state machine safety also compares MetaStates: same entry and chain, different state at an index, is a violation', () => {
  const e: Entry = { index: 1, term: 1, kind: 'normal', data: new Uint8Array([1]), voters: null };
  const ok = new InvariantChecker([1, 2, 3]);
  ok.onApplied(1, e, 42, 1, [], 1000);
  ok.onApplied(2, e, 42, 1, [], 1000);
  assert.equal(ok.violation, null);
  const bad = new InvariantChecker([1, 2, 3]);
  bad.onApplied(1, e, 42, 1, [], 1000);
  bad.onApplied(2, e, 42, 1, [], 1001);
  assert.match(String(bad.violation), /state machine safety: node 2's MetaState at index 1/);
  bad.violation = null;
  bad.onSnapshotLoaded(3, { index: 1, term: 1, voters: [1, 2, 3], data: new Uint8Array() }, 42, 999);
  assert.match(String(bad.violation), /node 3's MetaState at index 1 \(loaded from a snapshot\)/);
});

test('a run drives the MetaStore: commands succeed and fail, some stay unknown, reads are answered, and every stream history is checked', () => {
  const total = { ok: 0, failed: 0, unknown: 0, reads: 0, passed: 0 };
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const r = runSeed({ seed });
    assert.equal(r.violation, null);
    total.ok += r.stats.metaOpsOk;
    total.failed += r.stats.metaOpsFailed;
    total.unknown += r.stats.metaOpsUnknown;
    total.reads += r.stats.metaReads;
    total.passed += r.stats.linearizabilityChecksPassed;
  }
  for (const [k, v] of Object.entries(total)) assert.ok(v > 0, `${k} is 0`);
});
