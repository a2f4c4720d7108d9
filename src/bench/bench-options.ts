/**
 * What `nativelog bench` is asked to do: every knob, its default and its
 * bound in one place, so the CLI help, the JSON "config" echo and the
 * validation agree.
 */

export interface BenchOptions {
  /** Target an existing node instead of starting one ("HOST:PORT"). */
  server: string | null;
  /** Where the embedded node runs: a child process (default, like a real deployment) or inside this process. */
  nodeProcess: 'child' | 'inline';
  /** Embedded node processes: 1 = one node (today's bench); more = a local cluster of that many child processes. */
  nodes: number;
  /** Replicas of each bench stream's segments (1..nodes; with --server, at most the cluster's nodes). */
  replicas: number;
  /** When the producers' sends are answered: "quorum" (write quorum of the replica set, the default) or "leader" (the sequencer stored it). */
  acks: BenchAcks;
  /** Payload bytes per record (the value; the 80-byte record header is not counted). */
  recordBytes: number;
  /** Stop producing after this long (ignored when records is set). */
  seconds: number;
  /** Stop producing after this many records in all (null: run for `seconds`). */
  records: number | null;
  producers: number;
  shards: number;
  /** Producer batch bound (ProducerOptions.maxBatchBytes). */
  batchBytes: number;
  lingerMs: number;
  /** Produced before the measured time starts (sent, acked and verified, not counted). */
  warmupSeconds: number;
  /** Bytes per consumer fetch (ConsumerOptions.maxBytes). */
  fetchBytes: number;
  /** Fixed offered load in records/s over all producers (null: as fast as acks allow). */
  rate: number | null;
  /** Bytes of payload sent but not yet acked, per producer: the closed-loop window. */
  inFlightBytes: number;
  /** Node fsync policy ("always", "bytes:N", "interval:MS", "roll"); null: the node's default. */
  fsync: string | null;
  /** Offered load of the end-to-end phase in records/s; null: half the measured produce rate; 0: skip the phase. */
  e2eRate: number | null;
  e2eSeconds: number;
  /** Check every Nth consumed record's payload byte for byte (1 = all). Headers are checked on every record. */
  verifyEvery: number;
  /** Skip the machine-limit measurements. */
  skipLimits: boolean;
  /** Upper bound on the time the fsync'd raw write may take (it stops early and reports what it wrote). */
  limitSecondsMax: number;
  /** Settings for the embedded node on top of its defaults (NodeConfig keys), e.g. {ringBytes: 16777216}. */
  nodeSettings: Record<string, string | number>;
  /** Extra node arguments for the child node process, e.g. ["--cpu-prof", "--cpu-prof-dir=prof"]. */
  nodeExecArgv: string[];
  /** Keep the temp data dir (for inspection). */
  keepData: boolean;
  json: boolean;
  /** Progress lines on stderr (only when stderr is a terminal unless forced). */
  progress: boolean;
}

/** The producer acks the bench measures ("none" is not offered: nothing would be acknowledged to measure). */
export type BenchAcks = 'quorum' | 'leader';

export const RECORD_BYTES_MIN = 24; // room for the bench's own payload header (bench-payload.ts)
export const RECORD_BYTES_MAX = 8 * 1024 * 1024; // the node's default recordBytesMax
export const PRODUCERS_MAX = 64;
export const SHARDS_MAX = 256;
export const SECONDS_MAX = 3600;
/** Largest embedded cluster and largest replication factor (the MetaStore's voters, REPLICATION.md). */
export const NODES_MAX = 7;
export const REPLICAS_MAX = 7;

export const benchDefaults: BenchOptions = {
  server: null,
  nodeProcess: 'child',
  nodes: 1,
  replicas: 1,
  acks: 'quorum',
  recordBytes: 1024,
  seconds: 8,
  records: null,
  producers: 1,
  shards: 1,
  batchBytes: 256 * 1024,
  lingerMs: 0,
  warmupSeconds: 1,
  fetchBytes: 4 * 1024 * 1024,
  rate: null,
  inFlightBytes: 4 * 1024 * 1024,
  fsync: null,
  e2eRate: null,
  e2eSeconds: 3,
  verifyEvery: 64,
  skipLimits: false,
  limitSecondsMax: 30,
  nodeSettings: {},
  nodeExecArgv: [],
  keepData: false,
  json: false,
  progress: true,
};

export class BenchOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchOptionError';
  }
}

function intIn(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new BenchOptionError(`--${name} must be an integer from ${min} to ${max}, got ${v}`);
}

function numIn(name: string, v: number, min: number, max: number): void {
  if (!Number.isFinite(v) || v < min || v > max) throw new BenchOptionError(`--${name} must be a number from ${min} to ${max}, got ${v}`);
}

/** Fills defaults and checks every bound; throws BenchOptionError with one clear sentence. */
export function resolveBenchOptions(partial: Partial<BenchOptions>): BenchOptions {
  const o: BenchOptions = { ...benchDefaults };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  intIn('record-bytes', o.recordBytes, RECORD_BYTES_MIN, RECORD_BYTES_MAX);
  numIn('seconds', o.seconds, 0.1, SECONDS_MAX);
  if (o.records !== null) intIn('records', o.records, 1, Number.MAX_SAFE_INTEGER);
  intIn('producers', o.producers, 1, PRODUCERS_MAX);
  intIn('shards', o.shards, 1, SHARDS_MAX);
  intIn('batch-bytes', o.batchBytes, 1, 64 * 1024 * 1024);
  numIn('linger-ms', o.lingerMs, 0, 60_000);
  numIn('warmup-seconds', o.warmupSeconds, 0, SECONDS_MAX);
  intIn('fetch-bytes', o.fetchBytes, 1, 64 * 1024 * 1024);
  if (o.rate !== null) numIn('rate', o.rate, 1, 1e9);
  intIn('in-flight-bytes', o.inFlightBytes, 1, 1024 * 1024 * 1024);
  if (o.e2eRate !== null) numIn('e2e-rate', o.e2eRate, 0, 1e9);
  numIn('e2e-seconds', o.e2eSeconds, 0, SECONDS_MAX);
  intIn('verify-every', o.verifyEvery, 1, 1_000_000_000);
  numIn('limit-seconds-max', o.limitSecondsMax, 0.1, SECONDS_MAX);
  if (o.fsync !== null && !/^(always|roll|bytes:\d+|interval:\d+)$/.test(o.fsync)) {
    throw new BenchOptionError(`--fsync must be always, roll, bytes:N or interval:MS, got ${JSON.stringify(o.fsync)}`);
  }
  if (o.server !== null) {
    if (!/^[^:\s,]+:\d{1,5}(,[^:\s,]+:\d{1,5})*$/.test(o.server)) throw new BenchOptionError(`--server must be HOST:PORT or a comma-separated list of them, got ${JSON.stringify(o.server)}`);
    if (o.fsync !== null) throw new BenchOptionError('--fsync applies to the embedded node only; set it on the node started with --server');
  }
  if (o.server !== null && Object.keys(o.nodeSettings).length > 0) throw new BenchOptionError('--node-set applies to the embedded node only');
  for (const k of Object.keys(o.nodeSettings)) {
    if (['dataDir', 'host', 'port'].includes(k)) throw new BenchOptionError(`--node-set ${k} is chosen by the bench`);
  }
  if (o.nodeProcess !== 'child' && o.nodeProcess !== 'inline') throw new BenchOptionError(`--node-process must be child or inline, got ${JSON.stringify(o.nodeProcess)}`);
  intIn('nodes', o.nodes, 1, NODES_MAX);
  intIn('replicas', o.replicas, 1, REPLICAS_MAX);
  if (o.acks !== 'quorum' && o.acks !== 'leader') throw new BenchOptionError(`--acks must be quorum or leader, got ${JSON.stringify(o.acks)}`);
  if (o.server !== null && o.nodes > 1) throw new BenchOptionError('--nodes starts an embedded cluster and cannot be combined with --server');
  if (o.server === null && o.replicas > o.nodes) {
    throw new BenchOptionError(`--replicas ${o.replicas} needs at least as many nodes, but --nodes is ${o.nodes}`);
  }
  if (o.nodes > 1 && o.nodeProcess === 'inline') throw new BenchOptionError('--nodes above 1 runs every node in its own child process, so --node-process inline is refused');
  return o;
}

/** "64k", "1m", "1024", "1KiB" -> bytes. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(text);
  if (!m) throw new BenchOptionError(`not a byte size: ${JSON.stringify(text)} (try 1024, 64k, 1m)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : unit.startsWith('g') ? 1024 * 1024 * 1024 : 1;
  return Math.round(n * mult);
}
