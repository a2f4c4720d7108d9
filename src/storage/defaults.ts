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
 * Sealed segments whose index stays loaded in memory (least recently used
 * dropped). Index memory per shard is at most (1 + this) x segmentBytesMax /
 * indexIntervalBytes x 24 bytes (about 31 MB at the defaults, far less for
 * segments holding records larger than the interval).
 */
export const INDEX_CACHE_SEGMENTS_MAX = 4;
/** Read buffer of sequential scans (recovery, verification, lookups). */
export const SCAN_CHUNK_BYTES = 256 * 1024;
/** One read returns at most this many bytes (but always at least one whole record). */
export const READ_BYTES_MAX = 64 * 1024 * 1024;
