import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftNode } from '../../src/consensus/raft-node.js';
import type { AppendMsg, Message, RaftConfig } from '../../src/consensus/types.js';
import { TestCluster, bytes, config } from './cluster-harness.js';

test('a single-voter cluster elects itself and commits a proposal in one step', () => {
  const c = new TestCluster([1]);
  c.elect(1);
  assert.deepEqual(c.leaders(), [1]);
  const out = c.step(1, { type: 'propose', data: bytes('a') });
  assert.equal(out.refused, null);
  assert.deepEqual(c.appliedTexts(1), ['a']);
});

test('a candidate persists its term and self-vote in the same output that sends the vote requests', () => {
  const n = new RaftNode(config(1, [1, 2, 3]), null);
  let out = n.step({ type: 'tick' });
  for (let i = 0; i < 10 && !out.messages.some((m) => m.type === 'vote'); i++) {
    const pre = out.messages.filter((m) => m.type === 'pre-vote');
    if (pre.length > 0) {
      out = n.step({ type: 'message', message: { type: 'pre-vote-resp', from: 2, to: 1, term: 1, granted: true } });
    } else out = n.step({ type: 'tick' });
  }
  assert.ok(out.messages.some((m) => m.type === 'vote'));
  assert.deepEqual(out.persist.hardState, { term: 1, vote: 1 });
});

test('a granted vote is persisted in the same output as the vote response, and a second candidate of that term is refused', () => {
  const n = new RaftNode(config(2, [1, 2, 3]), null);
  const out = n.step({ type: 'message', message: { type: 'vote', from: 1, to: 2, term: 1, lastIndex: 0, lastTerm: 0, transfer: false } });
  assert.deepEqual(out.persist.hardState, { term: 1, vote: 1 });
  assert.deepEqual(out.messages.map((m) => m.type === 'vote-resp' && m.granted), [true]);
  const again = n.step({ type: 'message', message: { type: 'vote', from: 3, to: 2, term: 1, lastIndex: 5, lastTerm: 1, transfer: false } });
  assert.deepEqual(again.messages.map((m) => m.type === 'vote-resp' && m.granted), [false]);
});

test('a restarted voter remembers its vote and refuses another candidate in the same term', () => {
  const c = new TestCluster([1, 2, 3]);
  c.step(2, { type: 'message', message: { type: 'vote', from: 1, to: 2, term: 1, lastIndex: 0, lastTerm: 0, transfer: false } });
  c.restart(2, [1, 2, 3]);
  const out = c.step(2, { type: 'message', message: { type: 'vote', from: 3, to: 2, term: 1, lastIndex: 0, lastTerm: 0, transfer: false } });
  assert.deepEqual(out.messages.map((m) => m.type === 'vote-resp' && m.granted), [false]);
});

test('three voters elect one leader and replicate proposals to every node in order', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  assert.deepEqual(c.leaders(), [1]);
  for (const s of ['a', 'b', 'c']) c.step(1, { type: 'propose', data: bytes(s) });
  c.deliverAll();
  c.tick(1);
  c.deliverAll();
  for (const id of [1, 2, 3]) assert.deepEqual(c.appliedTexts(id), ['a', 'b', 'c']);
});

test('a follower refuses to vote for a candidate whose log is behind its own', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.step(1, { type: 'propose', data: bytes('x') });
  c.deliverAll();
  const out = c.step(2, { type: 'message', message: { type: 'vote', from: 3, to: 2, term: 9, lastIndex: 0, lastTerm: 0, transfer: true } });
  assert.deepEqual(out.messages.map((m) => m.type === 'vote-resp' && m.granted), [false]);
});

test('pre-vote: a node that was partitioned away does not raise the term of the healthy majority when it returns', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  const term = c.node(1).status().term;
  c.linkUp = (m) => m.from !== 3 && m.to !== 3;
  c.tick(3, 40);
  c.deliverAll();
  assert.equal(c.node(3).status().term, term, 'pre-candidate must not bump its own term');
  c.linkUp = () => true;
  c.tick(3, 6);
  c.deliverAll();
  assert.equal(c.node(1).status().term, term);
  assert.deepEqual(c.leaders(), [1]);
});

test('check-quorum: a leader cut off from every follower steps down within one election timeout', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.linkUp = () => false;
  c.tick(1, 11);
  c.deliverAll();
  assert.equal(c.node(1).status().role, 'follower');
});

test('a follower with a divergent uncommitted tail has it replaced by the leader\'s entries', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.linkUp = (m) => m.to !== 2 && m.to !== 3;
  c.step(1, { type: 'propose', data: bytes('lost-1') });
  c.step(1, { type: 'propose', data: bytes('lost-2') });
  c.deliverAll();
  c.linkUp = (m) => m.from !== 1 && m.to !== 1;
  c.elect(2);
  assert.deepEqual(c.leaders().sort(), [1, 2]);
  c.step(2, { type: 'propose', data: bytes('kept') });
  c.deliverAll();
  c.linkUp = () => true;
  c.tick(2);
  c.deliverAll();
  c.tick(2);
  c.deliverAll();
  assert.equal(c.node(1).status().role, 'follower');
  for (const id of [1, 2, 3]) assert.deepEqual(c.appliedTexts(id), ['kept']);
});

/** Figure 8 of the Raft paper, reduced: returns the term-2 leader's commit index while only a term-1 entry is on a majority. */
function commitWithOldTermEntryOnMajority(over: Partial<RaftConfig>): { c: TestCluster; commit: number } {
  const c = new TestCluster([1, 2, 3], { appendEntriesMax: 1, ...over });
  c.elect(1);
  c.linkUp = () => false;
  c.step(1, { type: 'propose', data: bytes('old') }); // index 2, term 1, only on node 1
  c.tick(1, 11); // check-quorum: steps down after a full period without contact
  c.deliverAll();
  assert.equal(c.node(1).status().role, 'follower');
  // Node 1 wins term 2 with node 2's vote; node 3 is cut off, and node 2's acknowledgement of
  // the term-2 noop (index 3) is lost, so the leader knows only that node 2 holds index 2.
  c.linkUp = (m) => m.to !== 3 && m.from !== 3 && !(m.type === 'append-resp' && m.index >= 3);
  c.elect(1);
  const st = c.node(1).status();
  assert.equal(st.role, 'leader');
  assert.equal(st.term, 2);
  assert.equal(c.node(2).termAt(2), 1, 'the term-1 entry is now on a majority');
  return { c, commit: st.commit };
}

test('a leader never commits an earlier term\'s entry by counting replicas, only through an entry of its own term', () => {
  const { c, commit } = commitWithOldTermEntryOnMajority({});
  assert.equal(commit, 1);
  c.linkUp = () => true;
  c.tick(1);
  c.deliverAll();
  assert.ok(c.node(1).status().commit >= 3);
  assert.deepEqual(c.appliedTexts(1), ['old']);
});

test('with the commit-old-term bug injected, the same schedule does commit the earlier term\'s entry (the check above can fail)', () => {
  const { commit } = commitWithOldTermEntryOnMajority({ injectedBugs: new Set(['commit-old-term']) });
  assert.equal(commit, 2);
});

test('flow control: at most inFlightEntriesMax unacknowledged entries and appendEntriesMax per message go to a follower', () => {
  const c = new TestCluster([1, 2], { inFlightEntriesMax: 3, appendEntriesMax: 2 });
  c.elect(1);
  c.tick(1);
  c.deliverAll();
  const sent: AppendMsg[] = [];
  for (let i = 0; i < 10; i++) {
    const out = c.step(1, { type: 'propose', data: bytes(`e${i}`) });
    for (const m of out.messages) if (m.type === 'append') sent.push(m);
  }
  c.inbox = [];
  const entriesSent = sent.reduce((n, m) => n + m.entries.length, 0);
  assert.equal(entriesSent, 3);
  assert.ok(sent.every((m) => m.entries.length <= 2));
});

test('proposals beyond uncommittedEntriesMax are refused with a reason', () => {
  const c = new TestCluster([1, 2, 3], { uncommittedEntriesMax: 3 });
  c.elect(1);
  c.linkUp = () => false;
  const refused = [0, 1, 2, 3, 4].map((i) => c.step(1, { type: 'propose', data: bytes(`${i}`) }).refused);
  assert.deepEqual(refused.slice(0, 3), [null, null, null]);
  assert.match(String(refused[3]), /uncommittedEntriesMax/);
});

test('read-index: answered only after a quorum acknowledges a heartbeat sent after the request; refused on a follower', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.tick(1);
  c.deliverAll();
  c.reads.length = 0;
  c.linkUp = () => false;
  c.step(1, { type: 'read', ctx: 7 });
  c.deliverAll();
  assert.equal(c.reads.length, 0, 'no answer without a quorum');
  c.linkUp = () => true;
  c.step(1, { type: 'read', ctx: 8 });
  c.deliverAll();
  assert.deepEqual(c.reads.map((r) => [r.ctx, r.reason]), [[7, 'ok'], [8, 'ok']]);
  assert.equal(c.reads[1]?.index, c.node(1).status().commit);
  c.step(2, { type: 'read', ctx: 9 });
  assert.equal(c.reads[2]?.reason, 'not-leader');
});

test('snapshots: a follower behind the leader\'s compacted log receives and installs a snapshot, then catches up', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.linkUp = (m) => m.to !== 3 && m.from !== 3;
  for (let i = 0; i < 6; i++) c.step(1, { type: 'propose', data: bytes(`s${i}`) });
  c.deliverAll();
  const applied = c.node(1).status().commit;
  const out = c.step(1, { type: 'compact', index: applied, data: bytes('state') });
  assert.equal(out.refused, null);
  assert.equal(out.persist.snapshot?.index, applied);
  c.step(1, { type: 'propose', data: bytes('after') });
  c.linkUp = () => true;
  const seen: Message[] = [];
  const prev = c.linkUp;
  c.linkUp = (m) => { seen.push(m); return prev(m); };
  for (let i = 0; i < 3; i++) { c.tick(1); c.deliverAll(); }
  assert.ok(seen.some((m) => m.type === 'snapshot' && m.to === 3));
  assert.equal(c.disks.get(3)?.snapshot?.index, applied);
  assert.equal(c.node(3).status().commit, c.node(1).status().commit);
  assert.deepEqual(c.appliedTexts(3), ['after']);
});

test('compaction beyond the applied index is refused', () => {
  const c = new TestCluster([1]);
  c.elect(1);
  assert.match(String(c.step(1, { type: 'compact', index: 50, data: bytes('') }).refused), /not applied/);
});

test('membership: one change at a time; a new voter catches up and counts toward the quorum', () => {
  const c = new TestCluster([1, 2, 3, 4], {}, [1, 2, 3]);
  c.elect(1);
  c.tick(1);
  c.deliverAll();
  const first = c.step(1, { type: 'change-membership', op: 'add', node: 4 });
  assert.equal(first.refused, null);
  const second = c.step(1, { type: 'change-membership', op: 'remove', node: 2 });
  assert.match(String(second.refused), /one at a time/);
  c.deliverAll();
  c.tick(1);
  c.deliverAll();
  assert.deepEqual([...c.node(4).status().voters], [1, 2, 3, 4]);
  c.linkUp = (m) => m.to !== 2 && m.to !== 3;
  c.step(1, { type: 'propose', data: bytes('needs-3-of-4') });
  c.deliverAll();
  assert.deepEqual(c.appliedTexts(1), [], 'two of four voters are not a quorum');
  c.linkUp = (m) => m.to !== 2;
  c.tick(1);
  c.deliverAll();
  assert.deepEqual(c.appliedTexts(1), ['needs-3-of-4']);
});

test('membership: a leader that removes itself steps down once the change commits', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.tick(1);
  c.deliverAll();
  assert.equal(c.step(1, { type: 'change-membership', op: 'remove', node: 1 }).refused, null);
  c.deliverAll();
  c.tick(1);
  c.deliverAll();
  assert.equal(c.node(1).status().role, 'follower');
  assert.deepEqual([...c.node(2).status().voters], [2, 3]);
});

test('leadership transfer: the target gets timeout-now once caught up and wins the next term', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.tick(1);
  c.deliverAll();
  const term = c.node(1).status().term;
  assert.equal(c.step(1, { type: 'transfer-leadership', to: 3 }).refused, null);
  assert.match(String(c.step(1, { type: 'propose', data: bytes('x') }).refused), /transfer/);
  c.deliverAll();
  assert.deepEqual(c.leaders(), [3]);
  assert.equal(c.node(3).status().term, term + 1);
});

test('invalid configuration is rejected with the name of the bound', () => {
  assert.throws(() => new RaftNode(config(1, [1], { inFlightEntriesMax: 0 }), null), /inFlightEntriesMax/);
  assert.throws(() => new RaftNode(config(1, [1], { heartbeatTicks: 5, electionTicks: 5 }), null), /heartbeatTicks/);
});
