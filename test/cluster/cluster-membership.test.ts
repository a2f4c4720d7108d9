/**
 * Membership with real node processes on 127.0.0.1 (issue 14): a 4th node
 * joins a 3-node cluster (`start --join`) while a client keeps creating
 * streams through another node, becomes a voter and has every stream; a
 * node is removed (`cluster remove-node` through the client op) and the
 * other three go on; removing a non-member is refused; every node has the
 * same cluster id; the nodes of ANOTHER cluster whose --peers point at a
 * member are refused (cluster id) and never show as up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Client } from '../../src/client/client.js';
import { ProcCluster } from '../torture/harness/cluster-proc.js';
import { CLI_MAIN, NodeProcess } from '../torture/harness/node-proc.js';
import { freePort, tempDir } from '../torture/harness/tmp.js';

/** Generous bound on a step that takes well under a second when the machine is idle. */
const STEP_MS_MAX = 15_000;

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = STEP_MS_MAX): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last === null ? '' : ` (last error: ${(last as Error).message})`}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a 4th node joins under admin load and has every stream; a restarted joined node rejoins; a node is removed and three go on; removing a non-member is refused; one cluster id; another cluster is refused; removing the leader leaves two that go on', async () => {
  const c = await ProcCluster.start(3);
  const { dir, cleanup } = tempDir('join');
  const extra: NodeProcess[] = [];
  const clients: Client[] = [];
  let stopLoad = (): void => undefined;
  try {
    const leader = await c.leader(STEP_MS_MAX);
    // The first leader records the cluster id and the members; every node applies and adopts it.
    const clusterId = await until('one cluster id on every node', async () => {
      const ids = await Promise.all([1, 2, 3].map((id) => c.status(id).then((s) => s.clusterId ?? null)));
      return ids[0] !== null && ids.every((x) => x === ids[0]) ? ids[0]! : null;
    });
    assert.match(clusterId, /^[0-9a-f]{32}$/);

    // Admin load through node 1 while node 4 joins through node 2.
    const loader = await c.client(1);
    clients.push(loader);
    const created: string[] = [];
    let loading = true;
    let loadError: Error | null = null;
    const load = (async () => {
      for (let i = 0; loading; i++) {
        await loader.createStream(`load-${i}`);
        created.push(`load-${i}`);
      }
    })().catch((e: Error) => {
      loadError = e;
    });
    stopLoad = () => {
      loading = false;
    };
    await until('some streams created before the join', async () => (created.length >= 3 ? true : null));
    const port4 = await freePort();
    const t0 = Date.now();
    const n4 = await NodeProcess.start(`${dir}/n4`, { 'node-id': 4, join: c.address(2) }, port4);
    extra.push(n4);
    const status4 = await until('node 4 a voter on the leader and on itself', async () => {
      const [l, s4] = await Promise.all([c.status(leader), statusAt(`127.0.0.1:${port4}`)]);
      return l.voters.length === 4 && l.voters.includes(4) && s4.voters.length === 4 ? s4 : null;
    }).catch(async (e: Error) => {
      const why = JSON.stringify(await Promise.all([c.status(leader), statusAt(`127.0.0.1:${port4}`)]).catch((x: Error) => x.message));
      throw new Error(`${e.message}; status ${why}; ${n4.describeFailure()}; leader's stderr: ${c.nodes.get(leader)!.stderrLines.slice(-10).join(' | ')}`);
    });
    console.log(`node 4 a voter ${Date.now() - t0} ms after it started (${created.length} streams created so far)`);
    const before = created.length;
    await until('the load goes on after the join', async () => (created.length >= before + 3 ? true : null));
    loading = false;
    await load;
    assert.equal(loadError, null, 'every create of the load succeeded');
    assert.equal(status4.clusterId, clusterId, 'the joined node adopted the cluster id');
    const cli4 = await connectTo(`127.0.0.1:${port4}`);
    clients.push(cli4);
    const names = (await cli4.listStreams()).map((s) => s.name).sort();
    assert.deepEqual(names, [...created].sort(), 'node 4 has every stream created before, during and after its join');
    const ls = await c.status(leader);
    assert.ok(ls.nodes.find((n) => n.id === 4)?.up, `the leader sees node 4 up: ${JSON.stringify(ls.nodes)}`);
    assert.deepEqual(ls.voters, [1, 2, 3, 4]);

    // Node 4 restarted with --join and its data dir just rejoins: no new join request, still a voter, has everything.
    await cli4.close();
    clients.splice(clients.indexOf(cli4), 1);
    await n4.kill9();
    extra.splice(extra.indexOf(n4), 1);
    const n4b = await NodeProcess.start(`${dir}/n4`, { 'node-id': 4, join: c.address(2) }, port4);
    extra.push(n4b);
    await until('node 4 back as a voter, caught up', async () => {
      const [l, s4] = await Promise.all([c.status(leader), statusAt(`127.0.0.1:${port4}`)]);
      return s4.voters.length === 4 && s4.leader === l.leader && s4.applied >= l.commit - 1 && l.nodes.find((n) => n.id === 4)?.up ? true : null;
    });
    assert.ok(!n4b.stderrLines.some((l) => /joined cluster|join through/.test(l)), `a restarted joined node sends no join request: ${n4b.stderrLines.join(' | ')}`);
    const cli4b = await connectTo(`127.0.0.1:${port4}`);
    clients.push(cli4b);
    assert.equal((await cli4b.listStreams()).length, created.length);

    // Remove a follower other than node 1 through node 4.
    const gone = [2, 3].find((id) => id !== leader)!;
    const r = await cli4b.clusterRemoveNode!(gone);
    assert.deepEqual(r.members.map((m) => m.node), [1, 2, 3, 4].filter((id) => id !== gone));
    // The removed node keeps running: its links are dropped and its hellos refused; the other three go on.
    const rest = [1, 2, 3, 4].filter((id) => id !== gone);
    await until('three voters everywhere, the removed node nowhere up', async () => {
      const ss = await Promise.all(rest.map((id) => (id === 4 ? statusAt(`127.0.0.1:${port4}`) : c.status(id))));
      return ss.every((s) => s.voters.length === 3 && !s.voters.includes(gone) && s.leader !== null && !s.nodes.some((n) => n.id === gone && n.up)) ? true : null;
    });
    await cli4b.createStream('after-remove');
    const refusedBy = await until('a member refused the removed node by one sentence', async () => {
      const logs = [...rest.filter((id) => id !== 4).map((id) => c.nodes.get(id)!.stderrLines), n4b.stderrLines];
      return logs.some((lines) => lines.some((l) => l.includes(`refused the peer hello of node ${gone}`) && l.includes(`node ${gone} is not a member of the cluster`))) ? true : null;
    });
    assert.ok(refusedBy);
    await c.kill9(gone);
    const c1 = await c.client(1);
    clients.push(c1);
    assert.ok((await c1.listStreams()).some((s) => s.name === 'after-remove'));
    await assert.rejects(cli4b.clusterRemoveNode!(7), /Node 7 is not a member of the cluster/);
    await assert.rejects(c1.clusterRemoveNode!(gone), new RegExp(`Node ${gone} is not a member of the cluster`));
    // The CLI's remove-node says the same sentence and fails.
    const cli = spawnSync(process.execPath, [CLI_MAIN, 'cluster', 'remove-node', '9', '--server', c.address(1)], { encoding: 'utf8', timeout: STEP_MS_MAX });
    assert.notEqual(cli.status, 0);
    assert.match(cli.stderr, /Node 9 is not a member of the cluster/);

    // ANOTHER cluster (nodes 5 and 6) whose --peers name node 1 at node 1 of this one.
    const p5 = await freePort();
    const p6 = await freePort();
    const a1 = c.address(1);
    const n5p = NodeProcess.start(`${dir}/b5`, { 'node-id': 5, peers: `6@127.0.0.1:${p6},1@${a1}` }, p5);
    const n6p = NodeProcess.start(`${dir}/b6`, { 'node-id': 6, peers: `5@127.0.0.1:${p5},1@${a1}` }, p6);
    const [n5, n6] = await Promise.all([n5p, n6p]);
    extra.push(n5, n6);
    const other = await until('the other cluster has its own cluster id', async () => {
      const s = await statusAt(`127.0.0.1:${p5}`);
      return s.clusterId ? s.clusterId : null;
    });
    assert.notEqual(other, clusterId);
    const node1 = c.nodes.get(1)!;
    await until('node 1 refused the other cluster by its id', async () =>
      node1.stderrLines.some((l) => /refused the peer hello of node [56]/.test(l) && l.includes('cluster id mismatch')) ? true : null,
    );
    for (const id of rest.filter((x) => x !== 4)) {
      const s = await c.status(id);
      assert.ok(!s.nodes.some((n) => (n.id === 5 || n.id === 6) && n.up), `node ${id} never shows the other cluster's nodes up: ${JSON.stringify(s.nodes)}`);
    }
    const s5 = await statusAt(`127.0.0.1:${p5}`);
    assert.ok(!s5.nodes.find((n) => n.id === 1)?.up, `the other cluster never sees node 1 up: ${JSON.stringify(s5.nodes)}`);
    // This cluster still works.
    await c1.createStream('still-here');

    // Removing the leader itself (through another member): the other two elect a leader and go on.
    const addrOf = (id: number) => (id === 4 ? `127.0.0.1:${port4}` : c.address(id));
    const lead = await until('a leader among the three', async () => {
      const s = await statusAt(addrOf(rest[0]!));
      return s.leader !== null && rest.includes(s.leader) ? s.leader : null;
    });
    const via = rest.find((id) => id !== lead)!;
    const viaClient = await connectTo(addrOf(via));
    clients.push(viaClient);
    const left = await viaClient.clusterRemoveNode!(lead);
    assert.deepEqual(left.members.map((m) => m.node), rest.filter((id) => id !== lead));
    const two = rest.filter((id) => id !== lead);
    await until('the two left agree on a leader among them', async () => {
      const ss = await Promise.all(two.map((id) => statusAt(addrOf(id))));
      return ss.every((s) => s.voters.length === 2 && s.leader !== null && two.includes(s.leader) && s.leader === ss[0]!.leader) ? true : null;
    });
    await viaClient.createStream('after-leader-removed');
    // The new leader's bootstrap (its --peers) must not bring back a removed node.
    await assert.rejects(viaClient.clusterRemoveNode!(gone), new RegExp(`Node ${gone} is not a member of the cluster`));
    await assert.rejects(viaClient.clusterRemoveNode!(lead), new RegExp(`Node ${lead} is not a member of the cluster`));
  } finally {
    stopLoad();
    await Promise.allSettled(clients.map((x) => x.close()));
    await Promise.allSettled(extra.map((n) => n.kill9()));
    await c.stop();
    cleanup();
  }
});

async function connectTo(address: string): Promise<Client> {
  const { connect } = await import('../../src/client/client.js');
  return connect(address, { timeoutMs: STEP_MS_MAX });
}

async function statusAt(address: string) {
  const cl = await connectTo(address);
  try {
    return await cl.clusterStatus();
  } finally {
    await cl.close();
  }
}

test('an initial voter that starts after the others bootstrapped (no cluster id yet) is let in, catches up and takes the id', async () => {
  const { dir, cleanup } = tempDir('late');
  const ports = [await freePort(), await freePort(), await freePort()];
  const peers = (id: number) => [1, 2, 3].filter((p) => p !== id).map((p) => `${p}@127.0.0.1:${ports[p - 1]}`).join(',');
  const procs: NodeProcess[] = [];
  const clients: Client[] = [];
  try {
    procs.push(...(await Promise.all([1, 2].map((id) => NodeProcess.start(`${dir}/n${id}`, { 'node-id': id, peers: peers(id) }, ports[id - 1])))));
    const id = await until('nodes 1 and 2 bootstrapped', async () => {
      const ss = await Promise.all([1, 2].map((n) => statusAt(`127.0.0.1:${ports[n - 1]}`)));
      return ss[0]!.clusterId && ss.every((s) => s.clusterId === ss[0]!.clusterId) ? ss[0]!.clusterId : null;
    });
    const c1 = await connectTo(`127.0.0.1:${ports[0]}`);
    clients.push(c1);
    await c1.createStream('before-3');
    procs.push(await NodeProcess.start(`${dir}/n3`, { 'node-id': 3, peers: peers(3) }, ports[2]));
    const s3 = await until('node 3 caught up and took the cluster id', async () => {
      const s = await statusAt(`127.0.0.1:${ports[2]}`);
      return s.clusterId === id && s.leader !== null ? s : null;
    });
    assert.equal(s3.clusterId, id);
    const c3 = await connectTo(`127.0.0.1:${ports[2]}`);
    clients.push(c3);
    assert.deepEqual((await c3.listStreams()).map((s) => s.name), ['before-3']);
  } finally {
    await Promise.allSettled(clients.map((x) => x.close()));
    await Promise.allSettled(procs.map((n) => n.kill9()));
    cleanup();
  }
});

test('a wiped node re-using its id is refused by every member and never shows up; removed and re-added with --join it is a member again', async () => {
  const c = await ProcCluster.start(3);
  const extra: NodeProcess[] = [];
  try {
    await c.leader(STEP_MS_MAX);
    // The leader binds every node id to the data dir it saw in that node's hello.
    const bound = await until('every node bound to its data dir', async () => {
      const s = await c.status(1);
      return s.nodes.length === 3 && s.nodes.every((n) => typeof n.dataDirId === 'string') ? s.nodes.map((n) => n.dataDirId!) : null;
    });
    assert.equal(new Set(bound).size, 3);

    // Node 3 loses its disk: killed, data dir wiped, started again with the same --node-id and --peers.
    await c.kill9(3);
    rmSync(c.dirs.get(3)!, { recursive: true, force: true });
    const wiped = await c.startNode(3);
    const sentence = /node 3's data dir was replaced.*remove-node 3.*--join/;
    await until('the members refuse the wiped node with the sentence', async () =>
      wiped.stderrLines.some((l) => sentence.test(l)) && [1, 2].some((id) => c.nodes.get(id)!.stderrLines.some((l) => sentence.test(l))) ? true : null,
    );
    await until('node 1 sees node 3 down (its last contact, before the kill, is older than the liveness timeout)', async () =>
      (await c.status(1)).nodes.find((n) => n.id === 3)?.up === false ? true : null,
    );
    // From then on, for 2 s, it never shows up, never learns the cluster, and the cluster goes on without it.
    const client = await c.client(2);
    try {
      for (let i = 0; i < 10; i++) {
        const [s1, s3] = await Promise.all([c.status(1), c.status(3)]);
        assert.equal(s1.nodes.find((n) => n.id === 3)?.up, false, `node 3 shows as up on node 1: ${JSON.stringify(s1.nodes)}`);
        assert.equal(s3.clusterId, null, 'the wiped node never adopts the cluster id');
        assert.equal(s3.leader, null, 'the wiped node never follows a leader');
        await client.createStream(`while-wiped-${i}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await client.close();
    }

    // The remedy the sentence gives: remove node 3, start the wiped dir with --join; it is a member again, with a new binding.
    await c.kill9(3);
    const admin = await c.client(1);
    try {
      await admin.clusterRemoveNode(3);
    } finally {
      await admin.close();
    }
    rmSync(c.dirs.get(3)!, { recursive: true, force: true });
    extra.push(await NodeProcess.start(c.dirs.get(3)!, { 'node-id': 3, join: c.address(1) }, c.ports.get(3)!));
    const rebound = await until('node 3 re-added, up and bound to its new data dir', async () => {
      const s = await c.status(1);
      const n3 = s.nodes.find((n) => n.id === 3);
      return n3 !== undefined && n3.voter && n3.up && n3.dataDirId !== null ? n3.dataDirId : null;
    });
    assert.notEqual(rebound, bound[2]);
    const c3 = await c.client(3);
    try {
      await until('node 3 has the streams created while it was out', async () => ((await c3.listStreams()).filter((s) => s.name.startsWith('while-wiped-')).length === 10 ? true : null));
    } finally {
      await c3.close();
    }
  } finally {
    await Promise.allSettled(extra.map((n) => n.kill9()));
    await c.stop();
  }
});
