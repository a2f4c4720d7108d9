/**
 * Members and the cluster id in the replicated MetaStore state (issue 14):
 * addMember / removeMember / initCluster are conditional, leave streams
 * alone, travel through the Raft entry codec, and survive a snapshot; a
 * snapshot without them (older) reads as none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicatedMetaStore } from '../../src/cluster/replicated-meta-store.js';
import { encodeCommand } from '../../src/metastore/command-codec.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/metastore/snapshot.js';
import { apply, emptyState } from '../../src/metastore/state-machine.js';
import type { AnyCommand } from '../../src/metastore/types.js';

function store(): ReplicatedMetaStore {
  return new ReplicatedMetaStore({ submit: () => Promise.reject(new Error('not used')), current: () => Promise.resolve() });
}

test('addMember, removeMember and initCluster are conditional and pure', () => {
  let s = emptyState();
  const ok = (cmd: AnyCommand) => {
    const r = apply(s, cmd);
    assert.ok(r.ok, `${cmd.op}: ${r.ok ? '' : r.error.message}`);
    s = r.state;
  };
  ok({ op: 'addMember', node: 1, address: '127.0.0.1:7001' });
  ok({ op: 'addMember', node: 1, address: '127.0.0.1:7001' }); // same address: no change
  const before = s;
  const clash = apply(s, { op: 'addMember', node: 1, address: '127.0.0.1:9999' });
  assert.ok(!clash.ok && clash.error.code === 'CONFLICT' && /already a member at 127\.0\.0\.1:7001/.test(clash.error.message));
  assert.equal(clash.state, before, 'a failed command leaves the state unchanged');
  ok({ op: 'addMember', node: 2, address: '127.0.0.1:7002' });
  ok({ op: 'removeMember', node: 1 });
  const gone = apply(s, { op: 'removeMember', node: 1 });
  assert.ok(!gone.ok && /Node 1 is not a member of the cluster/.test(gone.error.message));
  ok({ op: 'initCluster', clusterId: 'abc' });
  const again = apply(s, { op: 'initCluster', clusterId: 'def' });
  assert.ok(!again.ok && again.error.code === 'CONFLICT');
  assert.equal(s.clusterId, 'abc');
  assert.deepEqual([...s.members!], [[2, '127.0.0.1:7002']]);
  assert.equal(before.members!.size, 1, 'apply never mutates its input');
});

test('members and the cluster id survive a snapshot; an older snapshot reads as none; the codec refuses bad shapes', () => {
  const a = store();
  let i = 0;
  const seen: string[] = [];
  a.onApplied((cmd, out) => seen.push(`${cmd.op}:${out.ok}`));
  for (const cmd of [
    { op: 'initCluster', clusterId: 'c1' },
    { op: 'addMember', node: 3, address: 'node3.example:7070' },
    { op: 'addMember', node: 1, address: '127.0.0.1:7001' },
    { op: 'removeMember', node: 9 },
  ] as AnyCommand[]) a.apply(++i, encodeCommand(cmd));
  assert.deepEqual(seen, ['initCluster:true', 'addMember:true', 'addMember:true', 'removeMember:false']);
  const b = store();
  b.restore({ index: i, term: 1, voters: [1, 3], data: a.snapshotData() });
  assert.equal(b.clusterId(), 'c1');
  assert.deepEqual([...b.members()].sort(), [[1, '127.0.0.1:7001'], [3, 'node3.example:7070']]);

  const old = encodeSnapshot({ lastIndex: 5, streams: [] });
  const c = store();
  c.restore({ index: 5, term: 1, voters: [1], data: old });
  assert.equal(c.clusterId(), null);
  assert.equal(c.members().size, 0);
  assert.equal(decodeSnapshot(old, 'old').members, undefined);

  const bad = store();
  const out = bad.apply(1, encodeCommand({ op: 'addMember', node: 0, address: 'x' } as AnyCommand));
  assert.ok(!out.ok && out.code === 'META_CORRUPT', 'a member command of a bad shape is refused by every replica alike');
  assert.equal(bad.members().size, 0);
});

test('bindDataDir binds a node id to one data dir: the same id again is no change, another is CONFLICT with the remedy; removeMember unbinds; bindings survive a snapshot', () => {
  let s = emptyState();
  const ok = (cmd: AnyCommand) => {
    const r = apply(s, cmd);
    assert.ok(r.ok, `${cmd.op}: ${r.ok ? '' : r.error.message}`);
    s = r.state;
  };
  const d1 = 'a'.repeat(32);
  const d1b = 'b'.repeat(32);
  ok({ op: 'addMember', node: 1, address: '127.0.0.1:7001' });
  ok({ op: 'bindDataDir', node: 1, dataDirId: d1 });
  const same = apply(s, { op: 'bindDataDir', node: 1, dataDirId: d1 });
  assert.ok(same.ok && same.state === s, 'binding the same data dir again changes nothing');
  const wiped = apply(s, { op: 'bindDataDir', node: 1, dataDirId: d1b });
  assert.ok(!wiped.ok && wiped.error.code === 'CONFLICT');
  assert.match(wiped.error.message, /node 1's data dir was replaced.*cluster remove-node 1.*--join/);
  assert.equal(wiped.state, s);
  ok({ op: 'bindDataDir', node: 2, dataDirId: d1b }); // bound before it is a member (bootstrap order): allowed
  ok({ op: 'removeMember', node: 2 }); // bound only: removable
  assert.deepEqual([...s.dataDirs!], [[1, d1]]);

  const a = store();
  a.apply(1, encodeCommand({ op: 'addMember', node: 1, address: '127.0.0.1:7001' }));
  a.apply(2, encodeCommand({ op: 'bindDataDir', node: 1, dataDirId: d1 }));
  const b = store();
  b.restore({ index: 2, term: 1, voters: [1], data: a.snapshotData() });
  assert.deepEqual([...b.dataDirs()], [[1, d1]]);
  b.apply(3, encodeCommand({ op: 'removeMember', node: 1 }));
  assert.equal(b.dataDirs().size, 0, 'removing the member unbinds its data dir, so it can be re-added with a new one');
  b.apply(4, encodeCommand({ op: 'bindDataDir', node: 1, dataDirId: d1b }));
  assert.deepEqual([...b.dataDirs()], [[1, d1b]]);
  const bad = b.apply(5, encodeCommand({ op: 'bindDataDir', node: 1, dataDirId: '' } as AnyCommand));
  assert.ok(!bad.ok && bad.code === 'META_CORRUPT');
});
