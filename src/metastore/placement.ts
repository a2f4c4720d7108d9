/**
 * Shard placement in the MetaStore's state machine: per shard its sequencer
 * and epoch, and its segments with their replica sets (DESIGN section 7; what
 * issue "Replicated shards" builds on). Pure functions of (placement,
 * command), called by state-machine.ts; every replica applies them alike.
 *
 * The rules, each a compare-and-set so that a deposed sequencer's late
 * command fails everywhere instead of overwriting:
 *
 * - electSequencer(node, expectEpoch): succeeds only while the shard's epoch
 *   is expectEpoch; sets sequencer = node, epoch = expectEpoch + 1. The epoch
 *   only ever increases.
 * - openSegment(epoch, baseSeq, replicas): only the current epoch may open;
 *   the previous segment must be sealed and end exactly at baseSeq (the
 *   first segment starts at 0), so sealed segments tile the seqs with no gap
 *   and no overlap; replicas are the stream's replica count of distinct
 *   node ids.
 * - sealSegment(epoch, baseSeq, endSeq): only the current epoch may seal (a
 *   new sequencer seals its predecessor's segment after recovery); the
 *   target must be the active segment at baseSeq; endSeq >= baseSeq (an
 *   empty segment seals at its base).
 *
 * Commands name the stream's incarnation: a command meant for a deleted life
 * of the name fails (UNKNOWN_STREAM) on the new one.
 */
import { REPLICAS_MAX, SEGMENTS_PER_SHARD_MAX } from './bounds.js';
import { MetaError, type MetaCommand, type NodeId, type SegmentPlacement, type ShardPlacement, type StreamConfig } from './types.js';

/** '/' cannot occur in a valid name, so the key is unambiguous. */
export function placementKey(namespace: string, name: string, shard: number): string {
  return `${namespace}/${name}/${shard}`;
}

/** A fresh stream's shards: no sequencer, epoch 0, no segment. */
export function initialPlacements(stream: StreamConfig): ShardPlacement[] {
  return Array.from({ length: stream.shards }, (_, shard) =>
    Object.freeze({ namespace: stream.namespace, name: stream.name, incarnation: stream.incarnation, shard, sequencer: null, epoch: 0, segments: Object.freeze([]) }),
  );
}

export type PlacementCommand = Extract<MetaCommand, { op: 'electSequencer' | 'openSegment' | 'sealSegment' }>;

/** The placement after the command, or a MetaError saying why the command fails (the state is then unchanged). */
export function applyPlacement(stream: StreamConfig | undefined, current: ShardPlacement | undefined, cmd: PlacementCommand): ShardPlacement | MetaError {
  if (stream === undefined || stream.incarnation !== cmd.incarnation) {
    return new MetaError('UNKNOWN_STREAM', `Stream "${cmd.name}" (incarnation ${cmd.incarnation || 'legacy'}) does not exist in namespace "${cmd.namespace}".`);
  }
  if (current === undefined) {
    return new MetaError('UNKNOWN_SHARD', `Stream "${cmd.name}" has ${stream.shards} shards; there is no shard ${cmd.shard}.`);
  }
  switch (cmd.op) {
    case 'electSequencer':
      return elect(current, cmd.node, cmd.expectEpoch);
    case 'openSegment':
      return open(stream, current, cmd.epoch, cmd.baseSeq, cmd.replicas);
    case 'sealSegment':
      return seal(current, cmd.epoch, cmd.baseSeq, cmd.endSeq);
  }
}

function isNodeId(n: unknown): n is NodeId {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;
}

function isSeq(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function stale(p: ShardPlacement, epoch: number, what: string): MetaError {
  return new MetaError('STALE_EPOCH', `${what} of shard ${p.shard} of stream "${p.name}" is refused: epoch ${epoch} is not the shard's epoch ${p.epoch}.`);
}

function elect(p: ShardPlacement, node: NodeId, expectEpoch: number): ShardPlacement | MetaError {
  if (!isNodeId(node)) return new MetaError('INVALID_ARGUMENT', `A sequencer must be a node id (a positive integer), got ${String(node)}.`);
  if (!isSeq(expectEpoch)) return new MetaError('INVALID_ARGUMENT', `expectEpoch must be a non-negative integer, got ${String(expectEpoch)}.`);
  if (expectEpoch !== p.epoch) return stale(p, expectEpoch, `Electing node ${node} as sequencer`);
  return Object.freeze({ ...p, sequencer: node, epoch: expectEpoch + 1 });
}

function open(stream: StreamConfig, p: ShardPlacement, epoch: number, baseSeq: number, replicas: NodeId[]): ShardPlacement | MetaError {
  if (!isSeq(epoch) || !isSeq(baseSeq)) return new MetaError('INVALID_ARGUMENT', 'openSegment: epoch and baseSeq must be non-negative integers.');
  if (p.epoch === 0 || epoch !== p.epoch) return stale(p, epoch, `Opening a segment at seq ${baseSeq}`);
  if (!Array.isArray(replicas) || replicas.length !== stream.replicas || replicas.length > REPLICAS_MAX || !replicas.every(isNodeId) || new Set(replicas).size !== replicas.length) {
    return new MetaError('INVALID_ARGUMENT', `A segment of stream "${stream.name}" needs ${stream.replicas} distinct node ids as replicas, got ${JSON.stringify(replicas)}.`);
  }
  const last = p.segments[p.segments.length - 1];
  if (last !== undefined && last.endSeq === null) {
    return new MetaError('CONFLICT', `Shard ${p.shard} of stream "${p.name}" still has an active segment at seq ${last.baseSeq}; seal it first.`);
  }
  const expectBase = last === undefined ? 0 : last.endSeq!;
  if (baseSeq !== expectBase) {
    return new MetaError('CONFLICT', `The next segment of shard ${p.shard} of stream "${p.name}" must start at seq ${expectBase}, not ${baseSeq}.`);
  }
  if (p.segments.length >= SEGMENTS_PER_SHARD_MAX) {
    return new MetaError('INVALID_ARGUMENT', `Shard ${p.shard} of stream "${p.name}" already has ${SEGMENTS_PER_SHARD_MAX} segments in the MetaStore.`);
  }
  const seg: SegmentPlacement = Object.freeze({ baseSeq, endSeq: null, epoch, replicas: Object.freeze([...replicas]) });
  return Object.freeze({ ...p, segments: Object.freeze([...p.segments, seg]) });
}

function seal(p: ShardPlacement, epoch: number, baseSeq: number, endSeq: number): ShardPlacement | MetaError {
  if (!isSeq(epoch) || !isSeq(baseSeq) || !isSeq(endSeq)) return new MetaError('INVALID_ARGUMENT', 'sealSegment: epoch, baseSeq and endSeq must be non-negative integers.');
  if (epoch !== p.epoch) return stale(p, epoch, `Sealing the segment at seq ${baseSeq}`);
  const last = p.segments[p.segments.length - 1];
  if (last === undefined || last.endSeq !== null || last.baseSeq !== baseSeq) {
    return new MetaError('CONFLICT', `Shard ${p.shard} of stream "${p.name}" has no active segment at seq ${baseSeq} to seal.`);
  }
  if (endSeq < baseSeq) return new MetaError('INVALID_ARGUMENT', `A segment cannot end (${endSeq}) before its base seq (${baseSeq}).`);
  const sealed: SegmentPlacement = Object.freeze({ ...last, endSeq });
  return Object.freeze({ ...p, segments: Object.freeze([...p.segments.slice(0, -1), sealed]) });
}

/** Throws META_CORRUPT when a stored placement (from a snapshot) breaks a rule the commands keep. */
export function checkPlacement(p: ShardPlacement, stream: StreamConfig | undefined): void {
  const bad = (what: string) => new MetaError('META_CORRUPT', `The snapshot's placement of ${placementKey(p.namespace, p.name, p.shard)} is invalid: ${what}.`);
  if (stream === undefined || stream.incarnation !== p.incarnation) throw bad('no such stream');
  if (!Number.isSafeInteger(p.shard) || p.shard < 0 || p.shard >= stream.shards) throw bad('shard out of range');
  if (!isSeq(p.epoch) || (p.sequencer !== null && !isNodeId(p.sequencer)) || (p.epoch === 0) !== (p.sequencer === null)) throw bad('sequencer and epoch disagree');
  let next = 0;
  let prevEpoch = 1;
  p.segments.forEach((s, i) => {
    if (s.baseSeq !== next || !isSeq(s.epoch) || s.epoch > p.epoch || s.epoch < prevEpoch) throw bad(`segment ${i} does not start where the previous one ended, or has a bad epoch`);
    prevEpoch = s.epoch;
    if (s.endSeq === null && i !== p.segments.length - 1) throw bad(`segment ${i} is active but not the last`);
    if (s.endSeq !== null && (!isSeq(s.endSeq) || s.endSeq < s.baseSeq)) throw bad(`segment ${i} ends before it starts`);
    if (!Array.isArray(s.replicas) || s.replicas.length !== stream.replicas || !s.replicas.every(isNodeId) || new Set(s.replicas).size !== s.replicas.length) throw bad(`segment ${i} has a bad replica set`);
    next = s.endSeq ?? next;
  });
}
