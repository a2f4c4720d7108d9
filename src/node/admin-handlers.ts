/**
 * createStream, deleteStream, listStreams, describeStream and seqForTime.
 * Create: MetaStore first, then shard handles. Delete: MetaStore first, then
 * ShardHandle.destroy(). A crash in between is repaired by reconcile at start.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamConfig } from '../metastore/types.js';
import { asFields, int, oneOf, optInt, optNullableInt, optNullableStr, optStr, str, type Fields } from '../protocol/fields.js';
import type { WireStreamInfo } from '../protocol/ops.js';
import type { NodeContext, Reply } from './node-context.js';
import { openStreamShards } from './shard-opener.js';

const NAME_FIELD_MAX = 1024;
const SCHEMA_FIELD_MAX = 64 * 1024;
const SHARDS_FIELD_MAX = 1_000_000;

export function streamRef(h: Fields): { namespace: string; name: string } {
  return { namespace: optStr(h, 'namespace', 'default', NAME_FIELD_MAX), name: str(h, 'name', NAME_FIELD_MAX) };
}

export function streamInfo(s: StreamConfig): WireStreamInfo {
  return {
    namespace: s.namespace,
    name: s.name,
    shards: s.shards,
    replicas: s.replicas,
    retentionMs: s.retentionMs,
    retentionBytes: s.retentionBytes,
    schema: s.schema,
    schemaVersion: s.schemaVersion,
    createdAt: s.createdAt,
  };
}

export async function createStream(ctx: NodeContext, header: unknown): Promise<Reply> {
  const h = asFields(header);
  const { namespace, name } = streamRef(h);
  const input = {
    namespace,
    name,
    shards: optInt(h, 'shards', 1, SHARDS_FIELD_MAX),
    replicas: optInt(h, 'replicas', 1, SHARDS_FIELD_MAX),
    retentionMs: optNullableInt(h, 'retentionMs', 0, Number.MAX_SAFE_INTEGER),
    retentionBytes: optNullableInt(h, 'retentionBytes', 0, Number.MAX_SAFE_INTEGER),
    schema: optNullableStr(h, 'schema', SCHEMA_FIELD_MAX),
  };
  const stream = await ctx.meta.createStream(dropUndefined(input));
  const handles = await openStreamShards(ctx, stream);
  ctx.router.add(stream, handles);
  return { header: { stream: streamInfo(stream) } };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export async function deleteStream(ctx: NodeContext, header: unknown): Promise<Reply> {
  const { namespace, name } = streamRef(asFields(header));
  await ctx.meta.deleteStream(namespace, name);
  const routed = ctx.router.remove(namespace, name);
  // Destroy failures must not leave data behind for a later namesake: the folder is removed regardless.
  if (routed !== undefined) await Promise.allSettled(routed.shards.map((s) => s.handle.destroy()));
  await rm(join(ctx.config.dataDir, namespace, name), { recursive: true, force: true });
  return { header: {} };
}

export async function listStreams(ctx: NodeContext, header: unknown): Promise<Reply> {
  const h = asFields(header);
  const ns = h['namespace'] === undefined || h['namespace'] === null ? undefined : str(h, 'namespace', NAME_FIELD_MAX);
  return { header: { streams: ctx.meta.listStreams(ns).map(streamInfo) } };
}

export async function describeStream(ctx: NodeContext, header: unknown): Promise<Reply> {
  const { namespace, name } = streamRef(asFields(header));
  const routed = await ctx.router.stream(namespace, name);
  const config = routed.config;
  const shards = await Promise.all(
    routed.shards.map(async (s, shard) => {
      const d = await s.handle.describe();
      return { shard, startSeq: d.startSeq, endSeq: d.endSeq, bytes: d.bytes, segments: d.segments };
    }),
  );
  return { header: { stream: streamInfo(config), shards } };
}

export async function seqForTime(ctx: NodeContext, header: unknown): Promise<Reply> {
  const h = asFields(header);
  const { namespace, name } = streamRef(h);
  const shard = int(h, 'shard', 0, SHARDS_FIELD_MAX);
  const kind = oneOf(h, 'kind', ['append', 'event'] as const);
  const time = int(h, 'time', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const { handle } = await ctx.router.shard(namespace, name, shard);
  const seq = kind === 'append' ? await handle.seqForAppendTime(time) : await handle.seqForEventTime(time);
  return { header: { seq } };
}
