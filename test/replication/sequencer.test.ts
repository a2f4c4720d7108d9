/**
 * The sequencer's state machine (src/replication/sequencer.ts) driven by
 * hand: the commit point is the W-th highest replica end, acks=quorum
 * answers wait for it, a SEQ_GAP answer makes it resend from the replica's
 * trusted end (read back from its own store once the batch left the cache),
 * a FENCED answer deposes it and fails every waiting append. The store and
 * the links are in-memory stand-ins: this tests the decisions, the real
 * processes test the wiring (test/replication/replicated-cluster.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerMessage } from '../../src/cluster/peer-message.js';
import type { ReplicaStore } from '../../src/replication/replica-store.js';
import { ShardSequencer } from '../../src/replication/sequencer.js';

/** One "record" per append call; bytes are the record. */
class MemStore {
  recs: Uint8Array[] = [];
  async append(records: Uint8Array) {
    const firstSeq = this.recs.length;
    this.recs.push(records.slice());
    return { firstSeq, lastSeq: firstSeq, count: 1, appendTime: 0, duplicate: false, stamped: records.slice() };
  }
  async read(fromSeq: number, _maxBytes: number, endSeqMax = Infinity) {
    const end = Math.min(this.recs.length, endSeqMax, fromSeq + 2);
    const parts = this.recs.slice(fromSeq, end);
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
    return { bytes, count: parts.length, firstSeq: fromSeq, nextSeq: fromSeq + parts.length };
  }
}

function setup(replicas = [1, 2, 3]) {
  const store = new MemStore();
  const sent: { to: number; msg: PeerMessage }[] = [];
  let commits: number[] = [];
  let fenced = 0;
  let now = 0;
  const s = new ShardSequencer(
    {
      self: 1,
      key: { ns: 'default', name: 's', inc: 'abc', shard: 0 },
      epoch: 3,
      store: store as unknown as ReplicaStore,
      send: (to, msg) => {
        sent.push({ to, msg });
        return true;
      },
      now: () => now,
      log: () => undefined,
      onCommit: (c) => commits.push(c),
      onFenced: () => fenced++,
      trustedStart: (end) => end,
    },
    replicas,
    0,
    0,
    new Map(replicas.filter((r) => r !== 1).map((r) => [r, 0])),
  );
  s.state = 'active';
  return {
    s,
    store,
    sent,
    get commits() {
      return commits;
    },
    clearCommits: () => (commits = []),
    get fenced() {
      return fenced;
    },
    advance: (ms: number) => (now += ms),
  };
}

const rec = (n: number) => new Uint8Array(8).fill(n);
const tick = () => new Promise((r) => setImmediate(r));

test('the commit point is the W-th highest end; acks=quorum waits for it, acks=leader does not', async () => {
  const t = setup();
  const leader = await t.s.append(rec(1), 'leader');
  assert.equal(leader.firstSeq, 0);
  const q = t.s.append(rec(2), 'quorum');
  let done = false;
  void q.then(() => (done = true));
  await tick();
  assert.equal(t.s.commit, 0, 'only this node holds them: 1 of W=2');
  assert.deepEqual(
    t.sent.filter((x) => x.msg.kind === 'r-append').map((x) => [x.to, (x.msg.body as { firstSeq: number }).firstSeq]),
    [
      [2, 0],
      [3, 0],
      [2, 1],
      [3, 1],
    ],
    'each batch goes to every other replica, in order, byte for byte',
  );
  assert.deepEqual(t.sent[0]!.msg.raw, rec(1));
  t.s.onAck(3, 1, 0, undefined);
  await tick();
  assert.equal(t.s.commit, 1);
  assert.equal(done, false, 'seq 1 is not committed yet');
  t.s.onAck(2, 2, 0, undefined);
  await q;
  assert.equal(t.s.commit, 2);
  assert.deepEqual(t.commits, [1, 2]);
});

test('an ack past what was sent and stored stops the sequencer (invariant); a FENCED answer deposes it and fails waiters', async () => {
  const t = setup();
  const q = t.s.append(rec(1), 'quorum');
  await tick();
  t.s.onAck(2, 5, 0, undefined);
  await assert.rejects(q, (e: Error & { code?: string }) => e.message.includes('FENCED') || (e as { errorName?: string }).errorName === 'FENCED');
  assert.ok(t.s.isDeposed);

  const u = setup();
  const q2 = u.s.append(rec(1), 'quorum');
  await tick();
  u.s.onAck(3, 0, 0, 'FENCED');
  await assert.rejects(q2, /no longer sequences/);
  assert.equal(u.fenced, 1);
  await assert.rejects(u.s.append(rec(2), 'leader'), /no longer sequences/);
});

test('SEQ_GAP: resend from the replica end, from the cache or read back from the store', async () => {
  const t = setup([1, 2]);
  for (let i = 0; i < 4; i++) await t.s.append(rec(i), 'leader');
  t.s.onAck(2, 4, 0, undefined);
  assert.equal(t.s.commit, 4);
  t.sent.length = 0;
  // The replica lost its tail (say, a restart): it reports end 1.
  t.s.onAck(2, 1, 3, 'SEQ_GAP');
  await tick();
  await tick();
  const firsts = t.sent.filter((x) => x.msg.kind === 'r-append').map((x) => (x.msg.body as { firstSeq: number }).firstSeq);
  assert.deepEqual(firsts.slice(0, 3), [1, 2, 3], 'resent from seq 1 on');
  assert.equal(t.s.commit, 4, 'the commit point never goes back');
});

test('unacknowledged past RESEND_AFTER_MS: sent again from the acknowledged end', async () => {
  const t = setup([1, 2]);
  await t.s.append(rec(1), 'leader');
  await t.s.append(rec(2), 'leader');
  t.sent.length = 0;
  t.advance(10_000);
  t.s.tick();
  await tick();
  const firsts = t.sent.filter((x) => x.msg.kind === 'r-append').map((x) => (x.msg.body as { firstSeq: number }).firstSeq);
  assert.deepEqual(firsts, [0, 1], 'a link that dropped the messages gets them again');
});
