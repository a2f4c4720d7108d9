/**
 * The storage engine's contract: what a shard worker calls. One ShardStore is
 * owned by exactly one thread (the shard's worker); it is synchronous, and
 * never shared.
 *
 * Record bytes handed to append() are concatenated encoded records
 * (src/record/layout.ts). append() validates every record (length bounds,
 * CRC) before writing any of them, patches seq/appendTime/epoch in place in
 * the caller's bytes, and writes them. Reads return whole records only, never
 * past the last fully written record, never re-encoded.
 */

/** When data is fsync'd. The default is documented in docs/FORMAT.md with its loss window. */
export type FsyncPolicy =
  | { mode: 'always' } // fsync after every append (group commit: one fsync per append call)
  | { mode: 'bytes'; bytes: number } // fsync once this many bytes are unsynced
  | { mode: 'interval'; ms: number } // fsync when the oldest unsynced byte is this old (checked on append and by tick())
  | { mode: 'roll' }; // fsync only when a segment is sealed and on close

export interface ShardStoreOptions {
  /** The shard folder: <data-dir>/<namespace>/<stream>/<shard>/ */
  dir: string;
  segmentBytesMax?: number;
  segmentMsMax?: number;
  indexIntervalBytes?: number;
  /** null = keep forever */
  retentionMs?: number | null;
  retentionBytes?: number | null;
  fsync?: FsyncPolicy;
  /** Appends fail with DISK_FULL when the file system has less free space than this. */
  minFreeBytes?: number;
  recordBytesMax?: number;
  /** Sequencer epoch stamped into appended records. */
  epoch?: number;
  /**
   * First seq of a fresh store (an empty folder): its first segment's base,
   * startSeq == endSeq == baseSeq (a node joining a replica set at a later
   * segment). A folder that holds a shard already ignores it. Default 0.
   */
  baseSeq?: number;
  /** Clock (epoch ms); injectable for tests. Append time is clamped so it never goes backwards within a shard. */
  now?: () => number;
  /** All file I/O goes through this (default: the real file system); tests inject faults or count bytes. */
  fileLayer?: import('./file-layer.js').FileLayer;
  /** Idempotent producers remembered per shard (least recently used evicted). */
  producersMax?: number;
  /** Memory for loaded sealed-segment indexes, least recently used dropped (default INDEX_CACHE_BYTES_MAX, 32 MiB). */
  indexCacheBytesMax?: number;
  /**
   * Verify each record's CRC in append() (default true). Set false only when
   * the caller has verified the CRCs already (e.g. in another thread): the
   * CRC costs about as much CPU as the write itself (docs/FORMAT.md). Lengths
   * are always checked, and reads always verify CRCs.
   */
  verifyAppendCrc?: boolean;
  /**
   * Check the record CRCs of batches of at least 256 KiB that live in a
   * SharedArrayBuffer on one helper thread, in parallel with the write
   * (src/storage/parallel-crc.ts). At most one helper thread per store,
   * started by the first such batch; the append still returns, and its
   * records become readable, only after every CRC passed. Default false:
   * every CRC is checked on the caller's thread before the write. It pays
   * only with an idle core: on a busy host it costs about 40% more CPU per
   * MB and is slower (docs/FORMAT.md section 10).
   */
  appendCrcThread?: boolean;
  /**
   * With fsync 'interval' or 'bytes': fsync off the calling thread. append()
   * and tick() do not fsync when the policy asks; the owner calls
   * startBackgroundSync() (after each batch and on each tick), which starts an
   * fsync on another thread (FileLayer.fsyncAsync) once the oldest unsynced
   * append is half the interval old, N bytes (bytes policy) or
   * BACKGROUND_SYNC_BYTES are unsynced. Appends keep being served meanwhile.
   * If the unsynced data grows past BACKGROUND_SYNC_LAG_FACTOR times the
   * policy's bound, append() fsyncs inline again (backpressure). A failed
   * background fsync stops the store like any failed fsync (stopped,
   * reopen()). Rolls run their fsyncs in the background too (seal-job.ts);
   * checkpoints and close fsync inline (at most BACKGROUND_SYNC_BYTES to
   * write). Default false.
   */
  syncInBackground?: boolean;
}

/** What readInto() put in the caller's buffer. */
export interface ReadIntoResult {
  /** Bytes of whole records written at target[0, byteLength). */
  byteLength: number;
  count: number;
  firstSeq: number;
  nextSeq: number;
  /** When count is 0 because the first record does not fit: its size (use read() or a bigger buffer). Else 0. */
  firstRecordBytes: number;
}

/** What open() found and did (for logs and tests). */
export interface RecoveryReport {
  /** A clean-shutdown marker was present. */
  clean: boolean;
  /** A valid checkpoint was used (otherwise every segment was scanned). */
  checkpointUsed: boolean;
  /** Bytes of segment data validated by the recovery scan. */
  scannedBytes: number;
  /** Bytes cut off a torn tail of the active (last) segment; sealed data is never cut. */
  truncatedBytes: number;
  /** Bytes of damaged sealed data found by the scan: kept, reported in problems, never served. */
  damagedBytes: number;
  /** One sentence per problem met (torn tail, bad checkpoint, rebuilt index, ...). */
  problems: string[];
}

export interface AppendResult {
  firstSeq: number;
  lastSeq: number;
  count: number;
  appendTime: number;
  /** True when the batch was an idempotent producer's retry of a batch already appended (nothing written). */
  duplicate: boolean;
}

/** What appendStamped() did with a batch of pre-stamped records. */
export interface StampedAppendResult {
  /** Seq of the batch's first record (the caller's firstSeq). */
  firstSeq: number;
  lastSeq: number;
  /** Records in the batch. */
  count: number;
  /** Leading records already stored (equal, or below startSeq): not written again. */
  skipped: number;
  /** Append time of the batch's last record (the sequencer's clock). */
  appendTime: number;
}

/** A shard's position for recovery of a replicated shard (fence()). */
export interface FenceResult {
  /** Next seq to be written. */
  endSeq: number;
  /** Epoch of the last stored record (0 when there is none). */
  lastEpoch: number;
  /** The fence epoch now in force: appends from a lower epoch are FENCED. */
  fenceEpoch: number;
}

export interface ReadResult {
  /** Whole records, as stored (server fields patched). May be empty at the end of the shard. */
  bytes: Uint8Array;
  count: number;
  /** Sequence number of the first record in bytes (== fromSeq when count > 0). */
  firstSeq: number;
  /** Where the next read should start. */
  nextSeq: number;
}

export interface ShardDescription {
  /** Lowest readable sequence number (advances with retention). */
  startSeq: number;
  /** Next sequence number to be assigned. */
  endSeq: number;
  bytes: number;
  segments: number;
}

/** Stable storage error codes; the protocol maps them to wire error codes. */
export type StorageErrorCode =
  | 'OUT_OF_RANGE' // read below startSeq or above endSeq; message names the valid range
  | 'BAD_RECORD' // a record in an append fails validation (bad CRC, bad lengths); nothing of the batch is written
  | 'RECORD_TOO_LARGE'
  | 'DISK_FULL' // ENOSPC, or free space below minFreeBytes
  | 'IO_ERROR' // EIO and other write/read failures (never an fsync's: that is SHARD_STOPPED); the shard accepts appends again once the fault clears
  | 'OUT_OF_ORDER_SEQUENCE' // idempotent producer's batch does not start at its last producerSeq + 1 and is not a retry of a cached batch
  | 'CORRUPT' // damaged sealed data met on read (never served)
  | 'FENCED' // appendStamped of an epoch below the shard's fence or its last record's epoch; an append by a store epoch below either
  | 'SEQ_GAP' // appendStamped whose first seq is past the shard's end (records are missing in between); message names endSeq
  | 'DIVERGED' // appendStamped overlapping stored records that differ from it
  | 'SHARD_STOPPED' // an fsync failed: the store serves nothing more and must be reopened from what is durable (ShardStore.reopen); an append answered with it was not acked
  | 'CLOSED';

/** Machine-readable facts an error carries besides its sentence (SEQ_GAP: the shard's endSeq, where a resend must start). */
export interface StorageErrorDetails {
  endSeq?: number;
}

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    readonly details?: StorageErrorDetails,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/** The synchronous in-thread API implemented by src/storage/shard-store.ts. */
export interface ShardStoreApi {
  /** Append concatenated records bytes[start, end). */
  append(bytes: Uint8Array, start?: number, end?: number): AppendResult;
  /**
   * Whole records from fromSeq, at most maxBytes, but at least one record if
   * any exists (Kafka's rule, so a large record never stalls a reader).
   * endSeqMax: no record with seq >= endSeqMax is returned (the committed
   * end of a replicated shard); fromSeq >= endSeqMax answers an empty
   * result with nextSeq = fromSeq.
   */
  read(fromSeq: number, maxBytes: number, endSeqMax?: number): ReadResult;
  /** Like read, but fills target[0, ...) (at most maxBytes) with whole records, with no intermediate copy. */
  readInto(fromSeq: number, target: Uint8Array, maxBytes: number, endSeqMax?: number): ReadIntoResult;
  /**
   * Appends records another store stamped (seq, appendTime, epoch,
   * serverCrc already set), byte for byte: a replica of a replicated shard.
   * See ShardStore.appendStamped for the rules.
   */
  appendStamped?(bytes: Uint8Array, start: number, end: number, firstSeq: number, epoch: number): StampedAppendResult;
  /** Raises the fence epoch (durably) and answers the shard's end; see ShardStore.fence. */
  fence?(epoch: number): FenceResult;
  /** Removes every record with seq >= seq, durably; see ShardStore.truncateTo. */
  truncateTo?(seq: number): void;
  /** Sequencer epoch stamped into records appended from now on. */
  setEpoch?(epoch: number): void;
  /** Records of the last append() call that were already stored (a torn batch's prefix completed: ProducerCheck 'extend'); 0 otherwise. */
  readonly lastAppendSkipped?: number;
  /** Lowest seq whose append time is >= t (endSeq when none). */
  seqForAppendTime(t: number): number;
  /** Lowest seq whose event time (max) is >= t (endSeq when none). */
  seqForEventTime(t: number): number;
  describe(): ShardDescription;
  /** Apply retention now; returns the number of segments deleted. */
  enforceRetention(): number;
  setRetention(retentionMs: number | null, retentionBytes: number | null): void;
  /** Time-based duties: age roll, interval fsync, retention. Called periodically by the owner. */
  tick(): void;
  /** fsync everything written so far. */
  sync(): void;
  /** Starts a background fsync when one is due (syncInBackground only); resolves once it settled (never rejects). Null when none was started. */
  startBackgroundSync?(): Promise<void> | null;
  /** Resolves once no background fsync or background roll is running (the owner awaits it before close()). */
  backgroundIdle?(): Promise<void>;
  /** Seal the active segment and open a new one. */
  roll(): void;
  /** sync, write the recovery checkpoint and the clean-shutdown marker, close files (a stopped store only closes its files). */
  close(): void;
  /**
   * Non-null once an fsync failed: the store is stopped for good (every call
   * throws this SHARD_STOPPED error; nothing more is written, fsync'd or
   * read) and must be replaced by reopen().
   */
  readonly stopped?: StorageError | null;
  /**
   * For a stopped store: cuts the files back to what the last successful
   * fsyncs covered and opens the shard again through recovery (bounded
   * attempts); rejects with a clear reason when it cannot.
   */
  reopen?(): Promise<ShardStoreApi>;
}
