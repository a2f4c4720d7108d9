/**
 * Offline index rebuild of a whole data dir: finds every shard folder
 * (findShardDirs, as verify does) and every SEALED segment in it (all but the
 * one with the highest base: that one is the active segment, whose index the
 * node rebuilds itself at open), and rebuilds their sparse indexes in
 * parallel on a piscina pool of stateless tasks (workers/index-rebuild-task.ts,
 * src/storage/index-rebuild.ts). Offline only: no node may own the data dir
 * meanwhile (nothing here can tell; `nativelog verify` says the same).
 */
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { logFileName, segmentBases } from '../storage/segment-name.js';
import type { IndexRebuildTask, IndexRebuildTaskResult } from '../../workers/index-rebuild-task.js';
import { type ShardLocation, VERIFY_THREADS_MAX, findShardDirs } from './verify-pool.js';

/** Most pool threads, whatever the core count (the verify pool's bound). */
export const INDEX_REBUILD_THREADS_MAX = VERIFY_THREADS_MAX;

const TASK_URL = new URL('../../workers/index-rebuild-task.js', import.meta.url).href;

export interface RebuildIndexesOptions {
  /** Pool threads (default: core count, at most INDEX_REBUILD_THREADS_MAX and the number of segments). */
  threads?: number;
  /** Rewrite only indexes that are missing or invalid (default false: rewrite every sealed segment's index). */
  onlyMissingOrInvalid?: boolean;
  /** Sample interval; pass the node's --index-interval-bytes (default 4096). */
  indexIntervalBytes?: number;
  recordBytesMax?: number;
}

export interface RebuiltIndex {
  /** `namespace/stream/shard`. */
  shard: string;
  /** The `.index` file written. */
  file: string;
  entries: number;
  records: number;
  bytes: number;
  /** What was wrong with the previous index (null: it was valid and rewritten anyway). */
  reason: string | null;
}

export interface RebuildReport {
  /** False when some sealed segment's index could not be rebuilt (see `failed`). */
  ok: boolean;
  dataDir: string;
  shards: number;
  /** Sealed segments examined. */
  segments: number;
  /** Indexes written, ordered by file. */
  rebuilt: RebuiltIndex[];
  /** Valid indexes left alone (onlyMissingOrInvalid). */
  kept: number;
  /** Segments whose index was not rebuilt: a damaged log (CORRUPT) or an unreadable file. */
  failed: Array<{ file: string; error: string }>;
  /** Checkpoint disagreements (e.g. another index interval than the node's). */
  warnings: string[];
}

/** The sealed segments of a shard folder: every segment but the highest-based one. */
export function sealedSegmentPaths(dir: string): string[] {
  const bases = segmentBases(readdirSync(dir));
  return bases.slice(0, -1).map((b) => join(dir, logFileName(b)));
}

export async function rebuildIndexes(dataDir: string, opts: RebuildIndexesOptions = {}): Promise<RebuildReport> {
  const shards = findShardDirs(dataDir);
  const plan = shards.flatMap((s: ShardLocation) => sealedSegmentPaths(s.dir).map((path) => ({ shard: `${s.namespace}/${s.stream}/${s.incarnation === '' ? '' : `${s.incarnation}/`}${s.shard}`, path })));
  const report: RebuildReport = { ok: true, dataDir, shards: shards.length, segments: plan.length, rebuilt: [], kept: 0, failed: [], warnings: [] };
  if (plan.length === 0) return report;
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), INDEX_REBUILD_THREADS_MAX, plan.length));
  const pool = new Piscina<IndexRebuildTask, IndexRebuildTaskResult>({ filename: TASK_URL, minThreads: 1, maxThreads: threads });
  const task = (path: string): IndexRebuildTask => ({
    path,
    onlyMissingOrInvalid: opts.onlyMissingOrInvalid === true,
    ...(opts.indexIntervalBytes === undefined ? {} : { indexIntervalBytes: opts.indexIntervalBytes }),
    ...(opts.recordBytesMax === undefined ? {} : { recordBytesMax: opts.recordBytesMax }),
  });
  try {
    await Promise.all(
      plan.map(async ({ shard, path }) => {
        try {
          const r = await pool.run(task(path));
          report.warnings.push(...r.warnings);
          if (r.rebuilt) report.rebuilt.push({ shard, file: r.file, entries: r.entries, records: r.records, bytes: r.bytes, reason: r.reason });
          else report.kept++;
        } catch (e) {
          report.failed.push({ file: path, error: (e as Error).message });
        }
      }),
    );
  } finally {
    await pool.destroy();
  }
  report.rebuilt.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  report.failed.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  report.warnings.sort();
  report.ok = report.failed.length === 0;
  return report;
}
