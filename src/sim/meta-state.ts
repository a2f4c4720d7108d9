/**
 * The simulator's encodings around the MetaStore state machine:
 *
 * - encodeMetaState / decodeMetaState: a canonical byte image of a MetaState
 *   (streams sorted by key, placements sorted by key, every record a tuple in
 *   a fixed field order, through msgpackr), so equal states give equal bytes
 *   whatever the insertion order of the maps or of object keys. Decoding goes
 *   through the state machine's own stateFromSnapshot, which validates.
 * - metaStateHash: a 32-bit hash of the state's content, independent of map
 *   order (the per-index state check compares it across nodes).
 * - encodeSimSnapshot / decodeSimSnapshot: the Raft snapshot payload the
 *   simulator compacts with: [version, hash chain, state image].
 * - encodeProposal / decodeProposal: a Raft entry payload: [version, op id,
 *   MetaCommand] (op id 0 and command null: the liveness marker).
 * - resultKey / readKey: canonical strings of a command's result and of a
 *   read's answer, compared by the linearizability checker.
 */
import { Packr } from 'msgpackr';
import { isMetaCommand } from '../metastore/command-codec.js';
import { placementKey } from '../metastore/placement.js';
import { stateFromSnapshot, streamKey, type ApplyResult, type MetaState } from '../metastore/state-machine.js';
import type { MetaCommand, SegmentPlacement, ShardPlacement, StreamConfig } from '../metastore/types.js';
import { mixString } from './trace.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Version of the simulator's snapshot payload and proposal envelope. */
export const SIM_PAYLOAD_VERSION = 1;

type StreamTuple = [string, string, number, number, number | null, number | null, string | null, number, number, string];
type SegmentTuple = [number, number | null, number, number[]];
type PlacementTuple = [string, string, string, number, number | null, number, SegmentTuple[]];

function streamTuple(s: StreamConfig): StreamTuple {
  return [s.namespace, s.name, s.shards, s.replicas, s.retentionMs, s.retentionBytes, s.schema, s.schemaVersion, s.createdAt, s.incarnation];
}

function segmentTuple(s: SegmentPlacement): SegmentTuple {
  return [s.baseSeq, s.endSeq, s.epoch, [...s.replicas]];
}

function placementTuple(p: ShardPlacement): PlacementTuple {
  return [p.namespace, p.name, p.incarnation, p.shard, p.sequencer, p.epoch, p.segments.map(segmentTuple)];
}

function sortedValues<T>(m: ReadonlyMap<string, T>): T[] {
  return [...m.keys()].sort().map((k) => m.get(k) as T);
}

export function encodeMetaState(state: MetaState): Uint8Array {
  return packr.pack([sortedValues(state.streams).map(streamTuple), sortedValues(state.placements).map(placementTuple)]);
}

function fromStreamTuple(t: StreamTuple): StreamConfig {
  const [namespace, name, shards, replicas, retentionMs, retentionBytes, schema, schemaVersion, createdAt, incarnation] = t;
  return { namespace, name, shards, replicas, retentionMs, retentionBytes, schema, schemaVersion, createdAt, incarnation };
}

function fromPlacementTuple(t: PlacementTuple): ShardPlacement {
  const [namespace, name, incarnation, shard, sequencer, epoch, segs] = t;
  return { namespace, name, incarnation, shard, sequencer, epoch, segments: segs.map(([baseSeq, endSeq, e, replicas]) => ({ baseSeq, endSeq, epoch: e, replicas })) };
}

/** Throws when the bytes are not a valid state image (shape here, rules in stateFromSnapshot). */
export function decodeMetaState(bytes: Uint8Array): MetaState {
  const v: unknown = packr.unpack(bytes);
  if (!Array.isArray(v) || v.length !== 2 || !Array.isArray(v[0]) || !Array.isArray(v[1])) throw new Error('sim: a MetaState image must be [streams, placements]');
  const streams = (v[0] as unknown[]).map((t) => {
    if (!Array.isArray(t) || t.length !== 10) throw new Error('sim: bad stream tuple in a MetaState image');
    return fromStreamTuple(t as StreamTuple);
  });
  const placements = (v[1] as unknown[]).map((t) => {
    if (!Array.isArray(t) || t.length !== 7 || !Array.isArray(t[6]) || !(t[6] as unknown[]).every((s) => Array.isArray(s) && s.length === 4 && Array.isArray(s[3]))) {
      throw new Error('sim: bad placement tuple in a MetaState image');
    }
    return fromPlacementTuple(t as PlacementTuple);
  });
  return stateFromSnapshot(streams, placements);
}

const hashCache = new WeakMap<MetaState, number>();
const recordHash = new WeakMap<object, number>();

function cachedRecordHash(key: string, record: StreamConfig | ShardPlacement, tuple: () => unknown): number {
  let h = recordHash.get(record);
  if (h === undefined) {
    h = mixString(mixString(2166136261, key), JSON.stringify(tuple()));
    recordHash.set(record, h);
  }
  return h;
}

/**
 * A 32-bit hash of the state's content: the sum of a hash of every
 * (key, record) pair's canonical tuple, so it does not depend on map order.
 * Records are frozen and shared between successive states, so each one is
 * hashed once (cached per object); the state's hash is cached too.
 */
export function metaStateHash(state: MetaState): number {
  let h = hashCache.get(state);
  if (h === undefined) {
    h = 0;
    for (const [k, s] of state.streams) h = (h + cachedRecordHash(`s ${k}`, s, () => streamTuple(s))) >>> 0;
    for (const [k, p] of state.placements) h = (h + cachedRecordHash(`p ${k}`, p, () => placementTuple(p))) >>> 0;
    hashCache.set(state, h);
  }
  return h;
}

export interface SimSnapshot {
  readonly chain: number;
  readonly state: MetaState;
}

export function encodeSimSnapshot(s: SimSnapshot): Uint8Array {
  return packr.pack([SIM_PAYLOAD_VERSION, s.chain, encodeMetaState(s.state)]);
}

export function decodeSimSnapshot(bytes: Uint8Array): SimSnapshot {
  const v: unknown = packr.unpack(bytes);
  if (!Array.isArray(v) || v.length !== 3 || v[0] !== SIM_PAYLOAD_VERSION || typeof v[1] !== 'number' || !(v[2] instanceof Uint8Array)) {
    throw new Error(`sim: not a version ${SIM_PAYLOAD_VERSION} snapshot payload`);
  }
  return { chain: v[1], state: decodeMetaState(v[2]) };
}

export interface Proposal {
  /** The client operation (0: the liveness marker). */
  readonly opId: number;
  readonly command: MetaCommand | null;
}

export function encodeProposal(p: Proposal): Uint8Array {
  return packr.pack([SIM_PAYLOAD_VERSION, p.opId, p.command]);
}

const decoded = new WeakMap<Uint8Array, Proposal>();

/**
 * Throws when the bytes are not a proposal of this version carrying a valid
 * command. The simulated network passes entries by reference, so every node
 * applies the same byte array: the decoded proposal is cached per array
 * (entry bytes are never mutated).
 */
export function decodeProposal(bytes: Uint8Array): Proposal {
  let p = decoded.get(bytes);
  if (p === undefined) decoded.set(bytes, (p = decodeProposalBytes(bytes)));
  return p;
}

function decodeProposalBytes(bytes: Uint8Array): Proposal {
  const v: unknown = packr.unpack(bytes);
  if (!Array.isArray(v) || v.length !== 3 || v[0] !== SIM_PAYLOAD_VERSION || !Number.isSafeInteger(v[1]) || (v[1] as number) < 0) {
    throw new Error(`sim: not a version ${SIM_PAYLOAD_VERSION} proposal`);
  }
  const command: unknown = v[2];
  if ((v[1] === 0) !== (command === null) || (command !== null && !isMetaCommand(command))) throw new Error(`sim: proposal ${String(v[1])} carries no valid MetaCommand`);
  return { opId: v[1] as number, command: command as MetaCommand | null };
}

/** The canonical answer a client gets for an applied command. */
export function resultKey(r: ApplyResult): string {
  if (!r.ok) return `err ${r.error.code}`;
  const parts = ['ok'];
  if (r.stream !== null) parts.push(JSON.stringify(streamTuple(r.stream)));
  if (r.placement !== undefined) parts.push(JSON.stringify(placementTuple(r.placement)));
  return parts.join(' ');
}

/** The canonical answer to "read stream namespace/name": its config and every shard's placement, or none. */
export function readKey(state: MetaState, namespace: string, name: string): string {
  const s = state.streams.get(streamKey(namespace, name));
  if (s === undefined) return 'none';
  const ps: string[] = [];
  for (let shard = 0; shard < s.shards; shard++) {
    const p = state.placements.get(placementKey(namespace, name, shard));
    ps.push(p === undefined ? 'missing' : JSON.stringify(placementTuple(p)));
  }
  return `${JSON.stringify(streamTuple(s))} ${ps.join(' ')}`;
}
