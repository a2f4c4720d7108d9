/**
 * Op codes and the control header of every request and response (version 1).
 * Shapes here are what goes through msgpack; docs/PROTOCOL.md is the prose.
 */
import type { WireError } from './errors.js';

export const OP = {
  HELLO: 1,
  CREATE_STREAM: 2,
  DELETE_STREAM: 3,
  LIST_STREAMS: 4,
  DESCRIBE_STREAM: 5,
  APPEND: 6,
  FETCH: 7,
  SEQ_FOR_TIME: 8,
  /** The cluster as this node sees it (leader, term, nodes); a node without --peers is a cluster of one. */
  CLUSTER_STATUS: 9,
  /**
   * Adds a node as a voter ({node, address}: the address members dial it at);
   * any member takes it and forwards it to the leader. Answers once the new
   * config entry is applied on the leader: {clusterId, members: [{node, address}]}.
   * Sent by a node started with --join.
   */
  CLUSTER_JOIN: 10,
  /** Removes a voter ({node}); any member takes it. Answers {clusterId, members} once applied on the leader. */
  CLUSTER_REMOVE_NODE: 11,
} as const;

/**
 * Ops of peer links between nodes (docs/CLUSTER.md, "Peer links"); 40-47 are
 * kept for them. Apart from OP, which lists the client request ops: a client
 * connection that sends one gets UNKNOWN_OP.
 */
export const PEER_OP = {
  /** One message from the dialer to the acceptor; never answered. */
  MESSAGE: 40,
} as const;

export type OpName = keyof typeof OP;
export type OpCode = (typeof OP)[OpName];

const OP_NAMES = new Map<number, OpName>(Object.entries(OP).map(([k, v]) => [v, k as OpName]));

export function opName(op: number): OpName | undefined {
  return OP_NAMES.get(op);
}

export interface HelloRequest {
  /** Protocol versions the client speaks. */
  versions: number[];
  client?: string;
}

export interface HelloResponse {
  version: number;
  server: string;
  nodeId: number;
  limits: {
    frameBytesMax: number;
    headerBytesMax: number;
    inFlightPerConnectionMax: number;
    recordBytesMax: number;
    fetchWaitMsMax: number;
  };
}

export interface StreamRef {
  namespace: string;
  name: string;
}

export interface CreateStreamRequest extends StreamRef {
  shards?: number;
  replicas?: number;
  retentionMs?: number | null;
  retentionBytes?: number | null;
  schema?: string | null;
}

export interface WireStreamInfo {
  namespace: string;
  name: string;
  shards: number;
  replicas: number;
  retentionMs: number | null;
  retentionBytes: number | null;
  schema: string | null;
  schemaVersion: number;
  createdAt: number;
  /** Which life of the name this is (16 hex digits; '' for streams created before incarnations existed). */
  incarnation?: string;
}

/** One segment of a shard as the MetaStore places it (describeStream). */
export interface WireSegmentInfo {
  baseSeq: number;
  /** The seq after its last record once sealed; null while it is the active segment. */
  endSeq: number | null;
  /** The sequencer epoch that opened it. */
  epoch: number;
  /** Node ids of the nodes that store it. */
  replicas: number[];
  sealed: boolean;
}

/**
 * One shard in describeStream. A failed shard has null figures and its
 * reason in `failed`. startSeq, bytes and segmentFiles are the answering
 * node's local copy; sequencer, epoch and segments come from the MetaStore's
 * placement (null sequencer, epoch 0 and no segments on a single node and
 * before a first sequencer is elected); endSeq is the committed end when the
 * node replicates the shard, else the local end.
 */
export interface WireShardInfo {
  shard: number;
  startSeq: number | null;
  endSeq: number | null;
  bytes: number | null;
  /** Segment files of the local copy (called `segments` before replication). */
  segmentFiles: number | null;
  /** Why the shard does not serve (it failed to open, or its worker could not be restarted); null while it serves. */
  failed: string | null;
  /** Node id of the shard's sequencer; null until one is elected. */
  sequencer: number | null;
  epoch: number;
  /** True while a sealed segment has fewer than R copies (being re-replicated). */
  underReplicated: boolean;
  segments: WireSegmentInfo[];
}

export interface CreateStreamResponse {
  stream: WireStreamInfo;
  /** Shards that failed to open (the stream exists; its other shards serve). */
  failedShards: { shard: number; error: string }[];
}

export type DeleteStreamRequest = StreamRef;

export interface ListStreamsRequest {
  namespace?: string | null;
}

export interface ListStreamsResponse {
  streams: WireStreamInfo[];
}

export type DescribeStreamRequest = StreamRef;

export interface DescribeStreamResponse {
  stream: WireStreamInfo;
  shards: WireShardInfo[];
}

/** One shard's run of records inside an append frame's body. */
export interface AppendPart {
  shard: number;
  /** Bytes of this part in the body; parts follow each other in order. */
  bytes: number;
}

export interface AppendRequest extends StreamRef {
  parts: AppendPart[];
}

export interface AppendPartOk {
  shard: number;
  firstSeq: number;
  lastSeq: number;
  count: number;
  appendTime: number;
  duplicate: boolean;
}

export interface AppendPartFailed {
  shard: number;
  error: WireError;
}

export type AppendPartResult = AppendPartOk | AppendPartFailed;

export interface AppendResponse {
  /** One result per request part, in the same order. */
  results: AppendPartResult[];
}

export interface FetchRequest extends StreamRef {
  shard: number;
  fromSeq: number;
  maxBytes: number;
  /** 0 = answer at once; else wait up to this (capped by fetchWaitMsMax) for a record at fromSeq. */
  maxWaitMs: number;
}

export interface FetchResponse {
  shard: number;
  firstSeq: number;
  nextSeq: number;
  count: number;
}

export interface SeqForTimeRequest extends StreamRef {
  shard: number;
  kind: 'append' | 'event';
  time: number;
}

export interface SeqForTimeResponse {
  seq: number;
}
