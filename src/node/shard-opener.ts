/**
 * Where a shard lives on disk and how its handle is opened from the node's
 * settings and the stream's config.
 */
import { join } from 'node:path';
import type { StreamConfig } from '../metastore/types.js';
import type { ShardHandleApi } from '../shard/types.js';
import type { NodeContext } from './node-context.js';

/** <data-dir>/<namespace>/<stream>/<shard>/ */
export function shardDir(dataDir: string, namespace: string, name: string, shard: number): string {
  return join(dataDir, namespace, name, String(shard));
}

/** Opens every shard handle of a stream; closes the ones opened when one fails. */
export async function openStreamShards(ctx: Pick<NodeContext, 'config' | 'fsync' | 'deps'>, stream: StreamConfig): Promise<ShardHandleApi[]> {
  const { config } = ctx;
  const results = await Promise.allSettled(
    Array.from({ length: stream.shards }, (_, shard) =>
      ctx.deps.openShard({
        dir: shardDir(config.dataDir, stream.namespace, stream.name, shard),
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
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed !== undefined) {
    await Promise.allSettled(opened.map((h) => h.close()));
    throw failed.reason;
  }
  return opened;
}
