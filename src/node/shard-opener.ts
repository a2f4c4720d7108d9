/**
 * Where a stream's shards live on disk and how their handles are opened from
 * the node's settings and the stream's config.
 *
 * Folder layout: <data-dir>/<namespace>/<name>/<incarnation>/<shard>/. The
 * incarnation (src/metastore/stream-config.ts, 16 hex digits) is drawn at
 * create time, so every life of a name has folders of its own: a delete
 * followed by a quick re-create can never open, or remove, the other life's
 * files. It is a folder level of its own (not a suffix of the name's folder)
 * so that a name of the longest allowed length (249) still fits a file
 * name (255). A shard folder is a decimal number of at most 9 digits, so the
 * two never collide. Streams created before incarnations existed
 * (incarnation '') keep <namespace>/<name>/<shard>/.
 */
import { join } from 'node:path';
import type { StreamConfig } from '../metastore/types.js';
import type { ShardHandleApi } from '../shard/types.js';
import type { NodeContext } from './node-context.js';

/** <data-dir>/<namespace>/<name>/<incarnation>/ (legacy: <data-dir>/<namespace>/<name>/) */
export function streamDir(dataDir: string, stream: Pick<StreamConfig, 'namespace' | 'name' | 'incarnation'>): string {
  return stream.incarnation === '' ? join(dataDir, stream.namespace, stream.name) : join(dataDir, stream.namespace, stream.name, stream.incarnation);
}

/** <data-dir>/<namespace>/<name>/<incarnation>/<shard>/ */
export function shardDir(dataDir: string, stream: Pick<StreamConfig, 'namespace' | 'name' | 'incarnation'>, shard: number): string {
  return join(streamDir(dataDir, stream), String(shard));
}

/** One shard of a stream as opened: a handle, or the reason it could not be opened. */
export type OpenedShard = { ok: true; handle: ShardHandleApi } | { ok: false; reason: string };

/**
 * Opens every shard handle of a stream, each on its own: a shard that fails
 * to open is reported with its reason and the others are opened all the same
 * (one bad shard never takes its stream or the node down).
 */
export async function openStreamShards(ctx: Pick<NodeContext, 'config' | 'fsync' | 'deps'>, stream: StreamConfig): Promise<OpenedShard[]> {
  const { config } = ctx;
  const results = await Promise.allSettled(
    Array.from({ length: stream.shards }, (_, shard) =>
      ctx.deps.openShard({
        dir: shardDir(config.dataDir, stream, shard),
        segmentBytesMax: config.segmentBytesMax,
        segmentMsMax: config.segmentMsMax,
        indexIntervalBytes: config.indexIntervalBytes,
        retentionMs: stream.retentionMs,
        retentionBytes: stream.retentionBytes,
        fsync: ctx.fsync,
        syncInBackground: config.fsyncBackground !== 0,
        minFreeBytes: config.minFreeBytes,
        recordBytesMax: config.recordBytesMax,
        ringBytes: config.ringBytes,
      }),
    ),
  );
  return results.map((r) => (r.status === 'fulfilled' ? { ok: true, handle: r.value } : { ok: false, reason: `it failed to open (${reasonOf(r.reason).replace(/\.$/, '')})` }));
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
