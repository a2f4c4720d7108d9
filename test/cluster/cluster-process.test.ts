/**
 * A cluster of three real node processes on 127.0.0.1 (issue 14): one
 * leader agreed by all soon after start; admin operations through any node
 * give one view everywhere; kill -9 of the leader: a new leader, the next
 * admin operation through a survivor succeeds, nothing committed is lost;
 * the killed node restarts from its data dir and catches up; a data dir is
 * refused under another node id. Timing is reported (the failover benchmark,
 * bench/cluster-failover.ts, measures it over many kills), never asserted
 * tighter than a generous bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcCluster } from '../torture/harness/cluster-proc.js';
import { NodeProcess } from '../torture/harness/node-proc.js';

/** Generous bound on a step that takes well under a second when the machine is idle. */
const STEP_MS_MAX = 15_000;

test('three processes: one leader; admin ops through any node; kill -9 of the leader loses nothing committed and the cluster goes on; the killed node catches up', async () => {
  const c = await ProcCluster.start(3);
  try {
    const t0 = Date.now();
    const leader = await c.leader(STEP_MS_MAX);
    console.log(`leader ${leader} agreed by all ${Date.now() - t0} ms after the last node listened`);

    const a = await c.client(1);
    const b = await c.client(2);
    const cc = await c.client(3);
    const created = await a.createStream('orders', { shards: 2 });
    await assert.rejects(b.createStream('orders'), (e: Error & { codeName?: string }) => e.codeName === 'STREAM_EXISTS', 'the same answer through another node');
    assert.deepEqual((await cc.listStreams()).map((s) => s.name), ['orders'], 'a follower lists what was committed before');
    assert.equal((await cc.describeStream('orders')).incarnation, created.incarnation);
    await b.createStream('gone');
    await cc.deleteStream('gone');
    assert.deepEqual((await a.listStreams()).map((s) => s.name), ['orders']);
    const status = await c.status(leader);
    assert.equal(status.role, 'leader');
    assert.deepEqual(status.voters, [1, 2, 3]);
    assert.ok(status.nodes.every((n) => n.up), JSON.stringify(status.nodes));
    await Promise.all([a.close(), b.close(), cc.close()]);

    // kill -9 of the leader.
    const killedAt = Date.now();
    await c.kill9(leader);
    const survivor = [1, 2, 3].find((id) => id !== leader)!;
    const s = await c.client(survivor);
    await s.createStream('after-kill');
    console.log(`first admin op through node ${survivor} succeeded ${Date.now() - killedAt} ms after kill -9 of leader ${leader}`);
    const next = await c.leader(STEP_MS_MAX);
    assert.notEqual(next, leader);
    assert.deepEqual((await s.listStreams()).map((x) => x.name), ['after-kill', 'orders'], 'nothing committed is lost');
    await s.close();

    // The killed node restarts from its data dir and catches up.
    await c.startNode(leader);
    const back = await c.client(leader);
    assert.deepEqual((await back.listStreams()).map((x) => x.name), ['after-kill', 'orders']);
    await back.close();
    const agreed = await c.leader(STEP_MS_MAX);
    assert.ok([1, 2, 3].includes(agreed));
  } finally {
    await c.stop();
  }
});

test('a data dir belongs to one node id: starting it as another node is refused with one sentence', async () => {
  const c = await ProcCluster.start(3);
  const dir = c.dirs.get(1)!;
  try {
    await c.leader(STEP_MS_MAX);
    await c.kill9(1);
    await assert.rejects(NodeProcess.start(dir, { 'node-id': 4, peers: c.peersOf(1) }), /belongs to node 1, not node 4/);
  } finally {
    await c.stop();
  }
});

test('a leader partitioned into the minority (links blackholed, sockets open) cannot commit; the majority elects another and commits; after the heal the stranded write is nowhere', async () => {
  const c = await ProcCluster.start(3, { proxied: true });
  try {
    const old = await c.leader(STEP_MS_MAX);
    const others = [1, 2, 3].filter((id) => id !== old);
    const oldClient = await c.client(old);
    await oldClient.createStream('before');
    c.partition([old]);
    const stranded = oldClient.createStream('stranded').then(
      () => 'acked',
      (e: Error & { codeName?: string }) => e.codeName ?? e.message,
    );
    const maj = await c.client(others[0]!);
    await maj.createStream('majority'); // waits for the majority's own leader
    const s = await c.status(others[1]!);
    assert.ok(s.leader !== null && s.leader !== old, `the majority leads without ${old}: ${JSON.stringify(s)}`);
    // Liveness through the leader: the cut node is down in a follower's status (its sockets are still open).
    const liveBy = Date.now() + STEP_MS_MAX;
    let seen = s;
    while (Date.now() < liveBy && (seen.nodes.find((n) => n.id === old)?.up !== false || seen.livenessFrom !== seen.leader)) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await c.status(others[1]!);
    }
    assert.equal(seen.nodes.find((n) => n.id === old)?.up, false, `node ${old} is down as the leader sees it: ${JSON.stringify(seen)}`);
    assert.equal(seen.livenessFrom, seen.leader);
    assert.ok(seen.nodes.filter((n) => n.id !== old).every((n) => n.up), 'the majority is up');
    const outcome = await stranded;
    assert.notEqual(outcome, 'acked', 'a minority leader never acks a write');
    c.heal();
    // The old leader rejoins as a follower: it learns what the majority committed, and the stranded write is gone.
    const deadline = Date.now() + STEP_MS_MAX;
    let names: string[] = [];
    while (Date.now() < deadline) {
      names = (await oldClient.listStreams().catch(() => [])).map((x) => x.name);
      if (names.includes('majority')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(names, ['before', 'majority']);
    for (const id of others) {
      const cl = await c.client(id);
      assert.deepEqual((await cl.listStreams()).map((x) => x.name), ['before', 'majority']);
      await cl.close();
    }
    await Promise.all([oldClient.close(), maj.close()]);
  } finally {
    await c.stop();
  }
});

test('a client of one node reaches the records of every shard: appends to a shard another node sequences are refused NOT_LEADER with its address, and a client given that address writes there; every node serves the record', async () => {
  const c = await ProcCluster.start(3);
  try {
    await c.leader(STEP_MS_MAX);
    const cl = await c.client(2);
    await cl.createStream('r', { shards: 3, replicas: 3 });
    const deadline = Date.now() + STEP_MS_MAX;
    let d = await cl.describeStream('r');
    while (!d.shardInfo.every((s) => s.sequencer !== null && s.segments.length > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      d = await cl.describeStream('r');
    }
    // Each shard sequenced by node k: node 2's client (one address only) still writes it, following the hint.
    for (let shard = 0; shard < 3; shard++) {
      const r = await cl.producer('r', { shard }).send({ value: `x${shard}` });
      assert.equal(r.seq, 0);
    }
    // A replica learns the commit point with the sequencer's next message (at most a heartbeat, 50 ms, later).
    for (const id of [1, 2, 3]) {
      const reader = await c.client(id);
      let got: string[] = [];
      for (const stop = Date.now() + STEP_MS_MAX; Date.now() < stop; await new Promise((r) => setTimeout(r, 50))) {
        got = [];
        for await (const rec of reader.consumer('r', { from: 'earliest' })) got.push(Buffer.from(rec.value).toString());
        if (got.length === 3) break;
      }
      await reader.close();
      assert.deepEqual(got.sort(), ['x0', 'x1', 'x2'], `node ${id} serves every committed record`);
    }
    await cl.close();
  } finally {
    await c.stop();
  }
});
