/**
 * The main thread's view of one local shard (contract between the node's
 * router and src/shard/shard-handle.ts). A ShardHandle owns the shard's worker
 * thread and its two SharedArrayBuffer rings; record bytes cross to and from
 * the worker only through those rings. Many calls may be in flight at once;
 * results come back in request order per handle.
 *
 * The main thread imports this file and src/shard/*, never src/storage/*
 * (except these plain types re-exported from src/storage/types.ts, which carry
 * no code).
 */
import type { AppendResult, FsyncPolicy, ReadResult, ShardDescription, ShardStoreOptions } from '../storage/types.js';

export type { AppendResult, ReadResult, ShardDescription, FsyncPolicy };

/**
 * Storage settings the worker passes to the storage engine: every
 * ShardStoreOptions field that is a plain value and so can cross to the
 * worker thread (not the clock, not the file layer).
 */
export type ShardStoreSettings = Omit<ShardStoreOptions, 'now' | 'fileLayer'>;

export interface ShardHandleOptions extends ShardStoreSettings {
  /** Bytes of each SharedArrayBuffer ring (inbound and outbound). */
  ringBytes?: number;
  /** Requests in flight per shard before append()/read() wait (backpressure). */
  inFlightMax?: number;
}

export interface ShardHandleApi {
  /** Append concatenated encoded records; resolves once they are written under the fsync policy. */
  append(records: Uint8Array): Promise<AppendResult>;
  /** Whole records from fromSeq, at most maxBytes (at least one record if any exists, even if larger). */
  read(fromSeq: number, maxBytes: number): Promise<ReadResult>;
  seqForAppendTime(t: number): Promise<number>;
  seqForEventTime(t: number): Promise<number>;
  describe(): Promise<ShardDescription>;
  setRetention(retentionMs: number | null, retentionBytes: number | null): Promise<void>;
  /** Fires after every successful append (for fetch long-poll). */
  onAppend(listener: (endSeq: number) => void): () => void;
  /** Flush, fsync, write the clean-shutdown marker, stop the worker. */
  close(): Promise<void>;
  /** Close and delete the shard's folder. */
  destroy(): Promise<void>;
  /**
   * Why the shard no longer serves (its worker could not be restarted, say),
   * or null while it does. Every call of a failed handle rejects.
   */
  readonly failedReason?: string | null;
}
