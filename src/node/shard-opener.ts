/**
 * Where a stream's shards live on disk and how their handles are opened from
 * the node's settings and the stream's config.
 *
 * Folder layout: <data-dir>/<namespace>/<name>@<incarnation>/<shard>/. The
 * incarnation (src/metastore/stream-config.ts) is drawn at create time, so
 * every life of a name has folders of its own: a delete followed by a quick
 * re-create can never open, or remove, the other life's files. '@' never
 * occurs in a name, so the folder name parses back unambiguously. Streams
 * created before incarnations existed (incarnation '') keep
 * <namespace>/<name>/<shard>/.
 */
import { join } from 'node:path';
import type { StreamConfig } from '../metastore/types.js';
import type { ShardHandleApi } from '../shard/types.js';
import type { NodeContext } from './node-context.js';

/** Separates a stream's name from its incarnation in the folder name. */
export const INCARNATION_SEPARATOR = '@';

/** The folder name of one life of a stream. */
export function streamFolderName(name: string, incarnation: string): string {
  return incarnation === '' ? name : `${name}${INCARNATION_SEPARATOR}${incarnation}`;
}

/** <data-dir>/<namespace>/<name>@<incarnation>/ */
export function streamDir(dataDir: string, stream: Pick<StreamConfig, 'namespace' | 'name' | 'incarnation'>): string {
  return join(dataDir, stream.namespace, streamFolderName(stream.name, stream.incarnation));
}

/** <data-dir>/<namespace>/<name>@<incarnation>/<shard>/ */
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
  return results.map((r) => (r.status === 'fulfilled' ? { ok: true, handle: r.value } : { ok: false, reason: reasonOf(r.reason) }));
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
