/**
 * Where a shard's requests go in a cluster, from the metadata any node
 * serves: describeStream names each shard's sequencer (a node id) and each
 * segment's replicas (node ids), clusterStatus maps node ids to addresses.
 *
 * A single node (no cluster) places no sequencer and no segments, so every
 * route stays the client's primary connection and no clusterStatus call is
 * made.
 */
import type { Client } from './client.js';
import type { SegmentInfo, StreamDescription } from './types.js';

/**
 * NOT_LEADER hints a producer or consumer follows at once; past this many
 * retries in a row it backs off like any retry (so two stale nodes pointing
 * at each other cannot make it spin).
 */
export const REDIRECTS_WITHOUT_BACKOFF_MAX = 3;

export interface ShardRoute {
  shard: number;
  sequencer: number | null;
  /** The sequencer's address; null when there is none, or its address is unknown. */
  sequencerAddress: string | null;
  segments: SegmentInfo[];
}

export interface StreamRoutes {
  /** True when the stream's shards are placed on nodes (a cluster); false on a single node. */
  clustered: boolean;
  /** Node id -> address and liveness, from clusterStatus (empty when not clustered). */
  nodes: Map<number, { address: string; up: boolean }>;
  shards: ShardRoute[];
  description: StreamDescription;
}

export async function fetchRoutes(client: Client, name: string, namespace: string, timeoutMs?: number): Promise<StreamRoutes> {
  const description = await client.describeStream(name, { namespace }, timeoutMs);
  return routesOf(client, description, timeoutMs);
}

/** The routes of a description already at hand (clusterStatus is asked only when shards are placed). */
export async function routesOf(client: Client, description: StreamDescription, timeoutMs?: number): Promise<StreamRoutes> {
  const clustered = description.shardInfo.some((s) => s.sequencer !== null || s.segments.length > 0);
  const nodes = new Map<number, { address: string; up: boolean }>();
  if (clustered) {
    const status = await client.clusterStatus(timeoutMs);
    for (const n of status.nodes) nodes.set(n.id, { address: n.address, up: n.up });
  }
  const shards = description.shardInfo.map((s) => ({
    shard: s.shard,
    sequencer: s.sequencer,
    sequencerAddress: s.sequencer === null ? null : (nodes.get(s.sequencer)?.address ?? null),
    segments: s.segments,
  }));
  return { clustered, nodes, shards, description };
}

/**
 * Addresses of the nodes that store the segment holding `seq` of a shard
 * (the active segment when seq is at or past its base), nodes that are up
 * first; empty when the metadata names none.
 */
export function replicaAddresses(routes: StreamRoutes, shard: number, seq: number): string[] {
  const segs = routes.shards[shard]?.segments ?? [];
  const seg = segs.find((s) => seq >= s.baseSeq && (s.endSeq === null || seq < s.endSeq));
  const ids = seg?.replicas ?? [];
  const known = ids.flatMap((id) => {
    const n = routes.nodes.get(id);
    return n === undefined ? [] : [n];
  });
  return [...known.filter((n) => n.up), ...known.filter((n) => !n.up)].map((n) => n.address);
}
