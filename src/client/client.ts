/**
 * connect(servers) and the Client: admin calls, producers and consumers over
 * pipelined connections. `servers` is one "host:port", a comma-separated list
 * of them, or an array: the client uses the first that answers hello and
 * keeps the rest for reconnects (the primary connection). In a cluster,
 * producers and consumers also open connections to the nodes a shard's
 * requests must reach (its sequencer, its replicas), pooled and bounded
 * (connection-pool.ts).
 */
import { OP, type WireSegmentInfo, type WireStreamInfo } from '../protocol/ops.js';
import { ClientConnection } from './connection.js';
import { ConnectionPool } from './connection-pool.js';
import { clientError } from './errors.js';
import { Consumer } from './consumer.js';
import { Producer } from './producer.js';
import { parseServers } from './server-address.js';
import type {
  ClientApi,
  ConnectOptions,
  ClusterMembers,
  ClusterStatus,
  ConsumerOptions,
  CreatedStream,
  CreateStreamOptions,
  ProducerOptions,
  SegmentInfo,
  ShardInfo,
  StreamDescription,
  StreamInfo,
  StreamOptions,
} from './types.js';

export const DEFAULT_NAMESPACE = 'default';

const CONNECT_DEFAULTS = { timeoutMs: 30_000, reconnectMinMs: 50, reconnectMaxMs: 2_000, inFlightMax: 256 };

/** Connects to the first server of the list that answers (hello), ready for calls. */
export async function connect(servers: string | string[], opts: ConnectOptions = {}): Promise<Client> {
  const connOpts = { ...CONNECT_DEFAULTS, ...definedOnly(opts) };
  const conn = new ClientConnection(parseServers(servers), connOpts);
  await conn.open();
  return new Client(conn, new ConnectionPool(conn, connOpts));
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class Client implements ClientApi {
  /** The primary connection is `connection`; the pool also holds the connections to other nodes. */
  readonly pool: ConnectionPool;

  constructor(
    /** The primary connection: admin calls, and every request that has no better node to go to. */
    readonly connection: ClientConnection,
    pool?: ConnectionPool,
  ) {
    this.pool = pool ?? new ConnectionPool(connection, connection.opts);
  }

  async createStream(name: string, opts: CreateStreamOptions = {}): Promise<CreatedStream> {
    const r = await this.connection.request(OP.CREATE_STREAM, { ...definedOnly(opts), namespace: ns(opts), name });
    const failed = r.header['failedShards'];
    const failedShards = Array.isArray(failed) ? failed.map((f: { shard: number; error: string }) => ({ shard: Number(f.shard), error: String(f.error) })) : [];
    return { ...streamInfo(r.header['stream']), failedShards };
  }

  async deleteStream(name: string, opts: StreamOptions = {}): Promise<void> {
    await this.connection.request(OP.DELETE_STREAM, { namespace: ns(opts), name });
  }

  async listStreams(opts: StreamOptions = {}): Promise<StreamInfo[]> {
    const r = await this.connection.request(OP.LIST_STREAMS, { namespace: opts.namespace ?? null }, { retry: true });
    const streams = r.header['streams'];
    if (!Array.isArray(streams)) throw clientError('BAD_RESPONSE', 'listStreams: no streams array in the answer.');
    return streams.map(streamInfo);
  }

  /** timeoutMs: how long to keep retrying (default: the connection's timeoutMs). */
  async describeStream(name: string, opts: StreamOptions = {}, timeoutMs?: number): Promise<StreamDescription> {
    const r = await this.connection.request(OP.DESCRIBE_STREAM, { namespace: ns(opts), name }, { retry: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    const shards = r.header['shards'];
    if (!Array.isArray(shards)) throw clientError('BAD_RESPONSE', 'describeStream: no shards array in the answer.');
    return { ...streamInfo(r.header['stream']), shardInfo: shards.map(shardInfo) };
  }

  async seqForTime(name: string, shard: number, kind: 'append' | 'event', t: number, opts: StreamOptions = {}): Promise<number> {
    const r = await this.connection.request(OP.SEQ_FOR_TIME, { namespace: ns(opts), name, shard, kind, time: t }, { retry: true });
    const seq = r.header['seq'];
    if (typeof seq !== 'number') throw clientError('BAD_RESPONSE', 'seqForTime: no seq in the answer.');
    return seq;
  }

  async clusterStatus(timeoutMs?: number): Promise<ClusterStatus> {
    const r = await this.connection.request(OP.CLUSTER_STATUS, {}, { retry: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    if (!Array.isArray(r.header['nodes'])) throw clientError('BAD_RESPONSE', 'clusterStatus: no nodes array in the answer.');
    return r.header as unknown as ClusterStatus;
  }

  /** Not retried: a lost answer may hide a change that took effect (the CLI says so). */
  async clusterJoin(node: number, address: string): Promise<ClusterMembers> {
    const r = await this.connection.request(OP.CLUSTER_JOIN, { node, address });
    return membersAnswer(r.header, 'clusterJoin');
  }

  async clusterRemoveNode(node: number): Promise<ClusterMembers> {
    const r = await this.connection.request(OP.CLUSTER_REMOVE_NODE, { node });
    return membersAnswer(r.header, 'clusterRemoveNode');
  }

  producer(name: string, opts: ProducerOptions = {}): Producer {
    return new Producer(this, name, opts);
  }

  consumer(name: string, opts: ConsumerOptions = {}): Consumer {
    return new Consumer(this, name, opts);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/**
 * A describeStream shard line. Nodes from before replication send the local
 * segment file count as `segments` and no placement: read as segmentFiles,
 * no sequencer, epoch 0, no placed segments.
 */
function shardInfo(raw: Record<string, unknown>): ShardInfo {
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const oldCount = typeof raw['segments'] === 'number' ? raw['segments'] : null;
  const segments = Array.isArray(raw['segments']) ? (raw['segments'] as WireSegmentInfo[]).map(segmentInfo) : [];
  return {
    shard: Number(raw['shard']),
    startSeq: num(raw['startSeq']),
    endSeq: num(raw['endSeq']),
    bytes: num(raw['bytes']),
    segmentFiles: num(raw['segmentFiles']) ?? oldCount,
    failed: typeof raw['failed'] === 'string' ? raw['failed'] : null,
    sequencer: num(raw['sequencer']),
    epoch: num(raw['epoch']) ?? 0,
    underReplicated: raw['underReplicated'] === true,
    segments,
  };
}

function segmentInfo(s: WireSegmentInfo): SegmentInfo {
  if (typeof s !== 'object' || s === null || typeof s.baseSeq !== 'number' || !Array.isArray(s.replicas)) throw clientError('BAD_RESPONSE', 'describeStream: a segment without baseSeq and replicas.');
  const endSeq = typeof s.endSeq === 'number' ? s.endSeq : null;
  return { baseSeq: s.baseSeq, endSeq, epoch: typeof s.epoch === 'number' ? s.epoch : 0, replicas: s.replicas.map(Number), sealed: s.sealed === true || endSeq !== null };
}

export function ns(opts: StreamOptions): string {
  return opts.namespace ?? DEFAULT_NAMESPACE;
}

function streamInfo(raw: unknown): StreamInfo {
  if (typeof raw !== 'object' || raw === null) throw clientError('BAD_RESPONSE', 'The answer has no stream.');
  const s = raw as WireStreamInfo;
  return {
    namespace: s.namespace,
    name: s.name,
    shards: s.shards,
    replicas: s.replicas,
    retentionMs: s.retentionMs ?? null,
    retentionBytes: s.retentionBytes ?? null,
    schema: s.schema ?? null,
    schemaVersion: s.schemaVersion,
    createdAt: s.createdAt,
    ...(typeof s.incarnation === 'string' ? { incarnation: s.incarnation } : {}),
  };
}

function membersAnswer(h: Record<string, unknown>, what: string): ClusterMembers {
  const members = h['members'];
  const clusterId = h['clusterId'];
  if (!Array.isArray(members) || !(clusterId === null || typeof clusterId === 'string')) throw clientError('BAD_RESPONSE', `${what}: no clusterId and members in the answer.`);
  for (const m of members) {
    if (typeof m !== 'object' || m === null || typeof m.node !== 'number' || typeof m.address !== 'string') throw clientError('BAD_RESPONSE', `${what}: a member without node and address.`);
  }
  return { clusterId, members };
}
