/**
 * The control surface of a shard worker, called by its ShardHandle over
 * comlink on a dedicated MessagePort. Plain values only: record bytes never
 * travel this way (they use the rings, see ./shard-protocol.ts).
 */
import type { ShardDescription } from '../storage/types.js';
import type { ShardStoreSettings } from './types.js';

/** Store options that can cross a thread boundary (no clock function, no file layer). */
export type WorkerStoreOptions = ShardStoreSettings;

/** What the worker receives as workerData. */
export interface ShardWorkerInit {
  inbound: SharedArrayBuffer;
  outbound: SharedArrayBuffer;
  /** Module URL exporting `ShardStore` with `static open(opts)`; the real engine unless a test injects a stand-in. */
  storeModuleUrl: string;
  /** Test seam, never set in production: the worker exits right after committing this many responses (without waking the handle). */
  testExitAfterResponses?: number;
}

/** The shard-folder lock's owner token (src/lock/owner-lock.ts), chosen by the handle. */
export interface ShardOwnerToken {
  token: string;
  /** Set when restarting after a worker died: its lock (same token) may be taken over. */
  takeOverToken?: string;
}

export interface ShardWorkerStats {
  /** Append requests served (each one store.append call). */
  appends: number;
  appendErrors: number;
  records: number;
  appendedBytes: number;
  reads: number;
  readBytes: number;
  /** Batches of requests taken from the ring in one go (group commit units). */
  batches: number;
  /** Largest number of requests in one batch. */
  batchRequestsMax: number;
  /** fsyncs the worker issued for group commit (fsync policy 'always'). */
  groupSyncs: number;
  /** Background fsyncs completed (fsync policies 'interval' and 'bytes': fsync off the worker thread). */
  backgroundSyncs: number;
}

export interface ShardWorkerControl {
  /** Takes <dir>/LOCK, opens (and recovers) the store; then the worker starts serving its inbound ring. */
  open(opts: WorkerStoreOptions, owner: ShardOwnerToken): ShardDescription;
  describe(): ShardDescription;
  stats(): ShardWorkerStats;
  setRetention(retentionMs: number | null, retentionBytes: number | null): void;
  /** Applies retention now; the number of segments deleted. */
  enforceRetention(): number;
  /** Seals the active segment and opens a new one. */
  roll(): void;
  /** Stops taking requests from the ring until resume() (maintenance and tests: lets requests queue up). */
  pause(): void;
  resume(): void;
  /** Stops serving, closes the store (sync, checkpoint, clean-shutdown marker), releases LOCK. */
  close(): Promise<void>;
  /** close(), then removes the shard folder. */
  destroy(): Promise<void>;
}
