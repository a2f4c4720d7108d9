/**
 * The MetaStore's deterministic state machine: apply(state, command) returns
 * the next state and the command's result, and does nothing else (no clock,
 * no I/O, no randomness), so every replica that applies the same commands in
 * the same order ends with the same state. Commands are conditional: create
 * fails if the stream exists, delete and setRetention fail if it does not;
 * a failed command leaves the state unchanged.
 */
import { MEMBERS_MAX, STREAMS_MAX } from './bounds.js';
import { checkStreamConfig } from './stream-config.js';
import { applyPlacement, checkPlacement, initialPlacements, placementKey, type PlacementCommand } from './placement.js';
import { MetaError, type AnyCommand, type MetaCommand, type NodeId, type ShardPlacement, type StreamConfig } from './types.js';

export interface MetaState {
  /** Streams keyed by streamKey(namespace, name). Never mutated: apply builds a new map. */
  readonly streams: ReadonlyMap<string, StreamConfig>;
  /** Every shard of every stream, keyed by placementKey(namespace, name, shard) (placement.ts). Never mutated. */
  readonly placements: ReadonlyMap<string, ShardPlacement>;
  /**
   * Cluster members and the address other members dial each at (addMember,
   * removeMember). Optional so older states and the simulator's images stay
   * valid: undefined reads as none. Never mutated.
   */
  readonly members?: ReadonlyMap<NodeId, string>;
  /** The cluster id (initCluster, set once); undefined or null: not set yet. */
  readonly clusterId?: string | null;
  /**
   * Node id -> the id of the data dir it runs on (bindDataDir; removeMember
   * unbinds), so a wiped node re-using its id is refused at hello. Undefined
   * reads as none. Never mutated.
   */
  readonly dataDirs?: ReadonlyMap<NodeId, string>;
}

export type ApplyResult =
  | { ok: true; state: MetaState; stream: StreamConfig | null; placement?: ShardPlacement }
  | { ok: false; state: MetaState; error: MetaError };

/** '/' cannot occur in a valid name, so the key is unambiguous. */
export function streamKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function emptyState(): MetaState {
  return { streams: new Map(), placements: new Map() };
}

/**
 * Builds a state from a snapshot's streams and placements; throws MetaError
 * on an invalid or duplicate entry. A snapshot written before placements
 * existed has none: every shard then gets the initial placement.
 */
export function stateFromSnapshot(
  streams: readonly StreamConfig[],
  placements: readonly ShardPlacement[] | undefined,
  cluster?: {
    members?: readonly { node: NodeId; address: string }[] | undefined;
    clusterId?: string | null | undefined;
    dataDirs?: readonly { node: NodeId; dataDirId: string }[] | undefined;
  },
): MetaState {
  const withCluster = (st: MetaState): MetaState => {
    if (cluster === undefined || (cluster.members === undefined && cluster.clusterId === undefined)) return st;
    const members = new Map<NodeId, string>();
    for (const m of cluster.members ?? []) {
      if (members.has(m.node)) throw new MetaError('META_CORRUPT', `Member ${m.node} appears twice in the snapshot.`);
      members.set(m.node, m.address);
    }
    const dataDirs = new Map<NodeId, string>();
    for (const d of cluster.dataDirs ?? []) {
      if (dataDirs.has(d.node)) throw new MetaError('META_CORRUPT', `The data dir of node ${d.node} appears twice in the snapshot.`);
      dataDirs.set(d.node, d.dataDirId);
    }
    return { ...st, members, clusterId: cluster.clusterId ?? null, dataDirs };
  };
  const base = stateFromStreams(streams);
  if (placements === undefined) return withCluster(base);
  const map = new Map<string, ShardPlacement>();
  for (const p of placements) {
    const key = placementKey(p.namespace, p.name, p.shard);
    checkPlacement(p, base.streams.get(streamKey(p.namespace, p.name)));
    if (map.has(key)) throw new MetaError('META_CORRUPT', `The placement of ${key} appears twice in the snapshot.`);
    map.set(key, Object.freeze({ ...p, segments: Object.freeze(p.segments.map((s) => Object.freeze({ ...s, replicas: Object.freeze([...s.replicas]) }))) }));
  }
  for (const key of base.placements.keys()) if (!map.has(key)) throw new MetaError('META_CORRUPT', `The snapshot has no placement for shard ${key}.`);
  return withCluster({ streams: base.streams, placements: map });
}

/** Builds a state from a list of streams (a snapshot without placements); throws MetaError on an invalid or duplicate entry. */
export function stateFromStreams(streams: readonly StreamConfig[]): MetaState {
  const map = new Map<string, StreamConfig>();
  for (const s of streams) {
    try {
      checkStreamConfig(s);
    } catch (e) {
      throw new MetaError('META_CORRUPT', `The snapshot holds an invalid stream: ${(e as Error).message}`);
    }
    const key = streamKey(s.namespace, s.name);
    if (map.has(key)) throw new MetaError('META_CORRUPT', `Stream ${key} appears twice in the snapshot.`);
    map.set(key, Object.freeze({ ...s }));
  }
  const placements = new Map<string, ShardPlacement>();
  for (const s of map.values()) for (const p of initialPlacements(s)) placements.set(placementKey(p.namespace, p.name, p.shard), p);
  return { streams: map, placements };
}

function fail(state: MetaState, error: MetaError): ApplyResult {
  return { ok: false, state, error };
}

function unknownStream(namespace: string, name: string): MetaError {
  return new MetaError('UNKNOWN_STREAM', `Stream "${name}" does not exist in namespace "${namespace}".`);
}

function applyCreate(state: MetaState, stream: StreamConfig): ApplyResult {
  try {
    checkStreamConfig(stream);
  } catch (e) {
    return fail(state, e as MetaError);
  }
  const key = streamKey(stream.namespace, stream.name);
  if (state.streams.has(key)) {
    return fail(state, new MetaError('STREAM_EXISTS', `Stream "${stream.name}" already exists in namespace "${stream.namespace}".`));
  }
  if (state.streams.size >= STREAMS_MAX) {
    return fail(state, new MetaError('INVALID_ARGUMENT', `Cannot create stream "${stream.name}": the limit of ${STREAMS_MAX} streams is reached.`));
  }
  const stored = Object.freeze({ ...stream });
  const streams = new Map(state.streams);
  streams.set(key, stored);
  const placements = new Map(state.placements);
  for (const p of initialPlacements(stored)) placements.set(placementKey(p.namespace, p.name, p.shard), p);
  return { ok: true, state: { ...state, streams, placements }, stream: stored };
}

function applyDelete(state: MetaState, namespace: string, name: string): ApplyResult {
  const key = streamKey(namespace, name);
  const old = state.streams.get(key);
  if (old === undefined) return fail(state, unknownStream(namespace, name));
  const streams = new Map(state.streams);
  streams.delete(key);
  const placements = new Map(state.placements);
  for (let shard = 0; shard < old.shards; shard++) placements.delete(placementKey(namespace, name, shard));
  return { ok: true, state: { ...state, streams, placements }, stream: null };
}

function applyPlacementCommand(state: MetaState, cmd: PlacementCommand): ApplyResult {
  const key = placementKey(cmd.namespace, cmd.name, cmd.shard);
  const next = applyPlacement(state.streams.get(streamKey(cmd.namespace, cmd.name)), state.placements.get(key), cmd);
  if (next instanceof MetaError) return fail(state, next);
  const placements = new Map(state.placements);
  placements.set(key, next);
  return { ok: true, state: { ...state, placements }, stream: null, placement: next };
}

function applySetRetention(state: MetaState, cmd: Extract<MetaCommand, { op: 'setRetention' }>): ApplyResult {
  const key = streamKey(cmd.namespace, cmd.name);
  const current = state.streams.get(key);
  if (current === undefined) return fail(state, unknownStream(cmd.namespace, cmd.name));
  const next: StreamConfig = { ...current, retentionMs: cmd.retentionMs, retentionBytes: cmd.retentionBytes };
  try {
    checkStreamConfig(next);
  } catch (e) {
    return fail(state, e as MetaError);
  }
  const stored = Object.freeze(next);
  const streams = new Map(state.streams);
  streams.set(key, stored);
  return { ok: true, state: { ...state, streams }, stream: stored };
}

function applyAddMember(state: MetaState, node: NodeId, address: string): ApplyResult {
  const members = state.members ?? new Map<NodeId, string>();
  const old = members.get(node);
  if (old === address) return { ok: true, state, stream: null };
  if (old !== undefined) return fail(state, new MetaError('CONFLICT', `Node ${node} is already a member at ${old}, not ${address}; remove it first.`));
  if (members.size >= MEMBERS_MAX) return fail(state, new MetaError('INVALID_ARGUMENT', `Cannot add node ${node}: the limit of ${MEMBERS_MAX} members is reached.`));
  const next = new Map(members);
  next.set(node, address);
  return { ok: true, state: { ...state, members: next }, stream: null };
}

function applyRemoveMember(state: MetaState, node: NodeId): ApplyResult {
  const members = state.members ?? new Map<NodeId, string>();
  if (!members.has(node) && !(state.dataDirs ?? new Map<NodeId, string>()).has(node)) {
    return fail(state, new MetaError('INVALID_ARGUMENT', `Node ${node} is not a member of the cluster.`));
  }
  const next = new Map(members);
  next.delete(node);
  const dataDirs = new Map(state.dataDirs ?? []);
  dataDirs.delete(node);
  return { ok: true, state: { ...state, members: next, dataDirs }, stream: null };
}

/** The message of a refused bind and of a refused peer hello: one sentence an operator can act on. */
export function dataDirReplacedSentence(node: NodeId): string {
  return `node ${node}'s data dir was replaced (it is not the one node ${node} ran on in this cluster): remove it with "nativelog cluster remove-node ${node}" and add it again with --join`;
}

function applyBindDataDir(state: MetaState, node: NodeId, dataDirId: string): ApplyResult {
  const dataDirs = state.dataDirs ?? new Map<NodeId, string>();
  const old = dataDirs.get(node);
  if (old === dataDirId) return { ok: true, state, stream: null };
  if (old !== undefined) return fail(state, new MetaError('CONFLICT', dataDirReplacedSentence(node)));
  if (dataDirs.size >= MEMBERS_MAX) return fail(state, new MetaError('INVALID_ARGUMENT', `Cannot bind the data dir of node ${node}: the limit of ${MEMBERS_MAX} bound nodes is reached.`));
  const next = new Map(dataDirs);
  next.set(node, dataDirId);
  return { ok: true, state: { ...state, dataDirs: next }, stream: null };
}

/** Data dir bindings sorted by node id. */
export function sortedDataDirs(state: MetaState): { node: NodeId; dataDirId: string }[] {
  return [...(state.dataDirs ?? new Map<NodeId, string>()).entries()].sort((a, b) => a[0] - b[0]).map(([node, dataDirId]) => ({ node, dataDirId }));
}

/** Members sorted by node id. */
export function sortedMembers(state: MetaState): { node: NodeId; address: string }[] {
  return [...(state.members ?? new Map<NodeId, string>()).entries()].sort((a, b) => a[0] - b[0]).map(([node, address]) => ({ node, address }));
}

/** Applies one command. Pure: the input state is never changed. */
export function apply(state: MetaState, command: AnyCommand): ApplyResult {
  switch (command.op) {
    case 'createStream':
      return applyCreate(state, command.stream);
    case 'deleteStream':
      return applyDelete(state, command.namespace, command.name);
    case 'setRetention':
      return applySetRetention(state, command);
    case 'electSequencer':
    case 'openSegment':
    case 'sealSegment':
      return applyPlacementCommand(state, command);
    case 'addMember':
      return applyAddMember(state, command.node, command.address);
    case 'removeMember':
      return applyRemoveMember(state, command.node);
    case 'initCluster':
      if (typeof state.clusterId === 'string') return fail(state, new MetaError('CONFLICT', `The cluster id is already set ("${state.clusterId}").`));
      return { ok: true, state: { ...state, clusterId: command.clusterId }, stream: null };
    case 'bindDataDir':
      return applyBindDataDir(state, command.node, command.dataDirId);
    default:
      return fail(state, new MetaError('INVALID_ARGUMENT', `Unknown MetaStore command ${JSON.stringify((command as { op: unknown }).op)}.`));
  }
}

/** Streams sorted by namespace then name (code-unit order, locale-independent). */
export function sortedStreams(state: MetaState, namespace?: string): StreamConfig[] {
  const out = [...state.streams.values()].filter((s) => namespace === undefined || s.namespace === namespace);
  return out.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
