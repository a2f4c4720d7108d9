/**
 * createStream, deleteStream, listStreams, describeStream and seqForTime.
 * Create: MetaStore first, then shard handles. Delete: MetaStore first, then
 * ShardHandle.destroy(). A crash in between is repaired by reconcile at start.
 */
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ShardPlacement, StreamConfig } from '../metastore/types.js';
import { asFields, int, oneOf, optInt, optNullableInt, optNullableStr, optStr, str, type Fields } from '../protocol/fields.js';
import type { WireShardInfo, WireStreamInfo } from '../protocol/ops.js';
import type { NodeContext, Reply } from './node-context.js';
import { ProtocolError } from './protocol-error.js';
import { NODE_ID_MAX } from '../cluster/peer-limits.js';
import { MEMBER_ADDRESS_CHARS_MAX } from '../metastore/bounds.js';
import { Router, shardFailure, type RoutedShard } from './router.js';
import { streamDir } from './shard-opener.js';

const NAME_FIELD_MAX = 1024;
const SCHEMA_FIELD_MAX = 64 * 1024;
const SHARDS_FIELD_MAX = 1_000_000;
/** Largest node id and longest address a membership request may carry. */
const NODE_ID_FIELD_MAX = NODE_ID_MAX;
const ADDRESS_FIELD_MAX = MEMBER_ADDRESS_CHARS_MAX;

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
    incarnation: s.incarnation,
  };
}

/**
 * A node alone stores one copy: more replicas would be silently ignored, so
 * they are refused. In a cluster the MetaStore refuses more replicas than
 * voters (and than REPLICAS_MAX).
 */
export const REPLICAS_ALONE_MAX = 1;

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
  if (ctx.cluster === undefined && input.replicas !== undefined && input.replicas > REPLICAS_ALONE_MAX) {
    throw new ProtocolError(
      'INVALID_ARGUMENT',
      `replicas ${input.replicas} is refused: a node alone stores exactly ${REPLICAS_ALONE_MAX} copy; more replicas need a cluster (start nodes with --peers).`,
    );
  }
  const voters = ctx.cluster?.voters.length ?? 1;
  if (ctx.cluster !== undefined && input.replicas !== undefined && input.replicas > voters) {
    throw new ProtocolError('INVALID_ARGUMENT', `replicas ${input.replicas} is refused: the cluster has ${voters} voters, and each segment needs ${input.replicas} distinct nodes.`);
  }
  return ctx.streamLocks.run(Router.key(namespace, name), async () => {
    const stream = await ctx.meta.createStream(dropUndefined(input));
    const routed = await ctx.router.open(stream);
    const failedShards = failedShardsOf(routed.shards);
    for (const f of failedShards) ctx.deps.log(`stream ${namespace}/${name} shard ${f.shard} failed to open: ${f.error}`);
    return { header: { stream: streamInfo(stream), failedShards } };
  });
}

function failedShardsOf(shards: RoutedShard[]): { shard: number; error: string }[] {
  return shards.flatMap((s, shard) => {
    const why = shardFailure(s);
    return why === null ? [] : [{ shard, error: why }];
  });
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * MetaStore first (from then on requests get UNKNOWN_STREAM), then the shard
 * handles are destroyed and this incarnation's folder removed (also when a
 * destroy failed, so nothing is left behind). A crash in between is repaired
 * by reconcile at start. A re-create of the name waits (streamLocks) and gets
 * a folder of its own either way.
 */
export async function deleteStream(ctx: NodeContext, header: unknown): Promise<Reply> {
  const { namespace, name } = streamRef(asFields(header));
  return ctx.streamLocks.run(Router.key(namespace, name), async () => {
    const config = ctx.meta.getStream(namespace, name);
    await ctx.meta.deleteStream(namespace, name);
    const routed = await ctx.router.remove(namespace, name)?.catch(() => undefined);
    if (routed !== undefined) await Promise.allSettled(routed.shards.map((s) => s.handle.destroy()));
    if (config !== undefined) {
      await rm(streamDir(ctx.config.dataDir, config), { recursive: true, force: true });
      if (config.incarnation !== '') await rmdir(join(ctx.config.dataDir, namespace, name)).catch(() => undefined); // only when no other life is left
    }
    return { header: {} };
  });
}

export async function listStreams(ctx: NodeContext, header: unknown): Promise<Reply> {
  const h = asFields(header);
  const ns = h['namespace'] === undefined || h['namespace'] === null ? undefined : str(h, 'namespace', NAME_FIELD_MAX);
  await ctx.cluster?.meta.current(); // a follower lists what the leader had committed when the request came
  return { header: { streams: ctx.meta.listStreams(ns).map(streamInfo) } };
}

/**
 * The cluster as this node sees it: {nodeId, leader, term, role, commit,
 * applied, voters, nodes: [{id, address, up, voter, lastContactMs, dataDirId}]}. A node
 * without --peers is a cluster of one that it leads.
 */
export async function clusterStatus(ctx: NodeContext, header: unknown): Promise<Reply> {
  asFields(header);
  if (ctx.cluster !== undefined) return { header: await ctx.cluster.status() };
  const self = ctx.config.nodeId;
  return {
    header: { nodeId: self, leader: self, term: 0, role: 'leader', commit: 0, applied: 0, voters: [self], nodes: [{ id: self, address: `${ctx.config.host}:${ctx.config.port}`, up: true, voter: true, lastContactMs: 0 }] },
  };
}

/** CLUSTER_JOIN {node, address}: adds a voter through this node (forwarded to the leader). */
export async function clusterJoin(ctx: NodeContext, header: unknown): Promise<Reply> {
  const h = asFields(header);
  const node = int(h, 'node', 1, NODE_ID_FIELD_MAX);
  const address = str(h, 'address', ADDRESS_FIELD_MAX);
  if (ctx.cluster === undefined) throw notACluster();
  if (node === ctx.cluster.nodeId) throw new ProtocolError('INVALID_ARGUMENT', `Node ${node} is the node you asked; it is a member already.`);
  return { header: { ...(await ctx.cluster.changeMember('add', node, address)) } };
}

/** CLUSTER_REMOVE_NODE {node}: removes a voter through this node (forwarded to the leader). */
export async function clusterRemoveNode(ctx: NodeContext, header: unknown): Promise<Reply> {
  const node = int(asFields(header), 'node', 1, NODE_ID_FIELD_MAX);
  if (ctx.cluster === undefined) throw notACluster();
  return { header: { ...(await ctx.cluster.changeMember('remove', node)) } };
}

function notACluster(): ProtocolError {
  return new ProtocolError('INVALID_ARGUMENT', 'This node runs alone (started without --peers or --join); it has no cluster to change.');
}

export async function describeStream(ctx: NodeContext, header: unknown): Promise<Reply> {
  const { namespace, name } = streamRef(asFields(header));
  const routed = await ctx.router.stream(namespace, name);
  const config = routed.config;
  const shards = await Promise.all(routed.shards.map(async (s, shard) => withPlacement(ctx, config, shard, await describeShard(s, shard))));
  return { header: { stream: streamInfo(config), shards } };
}

/** The local part of a shard's line: its copy's figures, or its failure. */
type LocalShardInfo = Pick<WireShardInfo, 'shard' | 'startSeq' | 'endSeq' | 'bytes' | 'segmentFiles' | 'failed'>;

/** The MetaStores that hold placements (MetaStore, ReplicatedMetaStore) read them with this. */
interface PlacementReader {
  getPlacement(namespace: string, name: string, shard: number): ShardPlacement | undefined;
}

function placementOf(ctx: NodeContext, config: StreamConfig, shard: number): ShardPlacement | undefined {
  const meta = ctx.meta as Partial<PlacementReader>;
  if (typeof meta.getPlacement !== 'function') return undefined;
  const p = meta.getPlacement(config.namespace, config.name, shard);
  return p !== undefined && p.incarnation === config.incarnation ? p : undefined;
}

/**
 * Adds the MetaStore's placement (sequencer, epoch, segments) and, when the
 * replication path has a view of the shard, its committed end and
 * under-replication. A segment's endSeq is exclusive (the seq after its last
 * record), null while it is active.
 */
export function withPlacement(ctx: NodeContext, config: StreamConfig, shard: number, local: LocalShardInfo): WireShardInfo {
  const p = placementOf(ctx, config, shard);
  const view = local.failed === null ? (ctx.replication?.shardView(config.namespace, config.name, shard) ?? null) : null;
  const segments = (p?.segments ?? []).map((s) => ({ baseSeq: s.baseSeq, endSeq: s.endSeq, epoch: s.epoch, replicas: [...s.replicas], sealed: s.endSeq !== null }));
  return {
    ...local,
    endSeq: view?.endSeq ?? local.endSeq,
    sequencer: p?.sequencer ?? null,
    epoch: p?.epoch ?? 0,
    underReplicated: view?.underReplicated ?? false,
    segments,
  };
}

/** One shard's local figures for describeStream; a failed shard shows its reason and null figures. */
async function describeShard(s: RoutedShard, shard: number): Promise<LocalShardInfo> {
  const failed = shardFailure(s);
  if (failed === null) {
    try {
      const d = await s.handle.describe();
      return { shard, startSeq: d.startSeq, endSeq: d.endSeq, bytes: d.bytes, segmentFiles: d.segments, failed: null };
    } catch (err) {
      const now = shardFailure(s);
      if (now === null) throw err; // a passing error (restarting worker, say): the request fails as any would
      return failedShardInfo(shard, now);
    }
  }
  return failedShardInfo(shard, failed);
}

function failedShardInfo(shard: number, reason: string): LocalShardInfo {
  return { shard, startSeq: null, endSeq: null, bytes: null, segmentFiles: null, failed: reason };
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
