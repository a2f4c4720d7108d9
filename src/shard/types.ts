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
import type { AppendResult, FenceResult, FsyncPolicy, ReadResult, ShardDescription, ShardStoreOptions, StampedAppendResult } from '../storage/types.js';

export type { AppendResult, FenceResult, ReadResult, ShardDescription, FsyncPolicy, StampedAppendResult };

export interface AppendOptions {
  /**
   * Answer with `stamped`: a copy (owned by the caller) of exactly the bytes
   * written, as stamped (seq, appendTime, epoch, serverCrc), for a
   * non-duplicate append: what a sequencer sends to its replicas. Such an
   * append may carry at most readBytesMax bytes (the copy comes back through
   * the response ring). Default false (no copy).
   */
  returnStamped?: boolean;
}

export type StampedAppend = AppendResult & { stamped?: Uint8Array };

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
  append(records: Uint8Array, opts?: AppendOptions): Promise<StampedAppend>;
  /**
   * A replica stores records its sequencer stamped, as they are (firstSeq:
   * the first record's seq; epoch: every record's). Rejects with ShardError
   * FENCED (epoch below the fence or the last record's), SEQ_GAP (firstSeq
   * past the end; error.details.endSeq says where to resend from), DIVERGED
   * (an overlap differs from what is stored), BAD_RECORD (nothing written).
   * An overlap equal to what is stored is skipped (`skipped`).
   */
  appendStamped(records: Uint8Array, firstSeq: number, epoch: number): Promise<StampedAppendResult>;
  /**
   * Whole records from fromSeq, at most maxBytes (at least one record if any
   * exists, even if larger); none with seq >= endSeqMax (the committed end):
   * fromSeq >= endSeqMax answers empty with nextSeq = fromSeq.
   */
  read(fromSeq: number, maxBytes: number, endSeqMax?: number): Promise<ReadResult>;
  /**
   * Raises the shard's fence epoch durably (after every append sent before
   * it is stored) and answers its end: appends of a lower epoch are FENCED from then on.
   */
  fence(epoch: number): Promise<FenceResult>;
  /** Removes every record with seq >= seq, durably (recovery cuts an unacked tail); resolves to the new endSeq. */
  truncateTo(seq: number): Promise<number>;
  /** Sequencer epoch stamped into records appended after it (kept for a restarted worker). */
  setEpoch(epoch: number): Promise<void>;
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
