/**
 * Resolved, validated options of one shard store (defaults from defaults.ts).
 */
import { RECORD_BYTES_LIMIT, RECORD_BYTES_MAX_DEFAULT, RECORD_HEADER_BYTES } from '../record/layout.js';
import {
  FSYNC_POLICY_DEFAULT,
  INDEX_CACHE_BYTES_MAX,
  INDEX_INTERVAL_BYTES_DEFAULT,
  MIN_FREE_BYTES_DEFAULT,
  PRODUCERS_MAX,
  SEGMENT_BYTES_LIMIT,
  SEGMENT_BYTES_MAX_DEFAULT,
  SEGMENT_MS_MAX_DEFAULT,
} from './defaults.js';
import { type FileLayer, nodeFileLayer } from './file-layer.js';
import type { FsyncPolicy, ShardStoreOptions } from './types.js';

export interface StoreConfig {
  dir: string;
  segmentBytesMax: number;
  segmentMsMax: number;
  indexIntervalBytes: number;
  retentionMs: number | null;
  retentionBytes: number | null;
  fsync: FsyncPolicy;
  minFreeBytes: number;
  recordBytesMax: number;
  now: () => number;
  layer: FileLayer;
  producersMax: number;
  indexCacheBytesMax: number;
  verifyAppendCrc: boolean;
  appendCrcThread: boolean;
  syncInBackground: boolean;
  /** First seq of a fresh store (ShardStoreOptions.baseSeq). */
  baseSeq: number;
}

/** Fills in defaults and rejects out-of-range options with a RangeError naming the option. */
export function resolveConfig(opts: ShardStoreOptions): StoreConfig {
  const cfg: StoreConfig = {
    dir: opts.dir,
    segmentBytesMax: opts.segmentBytesMax ?? SEGMENT_BYTES_MAX_DEFAULT,
    segmentMsMax: opts.segmentMsMax ?? SEGMENT_MS_MAX_DEFAULT,
    indexIntervalBytes: opts.indexIntervalBytes ?? INDEX_INTERVAL_BYTES_DEFAULT,
    retentionMs: opts.retentionMs ?? null,
    retentionBytes: opts.retentionBytes ?? null,
    fsync: opts.fsync ?? FSYNC_POLICY_DEFAULT,
    minFreeBytes: opts.minFreeBytes ?? MIN_FREE_BYTES_DEFAULT,
    recordBytesMax: opts.recordBytesMax ?? RECORD_BYTES_MAX_DEFAULT,
    now: opts.now ?? Date.now,
    layer: opts.fileLayer ?? nodeFileLayer,
    producersMax: opts.producersMax ?? PRODUCERS_MAX,
    indexCacheBytesMax: opts.indexCacheBytesMax ?? INDEX_CACHE_BYTES_MAX,
    verifyAppendCrc: opts.verifyAppendCrc ?? true,
    appendCrcThread: opts.appendCrcThread ?? false,
    syncInBackground: opts.syncInBackground ?? false,
    baseSeq: opts.baseSeq ?? 0,
  };
  const bad = (what: string): never => {
    throw new RangeError(`invalid storage option: ${what}`);
  };
  if (!(cfg.segmentBytesMax > 0 && cfg.segmentBytesMax <= SEGMENT_BYTES_LIMIT)) bad(`segmentBytesMax ${cfg.segmentBytesMax} must be in (0, ${SEGMENT_BYTES_LIMIT}]`);
  if (!(cfg.segmentMsMax > 0)) bad(`segmentMsMax ${cfg.segmentMsMax} must be > 0`);
  if (!(cfg.indexIntervalBytes > 0)) bad(`indexIntervalBytes ${cfg.indexIntervalBytes} must be > 0`);
  if (!(cfg.recordBytesMax >= RECORD_HEADER_BYTES && cfg.recordBytesMax <= RECORD_BYTES_LIMIT)) {
    bad(`recordBytesMax ${cfg.recordBytesMax} must be in [${RECORD_HEADER_BYTES}, ${RECORD_BYTES_LIMIT}]`);
  }
  if (!(Number.isSafeInteger(cfg.baseSeq) && cfg.baseSeq >= 0)) bad(`baseSeq ${cfg.baseSeq} must be a non-negative safe integer`);
  if (!(cfg.producersMax > 0)) bad(`producersMax ${cfg.producersMax} must be > 0`);
  if (!(cfg.indexCacheBytesMax >= 0)) bad(`indexCacheBytesMax ${cfg.indexCacheBytesMax} must be >= 0`);
  const f = cfg.fsync;
  if (f.mode === 'bytes' && !(f.bytes > 0)) bad(`fsync bytes ${f.bytes} must be > 0`);
  if (f.mode === 'interval' && !(f.ms >= 0)) bad(`fsync ms ${f.ms} must be >= 0`);
  return cfg;
}
