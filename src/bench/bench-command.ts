/**
 * `nativelog bench`: the commander registration. The CLI calls
 * registerBenchCommand(program) once; everything else lives here.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { BenchOptionError, benchDefaults, parseByteSize, type BenchAcks, type BenchOptions } from './bench-options.js';
import { formatBenchJson, formatBenchText } from './bench-report.js';
import { stopAllNodesNow } from './node-under-test.js';
import { runBench } from './run-bench.js';

const num = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('Not a number.');
  return n;
};
const bytes = (v: string): number => {
  try {
    return parseByteSize(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];
const setting = (v: string, prev: Record<string, string | number>): Record<string, string | number> => {
  const m = /^([A-Za-z]+)=(.*)$/.exec(v);
  if (m === null) throw new InvalidArgumentError('Use KEY=VALUE with a node setting name, e.g. ringBytes=16777216.');
  const n = Number(m[2]);
  return { ...prev, [m[1]!]: m[2]!.trim() !== '' && Number.isFinite(n) ? n : m[2]! };
};

interface BenchFlags {
  server?: string;
  nodeProcess: 'child' | 'inline';
  nodes: number;
  replicas: number;
  acks: BenchAcks;
  recordBytes: number;
  seconds: number;
  records?: number;
  producers: number;
  shards: number;
  batchBytes: number;
  lingerMs: number;
  rate?: number;
  inFlightBytes: number;
  warmupSeconds: number;
  fetchBytes: number;
  fsync?: string;
  e2eRate?: number;
  e2eSeconds: number;
  verifyEvery: number;
  limits: boolean;
  limitSecondsMax: number;
  nodeCpuProf?: string;
  nodeSet: Record<string, string | number>;
  nodeArg: string[];
  keepData: boolean;
  json: boolean;
  progress: boolean;
}

/** Maps parsed flags to BenchOptions (exported for tests). */
export function benchOptionsFromFlags(f: BenchFlags): Partial<BenchOptions> {
  const nodeExecArgv = [...f.nodeArg];
  if (f.nodeCpuProf !== undefined) nodeExecArgv.push('--cpu-prof', `--cpu-prof-dir=${f.nodeCpuProf}`);
  return {
    server: f.server ?? null,
    nodeProcess: f.nodeProcess,
    nodes: f.nodes,
    replicas: f.replicas,
    acks: f.acks,
    recordBytes: f.recordBytes,
    seconds: f.seconds,
    records: f.records ?? null,
    producers: f.producers,
    shards: f.shards,
    batchBytes: f.batchBytes,
    lingerMs: f.lingerMs,
    rate: f.rate ?? null,
    inFlightBytes: f.inFlightBytes,
    warmupSeconds: f.warmupSeconds,
    fetchBytes: f.fetchBytes,
    fsync: f.fsync ?? null,
    e2eRate: f.e2eRate ?? null,
    e2eSeconds: f.e2eSeconds,
    verifyEvery: f.verifyEvery,
    skipLimits: !f.limits,
    limitSecondsMax: f.limitSecondsMax,
    nodeSettings: f.nodeSet,
    nodeExecArgv,
    keepData: f.keepData,
    json: f.json,
    progress: f.progress,
  };
}

export function registerBenchCommand(program: Command): Command {
  const d = benchDefaults;
  return program
    .command('bench')
    .description(
      'produce and consume over real TCP against an embedded node, an embedded cluster (--nodes) or --server, verify every record came back, ' +
        'and compare with the machine\'s own raw-write and TCP-loopback limits measured in the same run; see bench/README.md',
    )
    .option('--server <host:port>', 'use a running node instead of starting an embedded one')
    .option('--node-process <child|inline>', 'embedded node in a child process or in this process', d.nodeProcess)
    .option('--nodes <n>', 'embedded node processes: 1 = one node; 2..7 = a local cluster (ids 1..N, free ports, temp data dirs), clients given every address', num, d.nodes)
    .option('--replicas <n>', 'replicas of each bench stream (1..--nodes; with --server, the running cluster\'s)', num, d.replicas)
    .option('--acks <quorum|leader>', 'when a send is acknowledged: quorum (a write quorum of the replicas stored it) or leader', d.acks)
    .option('--record-bytes <n>', 'payload bytes per record (24 B .. 8 MiB; 64k, 1m accepted)', bytes, d.recordBytes)
    .option('--seconds <s>', 'measured produce time (after the warm-up)', num, d.seconds)
    .option('--records <n>', 'produce this many records in all instead of --seconds', num)
    .option('--producers <n>', 'producers, each on its own connection', num, d.producers)
    .option('--shards <n>', 'shards of the bench stream', num, d.shards)
    .option('--batch-bytes <n>', 'producer batch size', bytes, d.batchBytes)
    .option('--linger-ms <ms>', 'producer linger', num, d.lingerMs)
    .option('--rate <records/s>', 'fixed offered load over all producers; latency from the due send time (coordinated omission corrected)', num)
    .option('--in-flight-bytes <n>', 'per producer: payload bytes sent and not yet acked, at most', bytes, d.inFlightBytes)
    .option('--warmup-seconds <s>', 'produced first and not measured', num, d.warmupSeconds)
    .option('--fetch-bytes <n>', 'consumer bytes per fetch', bytes, d.fetchBytes)
    .option('--fsync <policy>', "embedded node's fsync policy: always | bytes:N | interval:MS | roll (default: the node's default)")
    .option('--e2e-rate <records/s>', 'end-to-end phase offered load (default: --rate, else half the measured produce rate; 0 skips)', num)
    .option('--e2e-seconds <s>', 'end-to-end phase length (0 skips)', num, d.e2eSeconds)
    .option('--verify-every <n>', 'compare every Nth consumed payload byte for byte (headers are checked on all)', num, d.verifyEvery)
    .option('--no-limits', 'skip the raw-write and TCP-loopback measurements')
    .option('--limit-seconds-max <s>', 'time bound of each machine-limit measurement', num, d.limitSecondsMax)
    .option('--node-cpu-prof <dir>', 'write a V8 CPU profile of the embedded node process into DIR (open in Chrome DevTools)')
    .option('--node-set <key=value>', 'embedded node setting over its defaults, by src/node/config.ts key (repeatable), e.g. ringBytes=16777216', setting, {} as Record<string, string | number>)
    .option('--node-arg <arg>', 'extra node.js flag for the embedded node process (repeatable)', collect, [] as string[])
    .option('--keep-data', 'keep the embedded node\'s data dir (and, with --server, the bench streams)', false)
    .option('--json', 'print the result as one JSON object on the last line', false)
    .option('--no-progress', 'no progress lines on stderr (they appear only on a terminal anyway)')
    .action(async (flags: BenchFlags) => {
      // Ctrl-C: every node process the bench started is killed by pid and its temp dir removed before exiting.
      const onSignal = (signal: NodeJS.Signals): void => {
        process.stderr.write(`bench interrupted by ${signal}; stopping the embedded node processes\n`);
        stopAllNodesNow();
        process.exit(130);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const result = await runBench(benchOptionsFromFlags(flags));
        process.stdout.write(`${flags.json ? formatBenchJson(result) : formatBenchText(result)}\n`);
        if (!result.ok) {
          for (const p of result.problems) process.stderr.write(`${p}\n`);
          process.exitCode = 1;
        }
      } catch (e) {
        const msg = e instanceof BenchOptionError || e instanceof Error ? e.message : String(e);
        process.stderr.write(`bench failed: ${msg}\n`);
        process.exitCode = 1;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
