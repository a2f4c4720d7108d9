/**
 * The client library's public shape (implemented in src/client/*, exported
 * from the package root). Modeled for people who know KafkaJS or nats.js:
 * short names, promises, async iteration.
 *
 *   const client = await connect('127.0.0.1:7070');
 *   await client.createStream('events', { shards: 4 });
 *   const producer = client.producer('events');
 *   const { shard, seq } = await producer.send({ value: 'hello' });
 *   for await (const r of client.consumer('events', { from: 'earliest' })) ...
 */

export type ErrorCodeName = string;

/** Every failure the client reports: a stable numeric code (docs/PROTOCOL.md) and its name. */
export class NativeLogError extends Error {
  constructor(readonly code: number, readonly codeName: ErrorCodeName, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'NativeLogError';
  }
}

export interface ConnectOptions {
  /** Per request; default 30000. */
  timeoutMs?: number;
  /** Reconnect backoff bounds. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Requests in flight on the connection before send() waits. */
  inFlightMax?: number;
}


export interface StreamOptions {
  namespace?: string;
}

export interface CreateStreamOptions extends StreamOptions {
  shards?: number;
  replicas?: number;
  retentionMs?: number | null;
  retentionBytes?: number | null;
  schema?: string | null;
}

export interface StreamInfo {
  namespace: string;
  name: string;
  shards: number;
  replicas: number;
  retentionMs: number | null;
  retentionBytes: number | null;
  schema: string | null;
  schemaVersion: number;
  createdAt: number;
  /** Which life of the name this is: a deleted and re-created stream has a new one (16 hex digits). */
  incarnation?: string;
}

/** createStream's answer: the stored settings, and the shards that failed to open (the stream exists; the others serve). */
export interface CreatedStream extends StreamInfo {
  failedShards: { shard: number; error: string }[];
}

/** One segment of a shard as the cluster's MetaStore places it. */
export interface SegmentInfo {
  baseSeq: number;
  /** The seq after its last record once sealed; null while it is the active segment. */
  endSeq: number | null;
  /** The sequencer epoch that opened it. */
  epoch: number;
  /** Ids of the nodes that store it (addresses: clusterStatus). */
  replicas: number[];
  sealed: boolean;
}

/**
 * One shard in describeStream. A failed shard (see `failed`) has null
 * figures. startSeq, bytes and segmentFiles describe the answering node's
 * copy; sequencer, epoch and segments the cluster's placement (null, 0 and []
 * on a single node).
 */
export interface ShardInfo {
  shard: number;
  startSeq: number | null;
  /** The next seq after the committed end (on a single node: the next to be assigned). */
  endSeq: number | null;
  bytes: number | null;
  /** Segment files of the answering node's copy. */
  segmentFiles: number | null;
  /** Why the shard does not serve (failed to open, or its worker could not be restarted); null while it serves. */
  failed: string | null;
  /** Node id of the shard's sequencer; null on a single node or before one is elected. */
  sequencer: number | null;
  /** The sequencer's epoch (0 before the first election and on a single node). */
  epoch: number;
  /** True while a sealed segment has fewer than the stream's replicas copies. */
  underReplicated: boolean;
  segments: SegmentInfo[];
}

export interface StreamDescription extends StreamInfo {
  shardInfo: ShardInfo[];
}

/**
 * When an append is answered: "quorum" (default) once a write quorum
 * (floor(R/2)+1) of the active segment's replicas stored it; "leader" once
 * the sequencer stored it; "none": not waited for at all (send() resolves
 * once the frame is written, with `unacknowledged: true` and seq -1). A
 * single node treats the three alike on its side.
 */
export type Acks = 'none' | 'leader' | 'quorum';

export const ACKS_VALUES: readonly Acks[] = ['none', 'leader', 'quorum'];

export interface ProducerOptions extends StreamOptions {
  /** Default "quorum". "none" turns idempotence off (no answers, so no batch can be known to need a resend; one lost batch would make the shard refuse every later one). */
  acks?: Acks;
  /** Largest batch per shard. Default 256 KiB; with lingerMs 0 a batch only grows while the shard's in-flight window is full. */
  maxBatchBytes?: number;
  /** Appends in flight per shard, 1..5 (the storage engine's dedupe window). Default 5. A shard's batches are stored in send order; retries after a node or worker restart resend them in order (see src/client/producer.ts). */
  maxInFlightPerShard?: number;
  /** Wait up to this long for more records before sending a batch. Default 0 (send at once, batching what queued meanwhile). */
  lingerMs?: number;
  /** Fixed shard for every record (else key hash, else round-robin). */
  shard?: number;
  /** Default true: retries never write twice (producer id + per-shard sequence). */
  idempotent?: boolean;
  /** A send not acked within this fails. Default 30000. */
  timeoutMs?: number;
}

export interface ProducerRecord {
  value: Uint8Array | string;
  key?: Uint8Array | string;
  headers?: Record<string, Uint8Array | string>;
  /** Epoch ms; default: the append time. */
  eventTime?: number;
  eventTimeMax?: number;
  /** Explicit shard for this record. */
  shard?: number;
  /** For Block payloads (src/block): codec, schema version, row count. */
  codec?: number;
  schemaVersion?: number;
  rowCount?: number;
}

export interface SendResult {
  shard: number;
  /** The record's seq; -1 with acks "none" (not known: the answer is not waited for). */
  seq: number;
  /** Set with acks "none": the record was written to the connection, not acknowledged. */
  unacknowledged?: true;
}

export interface ProducerApi {
  send(record: ProducerRecord): Promise<SendResult>;
  /** Sends everything queued now and waits for its acks. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export type StartPosition =
  | 'earliest'
  | 'latest'
  | { seq: number }
  | { appendTime: number }
  | { eventTime: number };

export interface ConsumerOptions extends StreamOptions {
  /** One shard, or all shards when omitted. */
  shard?: number;
  from?: StartPosition;
  /** Keep waiting for new records at the end (long-poll); else stop at the end as of the start. */
  follow?: boolean;
  /** Per fetch (one fetch in flight per shard, so this sets how much a round trip carries). Default 4 MiB. */
  maxBytes?: number;
  /** Long-poll wait per fetch when following. Default 500. */
  maxWaitMs?: number;
}

/** A consumed record. value/key are views over the received bytes: no copy. */
export interface ConsumedRecord {
  shard: number;
  seq: number;
  /** The sequencer epoch that stamped the record (record header offset 24). */
  epoch: number;
  appendTime: number;
  eventTime: number;
  eventTimeMax: number;
  key: Uint8Array;
  value: Uint8Array;
  headers: { name: string; value: Uint8Array }[];
  codec: number;
  schemaVersion: number;
  rowCount: number;
}

export interface ConsumerApi extends AsyncIterable<ConsumedRecord> {
  /** The same records one fetch answer at a time (use instead of iterating the consumer itself). */
  batches(): AsyncIterable<ConsumedRecord[]>;
  close(): Promise<void>;
}

/** The cluster's id and members after a membership change (as applied on the leader). */
export interface ClusterMembers {
  clusterId: string | null;
  members: { node: number; address: string }[];
}

/** The cluster as the answering node sees it (a node without --peers is a cluster of one). */
export interface ClusterStatus {
  nodeId: number;
  leader: number | null;
  term: number;
  role: string;
  commit: number;
  applied: number;
  voters: number[];
  /** dataDirId: the data dir the cluster bound the node id to (null: not yet; absent from a single node and older nodes). */
  nodes: { id: number; address: string; up: boolean; voter: boolean; lastContactMs: number | null; dataDirId?: string | null }[];
  /** The cluster id (null before bootstrap, and on a node that runs alone); absent from older nodes. */
  clusterId?: string | null;
  /** Whose view `nodes[].up` is: the leader's id (a voter is up while the leader hears from it), or null (the answering node's own links: no leader reachable). */
  livenessFrom?: number | null;
}

export interface ClientApi {
  createStream(name: string, opts?: CreateStreamOptions): Promise<CreatedStream>;
  deleteStream(name: string, opts?: StreamOptions): Promise<void>;
  listStreams(opts?: StreamOptions): Promise<StreamInfo[]>;
  describeStream(name: string, opts?: StreamOptions): Promise<StreamDescription>;
  /** Lowest seq in the shard whose append (or event) time is >= t. */
  seqForTime(name: string, shard: number, kind: 'append' | 'event', t: number, opts?: StreamOptions): Promise<number>;
  producer(name: string, opts?: ProducerOptions): ProducerApi;
  consumer(name: string, opts?: ConsumerOptions): ConsumerApi;
  /** The cluster as the node this client talks to sees it. */
  clusterStatus?(): Promise<ClusterStatus>;
  /** Asks the cluster to add `node` as a voter, reachable at `address` (what `start --join` sends). */
  clusterJoin?(node: number, address: string): Promise<ClusterMembers>;
  /** Removes voter `node` from the cluster. */
  clusterRemoveNode?(node: number): Promise<ClusterMembers>;
  close(): Promise<void>;
}
