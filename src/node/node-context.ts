/**
 * State shared by a node's connections and request handlers.
 */
import type { MetaStoreApi } from '../metastore/types.js';
import type { FsyncPolicy } from '../shard/types.js';
import type { NodeConfig } from './config.js';
import type { AnswerLease, MemoryBudget } from './memory-budget.js';
import type { NodeDeps } from './node-deps.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { ReplicationService } from '../replication/service.js';
import type { KeyedLock } from './keyed-lock.js';
import type { Router } from './router.js';

/**
 * What the replication path knows of a shard that the local store does not:
 * the committed end (the next seq after the last record a write quorum
 * stored) and whether a sealed segment has fewer than R copies. describeStream
 * uses it when present; null: the node has no view of that shard.
 */
export interface ReplicationShardView {
  endSeq: number;
  underReplicated: boolean;
}

/** The hook the replication path (issue 15) fills; absent on a node that does not replicate. */
export interface ReplicationHook {
  shardView(namespace: string, name: string, shard: number): ReplicationShardView | null;
}

export interface NodeContext {
  config: NodeConfig;
  fsync: FsyncPolicy;
  meta: MetaStoreApi;
  router: Router;
  /** Admin operations (create, delete) on one stream run one at a time, keyed by Router.key. */
  streamLocks: KeyedLock;
  /** This node's membership in a cluster (--peers); undefined for a node that runs alone. */
  cluster?: ClusterNode;
  /**
   * Record replication in a cluster (src/replication): appends through
   * sequencers, reads up to the commit point, and the shard view
   * describeStream shows (committed end, under-replication). Undefined on a
   * node alone: describeStream then shows the local shard's end and
   * `underReplicated: false`.
   */
  replication?: ReplicationService & ReplicationHook;
  deps: NodeDeps;
  /** Node-wide budget for bytes held for clients (clientMemoryBytesMax; memory-budget.ts). */
  memory: MemoryBudget;
  /** Set once close() starts: long-polls return, new requests get SHUTTING_DOWN. */
  closing: boolean;
}

/** A successful answer: control header plus optional raw record bytes. */
export interface Reply {
  header: unknown;
  body?: Uint8Array[];
  /** The budget reservation covering body, released once the connection holds the answer frame instead. */
  lease?: AnswerLease;
}
