/**
 * The MetaStore contract (implemented in src/metastore/meta-store.ts).
 *
 * The MetaStore holds namespaces and streams as a replicated-state-machine
 * log of one: every change is a MetaCommand appended to a CRC-checked command
 * log (plus periodic snapshots) under <data-dir>/@meta/, then applied in order
 * by a deterministic state machine. A consensus layer will later replicate the
 * very same commands. ('@' cannot occur in a namespace name, so the folder
 * never collides with a namespace.)
 *
 * Namespaces exist implicitly: a namespace is listed while it holds a stream.
 * The MetaStore is the source of truth for which streams exist; at start the
 * node reconciles shard folders against it (creates missing ones, removes
 * folders of streams that are not in it), which is what makes create and
 * delete atomic across a crash.
 */

export interface StreamConfig {
  namespace: string;
  name: string;
  shards: number;
  replicas: number;
  /** null = keep forever */
  retentionMs: number | null;
  retentionBytes: number | null;
  /** Schema text as given to `stream create --schema` (normalized), or null. */
  schema: string | null;
  /** 0 without a schema; 1 for the first schema. */
  schemaVersion: number;
  /** Epoch ms. */
  createdAt: number;
  /**
   * Which life of this name the config is: 16 lowercase hex digits drawn at
   * create time (carried in the command, so every replica applies the same
   * value). The stream's folder is <namespace>/<name>/<incarnation>, so a
   * delete followed by a re-create of the same name can never meet the old
   * files. '' only for streams created before incarnations existed (folder
   * <namespace>/<name>, kept as it was).
   */
  incarnation: string;
}

/** A cluster member's id: a positive integer (`--node-id`). */
export type NodeId = number;

/**
 * One segment of a shard as the MetaStore knows it (DESIGN section 7): where
 * it starts, which sequencer epoch opened it, the R nodes that store it, and
 * once sealed the seq after its last record.
 */
export interface SegmentPlacement {
  readonly baseSeq: number;
  /** The seq after the segment's last record once sealed (exclusive end); null while it is the active segment. */
  readonly endSeq: number | null;
  /** The sequencer epoch that opened the segment. */
  readonly epoch: number;
  /** The nodes that store the segment (the stream's replica count of them, distinct). */
  readonly replicas: readonly NodeId[];
}

/**
 * Per shard: the sequencer (the node that assigns its seqs) and its epoch,
 * which only ever increases, and the shard's segments oldest first. Changed
 * only by conditional commands (compare-and-set on the epoch), so a deposed
 * sequencer's late update fails on every replica alike.
 */
export interface ShardPlacement {
  readonly namespace: string;
  readonly name: string;
  readonly incarnation: string;
  readonly shard: number;
  /** null until a sequencer is elected. */
  readonly sequencer: NodeId | null;
  /** 0 until the first election; each election sets it to the expected epoch + 1. */
  readonly epoch: number;
  readonly segments: readonly SegmentPlacement[];
}

/** Names one shard of one life of a stream (a command for an older life fails: UNKNOWN_STREAM). */
export interface ShardRef {
  namespace: string;
  name: string;
  incarnation: string;
  shard: number;
}

export type MetaCommand =
  | { op: 'createStream'; stream: StreamConfig }
  | { op: 'deleteStream'; namespace: string; name: string }
  | { op: 'setRetention'; namespace: string; name: string; retentionMs: number | null; retentionBytes: number | null }
  /** Makes `node` the shard's sequencer with epoch expectEpoch + 1, if the epoch is still expectEpoch. */
  | ({ op: 'electSequencer'; node: NodeId; expectEpoch: number } & ShardRef)
  /** Opens the next segment at baseSeq on `replicas`, if `epoch` is the shard's epoch and the previous segment is sealed at baseSeq. */
  | ({ op: 'openSegment'; epoch: number; baseSeq: number; replicas: NodeId[] } & ShardRef)
  /** Seals the active segment (the one at baseSeq) at endSeq, if `epoch` is the shard's epoch. */
  | ({ op: 'sealSegment'; epoch: number; baseSeq: number; endSeq: number } & ShardRef);

/**
 * Cluster membership commands (issue 14), only ever in the Raft log of a
 * cluster (never in a single node's command log); kept apart from
 * MetaCommand, whose commands all name a stream.
 */
export type ClusterCommand =
  /** Records a cluster member and the address other members dial it at; fails if the node is a member with another address (same address: no change). */
  | { op: 'addMember'; node: NodeId; address: string }
  /** Forgets a member and its data dir binding (its links are dropped and its hellos refused); fails if it is neither a member nor bound. */
  | { op: 'removeMember'; node: NodeId }
  /** Sets the cluster id, once (drawn at random by the first leader); fails if one is set. */
  | { op: 'initCluster'; clusterId: string }
  /**
   * Binds a node id to the data dir it runs on (the random dataDirId in its
   * node.json); fails with CONFLICT if the node is bound to another one (its
   * data dir was replaced: a wiped node re-using its id). removeMember unbinds.
   */
  | { op: 'bindDataDir'; node: NodeId; dataDirId: string };

/** Any command the state machine applies. */
export type AnyCommand = MetaCommand | ClusterCommand;

export type MetaErrorCode = 'INVALID_NAME' | 'INVALID_ARGUMENT' | 'STREAM_EXISTS' | 'UNKNOWN_STREAM' | 'UNKNOWN_SHARD' | 'STALE_EPOCH' | 'CONFLICT' | 'META_CORRUPT';

export class MetaError extends Error {
  constructor(readonly code: MetaErrorCode, message: string) {
    super(message);
    this.name = 'MetaError';
  }
}

export interface CreateStreamInput {
  namespace?: string; // default 'default'
  name: string;
  shards?: number; // default 1, bounded by SHARDS_PER_STREAM_MAX
  replicas?: number; // default 1
  retentionMs?: number | null;
  retentionBytes?: number | null;
  schema?: string | null;
}

export interface MetaStoreApi {
  /** Validates, appends the command durably (fsync), applies it; returns the stored config. */
  createStream(input: CreateStreamInput): Promise<StreamConfig>;
  deleteStream(namespace: string, name: string): Promise<void>;
  setRetention(namespace: string, name: string, retentionMs: number | null, retentionBytes: number | null): Promise<StreamConfig>;
  getStream(namespace: string, name: string): StreamConfig | undefined;
  /** All streams, or those of one namespace, sorted by namespace then name. */
  listStreams(namespace?: string): StreamConfig[];
  close(): Promise<void>;
}
