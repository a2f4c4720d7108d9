/** Public surface of the storage engine. */
export { ShardStore } from './shard-store.js';
export { verifySegmentFile, verifyShardDir } from './verify.js';
export type { DamagedRange, IndexReport, SegmentReport, ShardReport, VerifyOptions } from './verify.js';
export { rebuildSegmentIndex, type RebuildIndexOptions, type IndexRebuildResult } from './index-rebuild.js';
export * from './types.js';
export * from './defaults.js';
export { type FileLayer, type OpenMode, NodeFileLayer, nodeFileLayer, CountingFileLayer, FaultyFileLayer, type FaultPlan } from './file-layer.js';
export type { SegmentMeta } from './checkpoint.js';
