/**
 * `nativelog bench --nodes 3 --replicas 3` for real (issue 15): the command
 * starts three node processes forming one cluster, creates the bench stream
 * with three replicas, waits for every shard's sequencer, produces with
 * quorum acks for a moment and reads everything back through the delivery
 * check. Asserted: the JSON shape (today's keys plus `cluster` and per-node
 * CPU), that every acked record came back once, and that no node process is
 * left running afterwards (each pid is probed). No speed is asserted.
 * The option checks of --nodes/--replicas/--acks are here too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BenchOptionError, resolveBenchOptions } from '../../src/bench/bench-options.js';

const entry = fileURLToPath(new URL('../../src/bench/bench-main.js', import.meta.url));
/** The whole bench run (cluster start, election, produce, consume, stop) must fit in this. */
const RUN_MS_MAX = 45_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('bench --nodes 3 --replicas 3: one JSON object with the cluster, every acked record consumed once, every node process gone', () => {
  const args = ['--nodes', '3', '--replicas', '3', '--shards', '2', '--record-bytes', '1024', '--seconds', '0.8', '--warmup-seconds', '0.2', '--e2e-seconds', '0.5', '--e2e-rate', '500', '--no-limits', '--verify-every', '1', '--json'];
  const r = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', timeout: RUN_MS_MAX });
  assert.equal(r.status, 0, `bench exited ${r.status} (${r.signal ?? ''}): ${r.stderr.slice(-2000)}`);
  const lines = r.stdout.trim().split('\n');
  const j = JSON.parse(lines[lines.length - 1]!) as Record<string, any>;
  assert.equal(j.ok, true, JSON.stringify(j.problems));
  assert.deepEqual({ nodes: j.cluster.nodes, replicas: j.cluster.replicas, writeQuorum: j.cluster.writeQuorum }, { nodes: 3, replicas: 3, writeQuorum: 2 });
  assert.equal(j.cluster.sequencers.length, 2);
  assert.ok(j.cluster.sequencersReadyMs > 0);
  for (const s of j.cluster.sequencers) assert.ok([1, 2, 3].includes(s), `sequencer ${s} is one of the nodes`);
  assert.equal(j.config.acks, 'quorum');
  assert.equal(j.config.address.split(',').length, 3, 'the clients were given every node');
  // Today's keys, filled.
  assert.ok(j.produce.ackedTotal > 0 && j.produce.recordsPerSec > 0 && j.consume.recordsPerSec > 0);
  const l = j.produce.latencyMs;
  assert.ok(l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.max);
  // The delivery check: every acked record consumed exactly once, dense seqs, every payload compared.
  const v = j.verification;
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.consumed, j.produce.ackedTotal);
  assert.equal(v.distinct, j.produce.ackedTotal);
  assert.equal(v.missing + v.duplicates + v.seqGaps + v.corrupt + v.foreign, 0);
  assert.equal(v.bodyChecked, v.consumed);
  assert.ok(Number.isInteger(j.consume.tailRecords) && j.consume.tailRecords >= 0 && j.consume.tailRecords <= v.consumed);
  assert.ok(j.endToEnd !== null && j.endToEnd.delivery.ok && j.endToEnd.latencyMs.count > 0);
  // Node CPU: each of the three processes, summed.
  assert.equal(j.cpu.nodeSecondsProducePerNode.length, 3);
  for (const s of j.cpu.nodeSecondsProducePerNode) assert.ok(s > 0, 'every node process worked during produce');
  const sum = j.cpu.nodeSecondsProducePerNode.reduce((a: number, b: number) => a + b, 0);
  assert.ok(Math.abs(sum - j.cpu.nodeSecondsProduce) < 0.01, `per-node CPU ${sum} sums to ${j.cpu.nodeSecondsProduce}`);
  // Stopped by pid: no node process left.
  assert.equal(j.config.pids.length, 3);
  for (const pid of j.config.pids) assert.equal(alive(pid), false, `node process ${pid} still runs after the bench`);
});

test('--nodes, --replicas and --acks are checked with one sentence each', () => {
  const bad = (o: Parameters<typeof resolveBenchOptions>[0], re: RegExp) => assert.throws(() => resolveBenchOptions(o), (e: unknown) => e instanceof BenchOptionError && re.test(e.message));
  bad({ nodes: 8 }, /--nodes must be an integer from 1 to 7/);
  bad({ nodes: 0 }, /--nodes must be an integer from 1 to 7/);
  bad({ replicas: 3 }, /--replicas 3 needs at least as many nodes, but --nodes is 1/);
  bad({ nodes: 3, replicas: 4 }, /--replicas 4 needs at least as many nodes/);
  bad({ nodes: 3, server: '127.0.0.1:7070' }, /cannot be combined with --server/);
  bad({ nodes: 2, nodeProcess: 'inline' }, /--node-process inline is refused/);
  bad({ acks: 'none' as 'quorum' }, /--acks must be quorum or leader/);
  const ok = resolveBenchOptions({ nodes: 3, replicas: 2, acks: 'leader' });
  assert.deepEqual([ok.nodes, ok.replicas, ok.acks], [3, 2, 'leader']);
  assert.equal(resolveBenchOptions({ server: '127.0.0.1:1,127.0.0.1:2', replicas: 3 }).replicas, 3, 'a running cluster may be asked for replicas');
});
