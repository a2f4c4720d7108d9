/**
 * runBench: the whole `nativelog bench` run, in order:
 *   1. start the node under test (embedded in a temp dir, an embedded
 *      cluster of --nodes processes, or --server); on a cluster, create the
 *      stream with --replicas and wait until every shard has a sequencer;
 *   2. produce (warm-up, then the measured time or record count) with the
 *      real client library over real TCP;
 *   3. consume everything back and verify it (count, uniqueness, seq
 *      density, sampled payload bytes): a run that lost data fails;
 *   4. end-to-end latency at a fixed offered rate on a fresh stream;
 *   5. the machine's own limits on the same bytes: raw sequential write with
 *      and without fdatasync per batch, TCP loopback; and the ratios (the
 *      limits are also probed before the node starts: machine-limits.ts).
 */
import type { ClientApi, ConnectOptions, StreamDescription } from '../client/types.js';
import { payloadTemplate } from './bench-payload.js';
import { resolveBenchOptions, type BenchOptions } from './bench-options.js';
import { DeliveryCheck, type DeliveryReport } from './delivery-check.js';
import { runEndToEndPhase, type EndToEndResult } from './end-to-end-phase.js';
import { runConsumePhase, type ConsumeResult } from './consume-phase.js';
import { machineInfo, type MachineInfo } from './machine-info.js';
import { startNodeUnderTest } from './node-under-test.js';
import { runProducePhase, type ProduceResult } from './produce-phase.js';
import { ProgressLine } from './progress-line.js';
import { combineLimits, measureLimitPass, probeOptions, type BenchLimits, type LimitPass } from './machine-limits.js';

export type ConnectFn = (servers: string, opts?: ConnectOptions) => Promise<ClientApi>;

export type { BenchLimits };

/** How long the bench waits for a MetaStore leader and for every shard of a new stream to get a sequencer. */
export const CLUSTER_READY_MS_MAX = 30_000;
const CLUSTER_POLL_MS = 50;

export interface BenchCluster {
  /** Node processes started (embedded cluster), or the voters of the --server cluster; 1 for a single node. */
  nodes: number;
  replicas: number;
  /** floor(replicas/2)+1: the replicas that must store a batch before a quorum ack. */
  writeQuorum: number;
  /** The sequencer node id of each shard of the measured stream (null on a single node). */
  sequencers: (number | null)[];
  /** Time from creating the measured stream until every shard had a sequencer (0 on a single node). */
  sequencersReadyMs: number;
}

export interface BenchResult {
  bench: 'nativelog';
  /** Epoch ms when the run started. */
  startedAt: number;
  ok: boolean;
  /** Why ok is false (one sentence each). */
  problems: string[];
  config: BenchOptions & { stream: string; address: string; node: 'child' | 'inline' | 'server'; nodeFsync: string | null; inFlightRecordsPerProducer: number; /** Node child processes the bench started (and stopped). */ pids: number[] };
  machine: MachineInfo;
  produce: ProduceResult;
  consume: ConsumeResult;
  verification: DeliveryReport;
  endToEnd: EndToEndResult | null;
  limits: BenchLimits | null;
  cluster: BenchCluster;
  /** The node's figure over the machine's limit on the same bytes (1.0 = as fast as the raw limit). */
  ratios: {
    produceVsRawWrite: number | null;
    produceVsRawFsyncWrite: number | null;
    produceVsTcpLoopback: number | null;
    consumeVsTcpLoopback: number | null;
  };
  /**
   * CPU seconds spent during the measured produce phase (node: whole node process, summed over every node of an
   * embedded cluster; nodeSecondsProducePerNode: each node, by node id - 1; bench: this process).
   */
  cpu: {
    nodeSecondsProduce: number | null;
    nodeSecondsProducePerNode: number[] | null;
    benchSecondsProduce: number;
    nodeMicrosPerRecord: number | null;
    benchMicrosPerRecord: number | null;
  };
}

async function defaultConnect(): Promise<ConnectFn> {
  const spec = '../client/index.js'; // the client library's entry (resolved at run time)
  const mod = (await import(spec)) as { connect: ConnectFn };
  return mod.connect;
}

export async function runBench(partial: Partial<BenchOptions>, connectFn?: ConnectFn): Promise<BenchResult> {
  const opts = resolveBenchOptions(partial);
  const connect = connectFn ?? (await defaultConnect());
  const startedAt = Date.now();
  const machine = machineInfo();
  const progress = new ProgressLine(opts.progress);
  const template = payloadTemplate(opts.recordBytes);
  const stream = `bench-${process.pid}-${startedAt}`;
  const e2eStream = `${stream}-e2e`;
  const problems: string[] = [];

  // 1. machine limits, first (bounded) pass
  let limitsBefore: LimitPass | null = null;
  if (!opts.skipLimits) {
    progress.note('measuring the machine: raw write with fdatasync per batch, TCP loopback, raw write...');
    limitsBefore = await measureLimitPass(
      probeOptions({ recordBytes: opts.recordBytes, batchBytes: opts.batchBytes, template, secondsMax: opts.limitSecondsMax, expectedBytes: opts.records === null ? null : opts.records * opts.recordBytes }),
    );
  }
  progress.note(opts.server === null ? 'starting an embedded node...' : `using the node at ${opts.server}`);
  const node = await startNodeUnderTest(opts);
  const clients: ClientApi[] = [];
  const open = async (): Promise<ClientApi> => {
    const c = await connect(node.address);
    clients.push(c);
    return c;
  };
  try {
    const admin = await open();
    const clustered = node.nodes > 1 || opts.replicas > 1;
    if (node.nodes > 1) await waitForLeader(admin);
    const createOpts = opts.replicas > 1 ? { shards: opts.shards, replicas: opts.replicas } : { shards: opts.shards };
    const tCreate = Date.now();
    await admin.createStream(stream, createOpts);
    const placed = clustered ? await waitForSequencers(admin, stream) : null;
    const sequencersReadyMs = Date.now() - tCreate;
    const sequencers = placed?.shardInfo.map((s) => s.sequencer) ?? Array.from({ length: opts.shards }, () => null);
    // What the cluster did, not what was asked: the stream's replicas and the replica set of each shard's active segment.
    const replicas = placed?.replicas ?? 1;
    const segmentReplicas = placed?.shardInfo.map((s) => s.segments[s.segments.length - 1]!.replicas.length) ?? [];
    if (replicas !== opts.replicas || segmentReplicas.some((n) => n !== opts.replicas)) {
      problems.push(`the bench stream was asked for ${opts.replicas} replicas but has ${replicas} (active segments on ${segmentReplicas.join(', ')} nodes)`);
    }
    const clusterNodes = node.kind === 'server' ? ((await admin.clusterStatus?.().catch(() => null))?.voters.length ?? 1) : node.nodes;
    const producerClients = await Promise.all(Array.from({ length: opts.producers }, open));

    // 2. produce
    const nodeCpu0 = await node.cpuMicrosEach();
    const benchCpu0 = process.cpuUsage();
    progress.note(`producing ${opts.recordBytes}-byte records: ${opts.producers} producer(s), ${opts.shards} shard(s), fsync ${node.fsync ?? "(the server's policy)"}`);
    const produce = await runProducePhase({
      clients: producerClients,
      stream,
      recordBytes: opts.recordBytes,
      template,
      batchBytes: opts.batchBytes,
      lingerMs: opts.lingerMs,
      acks: opts.acks,
      rate: opts.rate,
      inFlightBytes: opts.inFlightBytes,
      records: opts.records,
      seconds: opts.seconds,
      warmupSeconds: opts.warmupSeconds,
      primeRecords: opts.shards,
      progress,
      label: 'produce',
    });
    const nodeCpu1 = await node.cpuMicrosEach();
    const benchCpu = process.cpuUsage(benchCpu0);
    if (produce.errors > 0) problems.push(`${produce.errors} send(s) failed; the first: ${produce.firstError}`);

    // 3. consume and verify
    const consumerClients = await Promise.all(Array.from({ length: opts.shards }, open));
    const check = new DeliveryCheck(produce.sentPerProducer, template, opts.verifyEvery);
    progress.note('consuming everything back...');
    const consume = await runConsumePhase({ clients: consumerClients, stream, recordBytes: opts.recordBytes, fetchBytes: opts.fetchBytes, check, progress, ackedEndByShard: clustered ? produce.ackedEndByShard : null });
    const verification = check.report(produce.ackedTotal);
    if (!verification.ok) problems.push(`delivery check failed: ${JSON.stringify(verification)}`);

    // 4. end to end at a fixed rate
    let endToEnd: EndToEndResult | null = null;
    const e2eRate = opts.e2eRate ?? opts.rate ?? Math.max(1, Math.round(produce.recordsPerSec / 2));
    if (e2eRate > 0 && opts.e2eSeconds > 0) {
      await admin.createStream(e2eStream, createOpts);
      if (clustered) await waitForSequencers(admin, e2eStream);
      progress.note(`end-to-end latency at ${Math.round(e2eRate)} records/s...`);
      endToEnd = await runEndToEndPhase({
        producerClients,
        consumerClients,
        stream: e2eStream,
        recordBytes: opts.recordBytes,
        template,
        batchBytes: opts.batchBytes,
        lingerMs: opts.lingerMs,
        acks: opts.acks,
        rate: e2eRate,
        seconds: opts.e2eSeconds,
        inFlightBytes: opts.inFlightBytes,
        verifyEvery: opts.verifyEvery,
        progress,
      });
      if (!endToEnd.delivery.ok) problems.push(`end-to-end delivery check failed: ${JSON.stringify(endToEnd.delivery)}`);
      if (endToEnd.produce.errors > 0) problems.push(`end-to-end: ${endToEnd.produce.errors} send(s) failed; the first: ${endToEnd.produce.firstError}`);
    }
    if (node.kind === 'server' && !opts.keepData) {
      await admin.deleteStream(stream).catch(() => undefined);
      if (endToEnd !== null) await admin.deleteStream(e2eStream).catch(() => undefined);
    }
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await node.stop();

    // 5. machine limits on the same bytes, with the node stopped
    let limits: BenchLimits | null = null;
    if (limitsBefore !== null) {
      progress.note('measuring the machine again on the same bytes...');
      const after = await measureLimitPass({ totalBytes: Math.max(1, produce.ackedTotal) * opts.recordBytes, recordBytes: opts.recordBytes, batchBytes: opts.batchBytes, template, secondsMax: opts.limitSecondsMax });
      limits = combineLimits(limitsBefore, after);
    }
    const ratio = (a: number, b: number | undefined): number | null => (b === undefined || b <= 0 ? null : Math.round((a / b) * 1000) / 1000);
    const perNode = nodeCpu0 !== null && nodeCpu1 !== null ? nodeCpu1.map((c, i) => Math.round((c - nodeCpu0[i]!) / 1e3) / 1e3) : null;
    const nodeSecondsProduce = nodeCpu0 !== null && nodeCpu1 !== null ? (nodeCpu1.reduce((a, b) => a + b, 0) - nodeCpu0.reduce((a, b) => a + b, 0)) / 1e6 : null;
    return {
      bench: 'nativelog',
      startedAt,
      ok: problems.length === 0,
      problems,
      config: { ...opts, stream, address: node.address, node: node.kind, nodeFsync: node.fsync, inFlightRecordsPerProducer: produce.inFlightRecordsPerProducer, pids: node.pids },
      machine,
      produce,
      consume,
      verification,
      endToEnd,
      limits,
      cluster: { nodes: clusterNodes, replicas, writeQuorum: Math.floor(replicas / 2) + 1, sequencers, sequencersReadyMs: clustered ? sequencersReadyMs : 0 },
      ratios: {
        produceVsRawWrite: ratio(produce.mbPerSec, limits?.rawWriteMbPerSec),
        produceVsRawFsyncWrite: ratio(produce.mbPerSec, limits?.rawFsyncWriteMbPerSec),
        produceVsTcpLoopback: ratio(produce.mbPerSec, limits?.tcpLoopbackMbPerSec),
        consumeVsTcpLoopback: ratio(consume.mbPerSec, limits?.tcpLoopbackMbPerSec),
      },
      cpu: {
        nodeSecondsProduce,
        nodeSecondsProducePerNode: perNode,
        benchSecondsProduce: (benchCpu.user + benchCpu.system) / 1e6,
        nodeMicrosPerRecord: nodeSecondsProduce === null || produce.ackedTotal === 0 ? null : Math.round(((nodeSecondsProduce * 1e6) / produce.ackedTotal) * 100) / 100,
        benchMicrosPerRecord: produce.ackedTotal === 0 ? null : Math.round(((benchCpu.user + benchCpu.system) / produce.ackedTotal) * 100) / 100,
      },
    };
  } finally {
    progress.stop();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await node.stop().catch(() => undefined);
  }
}

async function until<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + CLUSTER_READY_MS_MAX;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what} within ${CLUSTER_READY_MS_MAX} ms${last === null ? '' : ` (last error: ${(last as Error).message})`}`);
    await new Promise((r) => setTimeout(r, CLUSTER_POLL_MS));
  }
}

/** Waits until the node the admin client talks to knows the MetaStore's leader (stream creation goes through it). */
async function waitForLeader(admin: ClientApi): Promise<void> {
  if (admin.clusterStatus === undefined) return;
  await until('the embedded cluster elected no MetaStore leader', async () => ((await admin.clusterStatus!()).leader !== null ? true : null));
}

/** Waits until every shard of `stream` has a sequencer and an open segment; returns the stream's description then. */
async function waitForSequencers(admin: ClientApi, stream: string): Promise<StreamDescription> {
  return until(`not every shard of ${stream} got a sequencer`, async () => {
    const d = await admin.describeStream(stream);
    return d.shardInfo.length > 0 && d.shardInfo.every((s) => s.sequencer !== null && s.segments.length > 0) ? d : null;
  });
}
