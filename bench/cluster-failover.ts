/**
 * MetaStore leader failover on real processes (issue 14):
 *
 *   npm run bench:failover -- [--nodes 3] [--kills 20] [--json]
 *
 * Starts N nodes on 127.0.0.1 (bench harness: test/torture/harness/cluster-proc.ts).
 * Each round: find the leader all nodes agree on, open a client to a
 * survivor, kill -9 the leader, and time until an admin operation
 * (createStream) through the survivor succeeds (its node forwards it to the
 * next leader once one is elected: this is the write pause an operator
 * sees), and until every live node names the same new leader. Then the
 * killed node is restarted from its data dir and the next round waits for
 * it to hold every stream (catch-up). Reports the pause per kill and its
 * median, p90 and max, plus the machine's load average.
 */
import { loadavg } from 'node:os';
import { ProcCluster } from '../test/torture/harness/cluster-proc.js';

interface Args {
  nodes: number;
  kills: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { nodes: 3, kills: 20, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => Number(argv[++i]);
    if (k === '--nodes') a.nodes = v();
    else if (k === '--kills') a.kills = v();
    else if (k === '--json') a.json = true;
    else throw new Error(`unknown argument ${k}; usage: npm run bench:failover -- [--nodes 3] [--kills 20] [--json]`);
  }
  if (!Number.isInteger(a.nodes) || a.nodes < 3 || a.nodes > 7) throw new Error('--nodes must be 3..7');
  if (!Number.isInteger(a.kills) || a.kills < 1 || a.kills > 1000) throw new Error('--kills must be 1..1000');
  return a;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const load0 = loadavg()[0]!;
  const c = await ProcCluster.start(args.nodes);
  const rounds: { killed: number; writePauseMs: number; agreedMs: number; newLeader: number }[] = [];
  let streams = 0;
  try {
    for (let k = 0; k < args.kills; k++) {
      const leader = await c.leader();
      const survivor = [...c.nodes.keys()].find((id) => id !== leader)!;
      const client = await c.client(survivor);
      // The restarted node of the last round has caught up when it lists every stream.
      const t0 = performance.now();
      await c.kill9(leader);
      await client.createStream(`failover-${k}`);
      const writePauseMs = performance.now() - t0;
      streams++;
      const newLeader = await c.leader();
      const agreedMs = performance.now() - t0;
      await client.close();
      rounds.push({ killed: leader, writePauseMs: Math.round(writePauseMs), agreedMs: Math.round(agreedMs), newLeader });
      if (!args.json) process.stdout.write(`kill ${k + 1}: leader ${leader} -> ${newLeader}; write pause ${Math.round(writePauseMs)} ms, all agree after ${Math.round(agreedMs)} ms\n`);
      await c.startNode(leader);
      const back = await c.client(leader);
      const listed = await back.listStreams();
      await back.close();
      if (listed.length !== streams) throw new Error(`node ${leader} lists ${listed.length} streams after its restart, ${streams} were created`);
    }
  } finally {
    await c.stop();
  }
  const pauses = rounds.map((r) => r.writePauseMs).sort((a, b) => a - b);
  const summary = {
    nodes: args.nodes,
    kills: rounds.length,
    writePauseMs: { median: percentile(pauses, 50), p90: percentile(pauses, 90), max: pauses[pauses.length - 1] },
    loadAverage: { before: Number(load0.toFixed(2)), after: Number(loadavg()[0]!.toFixed(2)) },
    rounds,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(`\n${summary.kills} kills of the leader (${args.nodes} nodes): write pause median ${summary.writePauseMs.median} ms, p90 ${summary.writePauseMs.p90} ms, max ${summary.writePauseMs.max} ms (load average ${summary.loadAverage.before} -> ${summary.loadAverage.after})\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
