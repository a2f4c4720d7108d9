/**
 * piscina task: stateless rebuild of one sealed segment's sparse index from
 * its log (src/storage/index-rebuild.ts). Runs in a pool thread; never owns a
 * shard (no node may be running on the data dir, see `nativelog verify
 * --rebuild-indexes`). Task messages carry a path and options; the answer is a
 * small report, never record bytes.
 */
import { type IndexRebuildResult, rebuildSegmentIndex } from '../src/storage/index-rebuild.js';

export interface IndexRebuildTask {
  path: string;
  onlyMissingOrInvalid: boolean;
  indexIntervalBytes?: number;
  recordBytesMax?: number;
}

export type IndexRebuildTaskResult = IndexRebuildResult;

export default function indexRebuildTask(task: IndexRebuildTask): IndexRebuildTaskResult {
  return rebuildSegmentIndex(task.path, {
    onlyMissingOrInvalid: task.onlyMissingOrInvalid,
    ...(task.indexIntervalBytes === undefined ? {} : { indexIntervalBytes: task.indexIntervalBytes }),
    ...(task.recordBytesMax === undefined ? {} : { recordBytesMax: task.recordBytesMax }),
  });
}
