/**
 * Named defaults and hard bounds of the storage engine. docs/FORMAT.md
 * explains the fsync default and its loss window.
 */
import type { FsyncPolicy } from './types.js';

/** Roll the active segment once it holds this many bytes (Kafka's log.segment.bytes). */
export const SEGMENT_BYTES_MAX_DEFAULT = 1024 * 1024 * 1024;
/** Hard bound: index positions are u32, and a batch is written whole into one segment. */
export const SEGMENT_BYTES_LIMIT = 2 * 1024 * 1024 * 1024;
/** Roll the active segment once its first record is this old (Kafka's log.roll.hours = 168). */
export const SEGMENT_MS_MAX_DEFAULT = 7 * 24 * 60 * 60 * 1000;
/** One sparse index entry per this many bytes of log (Kafka's log.index.interval.bytes). */
export const INDEX_INTERVAL_BYTES_DEFAULT = 4096;
/**
 * Default fsync policy: fsync when the oldest unsynced byte is 1 s old
 * (checked on every append and every tick()). Loss window: a process crash
 * (kill -9) loses nothing that append() returned, because write() has put the
 * bytes in the kernel's page cache; an OS crash or power loss loses at most
 * the appends of the last fsyncIntervalMs plus one tick period.
 */
export const FSYNC_INTERVAL_MS_DEFAULT = 1000;
export const FSYNC_POLICY_DEFAULT: FsyncPolicy = { mode: 'interval', ms: FSYNC_INTERVAL_MS_DEFAULT };
/**
 * Background fsync (ShardStoreOptions.syncInBackground, what shard workers
 * use with 'interval' and 'bytes'): a background fsync starts once this many
 * bytes are unsynced, even before the policy asks, so the fsyncs a roll or a
 * checkpoint still make inline never have more than this to write.
 */
export const BACKGROUND_SYNC_BYTES = 16 * 1024 * 1024;
/**
 * With background fsync, an append fsyncs inline (and so waits: backpressure)
 * once the unsynced data exceeds the policy's bound times this factor, i.e.
 * when background fsyncs cannot keep up with the appends.
 */
export const BACKGROUND_SYNC_LAG_FACTOR = 2;
/**
 * After an fsync failure stopped a shard (never retried: docs/FORMAT.md
 * section 8), ShardStore.reopen() tries this many times to cut the files back
 * to what is durable and recover, waiting attempt x REOPEN_BACKOFF_MS
 * between attempts; then the shard reports itself failed.
 */
export const REOPEN_ATTEMPTS_MAX = 5;
export const REOPEN_BACKOFF_MS = 200;
/** Appends fail with DISK_FULL once the file system has less free space than this. */
export const MIN_FREE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Free space is re-measured (statfs) after this many bytes written, or this long, whichever first. */
export const FREE_CHECK_BYTES = 16 * 1024 * 1024;
export const FREE_CHECK_MS = 1000;
/** The recovery checkpoint is rewritten by tick() at most this often (and on roll, retention, close). */
export const CHECKPOINT_INTERVAL_MS = 5000;
/** Idempotent producers whose recent batches are remembered per shard (least recently used evicted). */
export const PRODUCERS_MAX = 10_000;
/** Recent batches remembered per producer (retries of these are answered as duplicates). */
export const PRODUCER_BATCHES_MAX = 5;
/** Sealed segments kept open for reading per shard (least recently used closed): file descriptors per shard <= this + 2. */
export const OPEN_SEGMENTS_MAX = 8;
/**
 * Memory for the loaded indexes of sealed segments per shard (least recently
 * used dropped; the one in use is kept even when alone it is larger). A
 * loaded index takes 24 bytes per entry: a 1 GiB segment at the default
 * 4 KiB interval about 6 MiB, so about 5 such segments fit; the active
 * segment's index comes on top. Sized so a random seek workload over a few
 * GB of log does not reload an index per seek (storage-bench seeks on 7
 * segments of 64 MiB: p99 3.5-5 ms with room for 4 indexes, see
 * docs/FORMAT.md section 10).
 */
export const INDEX_CACHE_BYTES_MAX = 32 * 1024 * 1024;
/** Read buffer of sequential scans (recovery, verification, lookups). */
export const SCAN_CHUNK_BYTES = 256 * 1024;
/** One read returns at most this many bytes (but always at least one whole record). */
export const READ_BYTES_MAX = 64 * 1024 * 1024;
