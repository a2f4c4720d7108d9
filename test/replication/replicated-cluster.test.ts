/**
 * Replicated shards with real node processes on 127.0.0.1 (issue 15):
 * 3 nodes, 4 shards, R = 3. A producer given every node's address writes
 * through each shard's sequencer (following NOT_LEADER) while the test
 * kills a sequencer node with SIGKILL (and restarts it), pauses a sequencer
 * with SIGSTOP for twice its lease, and kills another node. Afterwards
 * every node serves every shard from seq 0: the same records in the same
 * order with dense seqs, every acknowledged value exactly once at the seq
 * its ack named, and epochs that never go down. The write pause around
 * each fault (the longest gap between acks of a shard) is printed; the
 * bound on it lives in the benchmark, not here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Client } from '../../src/client/client.js';
import { SEQUENCER_LEASE_MS } from '../../src/replication/limits.js';
import { spawnSync } from 'node:child_process';
import { ProcCluster } from '../torture/harness/cluster-proc.js';
import { CLI_MAIN, NodeProcess } from '../torture/harness/node-proc.js';
import { freePort, tempDir } from '../torture/harness/tmp.js';

const SHARDS = 4;
const STEP_MS_MAX = 20_000;

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
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Seen {
  seq: number;
  epoch: number;
  appendTime: number;
  value: string;
}

/** Every record of a shard as one node serves it, from seq 0 to its committed end as of the start. */
async function readAll(c: ProcCluster, node: number, stream: string, shard: number): Promise<Seen[]> {
  const client = await connect(c.address(node), { timeoutMs: 10_000 });
  try {
    const out: Seen[] = [];
    for await (const r of client.consumer(stream, { shard, from: 'earliest' })) out.push({ seq: r.seq, epoch: r.epoch, appendTime: r.appendTime, value: Buffer.from(r.value).toString() });
    return out;
  } finally {
    await client.close();
  }
}

async function sequencerOf(client: Client, stream: string, shard: number): Promise<number> {
  const d = await client.describeStream(stream);
  const s = d.shardInfo[shard]!.sequencer;
  if (s === null) throw new Error(`shard ${shard} has no sequencer yet`);
  return s;
}

test('3 nodes, 4 shards, R=3: writes go on through kill -9 of a sequencer, SIGSTOP of a sequencer past its lease and kill -9 of another node; every node then holds every acked record once, in the same order', async () => {
  const c = await ProcCluster.start(3);
  const clients: Client[] = [];
  try {
    await c.leader(STEP_MS_MAX);
    const all = [1, 2, 3].map((id) => c.address(id));
    const admin = await connect(all, { timeoutMs: 15_000 });
    clients.push(admin);
    await admin.createStream('r', { shards: SHARDS, replicas: 3 });
    await until('every shard has a sequencer', async () => ((await admin.describeStream('r')).shardInfo.every((s) => s.sequencer !== null && s.segments.length > 0) ? true : null));

    // Continuous production: round-robin over the shards, idempotent, acks=quorum, at most 64 sends in flight.
    const producerClient = await connect(all, { timeoutMs: 15_000 });
    clients.push(producerClient);
    const producer = producerClient.producer('r', { acks: 'quorum', timeoutMs: 60_000, lingerMs: 2 });
    const acked = new Map<string, { shard: number; seq: number }>();
    const ackTimes: number[][] = Array.from({ length: SHARDS }, () => []);
    const failures: string[] = [];
    let producing = true;
    let sent = 0;
    const inFlight = new Set<Promise<void>>();
    const load = (async () => {
      while (producing) {
        const value = `v-${sent}`;
        const p = producer.send({ value, shard: sent % SHARDS }).then(
          (r) => {
            acked.set(value, { shard: r.shard, seq: r.seq });
            ackTimes[r.shard]!.push(performance.now());
          },
          (e: Error) => void failures.push(`${value}: ${e.message}`),
        );
        sent++;
        const tracked = p.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        if (inFlight.size >= 64) await Promise.race(inFlight);
        if (sent % 16 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await Promise.allSettled(inFlight);
    })();

    const faults: { kind: string; at: number; until: number }[] = [];
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await wait(1500);

    // 1. kill -9 the node that sequences shard 0; restart it after 2 s.
    const s0 = await sequencerOf(admin, 'r', 0);
    let t = performance.now();
    await c.kill9(s0);
    await wait(2000);
    await c.startNode(s0);
    faults.push({ kind: `kill -9 of sequencer node ${s0}`, at: t, until: performance.now() });
    await wait(2000);

    // 2. SIGSTOP the node that sequences shard 1 for twice its lease, then SIGCONT.
    const s1 = await sequencerOf(admin, 'r', 1);
    t = performance.now();
    process.kill(c.nodes.get(s1)!.pid, 'SIGSTOP');
    await wait(2 * SEQUENCER_LEASE_MS);
    process.kill(c.nodes.get(s1)!.pid, 'SIGCONT');
    faults.push({ kind: `SIGSTOP of sequencer node ${s1} for ${2 * SEQUENCER_LEASE_MS} ms`, at: t, until: performance.now() });
    await wait(2500);

    // 3. kill -9 a node that sequences shard 2 (it is a replica of every other shard too); restart it.
    const s2 = await sequencerOf(admin, 'r', 2);
    t = performance.now();
    await c.kill9(s2);
    await wait(1500);
    await c.startNode(s2);
    faults.push({ kind: `kill -9 of node ${s2}`, at: t, until: performance.now() });
    await wait(2000);

    producing = false;
    await load;
    await producer.close();
    assert.deepEqual(failures, [], 'every send was acked in the end (retries through the failovers)');
    assert.ok(acked.size > 500, `enough load to mean something: ${acked.size} acked`);

    // Write pauses: per fault, the longest gap between two acks of one shard that overlaps the fault.
    // A fault's window runs from its start to the next fault's start (the last one: to the end of the load).
    const pauses = faults.map((f, k) => {
      const windowEnd = faults[k + 1]?.at ?? Infinity;
      let worst = 0;
      for (const times of ackTimes) {
        for (let i = 1; i < times.length; i++) {
          if (times[i]! < f.at || times[i - 1]! >= windowEnd) continue;
          worst = Math.max(worst, times[i]! - Math.max(times[i - 1]!, f.at));
        }
      }
      return { fault: f.kind, writePauseMs: Math.round(worst) };
    });
    console.log(JSON.stringify({ acked: acked.size, pauses }));

    // Every node, every shard: the same records, dense from 0, each acked value once at its acked seq, epochs non-decreasing.
    const bySeq = Array.from({ length: SHARDS }, () => new Map<number, string>());
    for (const [value, a] of acked) bySeq[a.shard]!.set(a.seq, value);
    for (let shard = 0; shard < SHARDS; shard++) {
      const ackedEnd = Math.max(-1, ...bySeq[shard]!.keys()) + 1;
      const views = await Promise.all(
        [1, 2, 3].map((node) =>
          until(`node ${node} serves shard ${shard} up to ${ackedEnd}`, async () => {
            const recs = await readAll(c, node, 'r', shard);
            return recs.length >= ackedEnd ? recs : null;
          }),
        ),
      );
      const reference = views[0]!;
      for (const [i, v] of views.entries()) {
        assert.deepEqual(v.slice(0, ackedEnd), reference.slice(0, ackedEnd), `node ${i + 1} and node 1 differ on shard ${shard}`);
        v.forEach((r, k) => assert.equal(r.seq, k, `node ${i + 1} shard ${shard}: seqs are dense`));
        for (let k = 1; k < v.length; k++) assert.ok(v[k]!.epoch >= v[k - 1]!.epoch, `node ${i + 1} shard ${shard}: an older epoch after a newer one at seq ${k}`);
      }
      const values = new Set<string>();
      for (const r of reference) {
        assert.ok(!values.has(r.value), `shard ${shard}: ${r.value} stored twice`);
        values.add(r.value);
      }
      for (const [seq, value] of bySeq[shard]!) assert.equal(reference[seq]?.value, value, `shard ${shard}: acked ${value} at seq ${seq}, but the log has ${reference[seq]?.value}`);
    }
  } finally {
    await Promise.allSettled(clients.map((x) => x.close()));
    await c.stop();
  }
});

test('--roles storage: a storage-only node stores every shard but never sequences one; "--roles sequencer" is refused at start', async () => {
  const { dir, cleanup } = tempDir('roles');
  const ports = [await freePort(), await freePort(), await freePort()];
  const peers = (id: number) => [1, 2, 3].filter((p) => p !== id).map((p) => `${p}@127.0.0.1:${ports[p - 1]}`).join(',');
  const procs: NodeProcess[] = [];
  try {
    const bad = spawnSync(process.execPath, [CLI_MAIN, 'start', '--data-dir', `${dir}/bad`, '--port', '0', '--node-id', '9', '--peers', `1@127.0.0.1:${ports[0]}`, '--roles', 'sequencer'], { encoding: 'utf8', timeout: 15_000 });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--roles sequencer is refused: a sequencer stores the segments it writes/);
    procs.push(...(await Promise.all([1, 2, 3].map((id) => NodeProcess.start(`${dir}/n${id}`, { 'node-id': id, peers: peers(id), ...(id === 3 ? { roles: 'storage' } : {}) }, ports[id - 1])))));
    const client = await connect(ports.map((p) => `127.0.0.1:${p}`), { timeoutMs: 15_000 });
    try {
      await until('a leader', async () => ((await client.clusterStatus()).leader !== null ? true : null));
      await client.createStream('s', { shards: 6, replicas: 3 });
      const d = await until('every shard has a sequencer', async () => {
        const x = await client.describeStream('s');
        return x.shardInfo.every((s) => s.sequencer !== null && s.segments.length > 0) ? x : null;
      });
      assert.ok(d.shardInfo.every((s) => s.sequencer !== 3), `node 3 is storage-only: ${JSON.stringify(d.shardInfo.map((s) => s.sequencer))}`);
      assert.ok(d.shardInfo.every((s) => s.segments.at(-1)!.replicas.includes(3)), 'it stores every shard (R = 3 of 3 nodes)');
      const p = client.producer('s');
      for (let shard = 0; shard < 6; shard++) await p.send({ value: `x${shard}`, shard });
      await p.close();
      const only3 = await connect(`127.0.0.1:${ports[2]}`, { timeoutMs: 10_000 });
      const got: string[] = [];
      await until('node 3 serves every record', async () => {
        got.length = 0;
        for await (const r of only3.consumer('s', { from: 'earliest' })) got.push(Buffer.from(r.value).toString());
        return got.length === 6 ? true : null;
      });
      await only3.close();
    } finally {
      await client.close();
    }
  } finally {
    await Promise.allSettled(procs.map((n) => n.kill9()));
    cleanup();
  }
});

test('a replica restarted while its shard is idle catches up and serves every committed record (the sequencer resends the last record so it follows the epoch)', async () => {
  const c = await ProcCluster.start(3);
  try {
    await c.leader(STEP_MS_MAX);
    const client = await connect([1, 2, 3].map((id) => c.address(id)), { timeoutMs: 15_000 });
    try {
      await client.createStream('idle', { shards: 1, replicas: 3 });
      const seq = await until('a sequencer', async () => {
        const d = await client.describeStream('idle');
        return d.shardInfo[0]!.sequencer !== null && d.shardInfo[0]!.segments.length > 0 ? d.shardInfo[0]!.sequencer : null;
      });
      const p = client.producer('idle');
      for (let i = 0; i < 5; i++) await p.send({ value: `r${i}` });
      await p.close();
      const replica = [1, 2, 3].find((n) => n !== seq)!;
      await c.kill9(replica);
      await c.startNode(replica);
      // Nothing is written any more: only the sequencer's heartbeat can bring the restarted replica along.
      const got = await until(`node ${replica} serves the 5 records`, async () => {
        const recs = await readAll(c, replica, 'idle', 0);
        return recs.length === 5 ? recs : null;
      });
      assert.deepEqual(got.map((r) => r.value), ['r0', 'r1', 'r2', 'r3', 'r4']);
    } finally {
      await client.close();
    }
  } finally {
    await c.stop();
  }
});
