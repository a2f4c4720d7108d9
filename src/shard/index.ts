export * from './types.js';
export { ShardHandle, type ShardHandleInternals, type ShardHandleStats } from './shard-handle.js';
export { ShardError, type ShardErrorCode } from './shard-error.js';
export * from './shard-limits.js';
export { verifyDataDir, findShardDirs, VERIFY_THREADS_MAX, type VerifyReport, type ShardVerifySummary, type ShardLocation } from './verify-pool.js';
export { rebuildIndexes, sealedSegmentPaths, INDEX_REBUILD_THREADS_MAX, type RebuildReport, type RebuildIndexesOptions, type RebuiltIndex } from './index-rebuild-pool.js';
