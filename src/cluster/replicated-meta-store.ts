/**
 * The MetaStore on Raft (issue 14): the same deterministic state machine as
 * the single-node MetaStore (src/metastore/state-machine.ts), fed by the
 * entries a Raft group commits instead of a local command log.
 *
 * Writes: the node that takes an admin request builds the command (create
 * time and incarnation are drawn there and travel inside the command, so
 * apply stays deterministic), encodes it (command-codec.ts encodeCommand)
 * and hands it to `submit`, which proposes it on the leader (forwarding it
 * when this node is a follower); the answer is the result of applying it,
 * the same on every replica: the stored config, the placement, or the
 * MetaError of a failed conditional command (a failed command is still in
 * the log, and changes nothing anywhere).
 *
 * Reads (getStream, listStreams, getPlacement) answer from this node's
 * applied state, which may lag the leader by the replication delay. A read
 * that must be current calls `current()` first: a read-index barrier
 * (docs/CONSENSUS.md section 5) after which this node has applied every
 * entry committed before the call.
 *
 * As a RaftApplication it applies committed entries, restores snapshots and
 * produces its state as snapshot bytes (snapshot.ts's format: magic, CRC,
 * msgpackr { lastIndex, streams, placements }).
 */
import { decodeCommand, encodeCommand } from '../metastore/command-codec.js';
import { validateName } from '../metastore/names.js';
import { placementKey } from '../metastore/placement.js';
import { decodeSnapshot, encodeSnapshot } from '../metastore/snapshot.js';
import { apply, emptyState, sortedDataDirs, sortedMembers, sortedStreams, stateFromSnapshot, streamKey, type MetaState } from '../metastore/state-machine.js';
import { buildStreamConfig } from '../metastore/stream-config.js';
import { MetaError, type AnyCommand, type ClusterCommand, type CreateStreamInput, type MetaErrorCode, type MetaStoreApi, type NodeId, type ShardPlacement, type ShardRef, type StreamConfig } from '../metastore/types.js';
import type { Snapshot } from '../consensus/index.js';
import type { RaftApplication } from './raft-driver.js';

/** What applying one command answered (plain data: it may travel back to a forwarding follower). */
export type AppliedOutcome =
  | { ok: true; stream: StreamConfig | null; placement: ShardPlacement | null }
  | { ok: false; code: MetaErrorCode; message: string };

/**
 * Proposes encoded command bytes on the leader and resolves with the outcome
 * of applying them. retryUnknown: the bytes may be proposed again after an
 * unknown outcome (the command is recognisable when it already took effect).
 */
export type Submit = (data: Uint8Array, retryUnknown: boolean) => Promise<AppliedOutcome>;

export interface ReplicatedMetaStoreOptions {
  submit: Submit;
  /** Read-index barrier: resolves once this node applied everything committed before the call. */
  current: () => Promise<void>;
  now?: () => number;
}

export class ReplicatedMetaStore implements MetaStoreApi, RaftApplication {
  private state: MetaState = emptyState();
  private appliedIndex = 0;
  private readonly restoreListeners = new Set<() => void>();
  private readonly listeners = new Set<(cmd: AnyCommand, outcome: AppliedOutcome) => void>();

  constructor(private readonly opts: ReplicatedMetaStoreOptions) {}

  // ------------------------------------------------------------ RaftApplication

  apply(index: number, data: Uint8Array): AppliedOutcome {
    let outcome: AppliedOutcome;
    let command: AnyCommand | null = null;
    try {
      command = decodeCommand(data, `Raft index ${index}`);
      const r = apply(this.state, command);
      if (r.ok) {
        this.state = r.state;
        outcome = { ok: true, stream: r.stream, placement: r.placement ?? null };
      } else outcome = { ok: false, code: r.error.code, message: r.error.message };
    } catch (e) {
      // Bytes that are not a command were committed (a bug or another version): every replica answers
      // the same failure and changes nothing, so the replicas stay identical.
      const err = e as MetaError;
      outcome = { ok: false, code: err.code ?? 'META_CORRUPT', message: err.message };
    }
    this.appliedIndex = index;
    if (command !== null) for (const l of this.listeners) l(command, outcome);
    return outcome;
  }

  restore(snapshot: Snapshot): void {
    const s = decodeSnapshot(snapshot.data, `Raft snapshot at index ${snapshot.index}`);
    this.state = stateFromSnapshot(s.streams, s.placements, { members: s.members, clusterId: s.clusterId, dataDirs: s.dataDirs });
    this.appliedIndex = snapshot.index;
    for (const l of this.restoreListeners) l();
  }

  /** Called after a snapshot replaced the state (a lagging node caught up by snapshot). */
  onRestored(listener: () => void): () => void {
    this.restoreListeners.add(listener);
    return () => this.restoreListeners.delete(listener);
  }

  snapshotData(): Uint8Array {
    return encodeSnapshot({
      lastIndex: this.appliedIndex, streams: sortedStreams(this.state), placements: [...this.state.placements.values()].sort(byKey),
      members: sortedMembers(this.state),
      clusterId: this.state.clusterId ?? null,
      dataDirs: sortedDataDirs(this.state),
    });
  }

  /** Called after every applied command (on every node): the node reacts to streams created or deleted elsewhere. */
  onApplied(listener: (cmd: AnyCommand, outcome: AppliedOutcome) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get lastIndex(): number {
    return this.appliedIndex;
  }

  // ------------------------------------------------------------ MetaStoreApi

  async createStream(input: CreateStreamInput): Promise<StreamConfig> {
    validateName('namespace', input.namespace ?? 'default');
    validateName('stream', input.name);
    const stream = buildStreamConfig(input, (this.opts.now ?? Date.now)());
    // Safe to send again after an unknown outcome: if the first one took effect, the stream exists with
    // the incarnation drawn here (64 random bits), and that is this request's success.
    const outcome = await this.opts.submit(encodeCommand({ op: 'createStream', stream }), true);
    if (outcome.ok) return outcome.stream!;
    const now = this.getStream(stream.namespace, stream.name);
    if (outcome.code === 'STREAM_EXISTS' && now !== undefined && now.incarnation === stream.incarnation) return now;
    throw new MetaError(outcome.code, outcome.message);
  }

  async deleteStream(namespace: string, name: string): Promise<void> {
    validateName('namespace', namespace);
    validateName('stream', name);
    await this.run({ op: 'deleteStream', namespace, name });
  }

  async setRetention(namespace: string, name: string, retentionMs: number | null, retentionBytes: number | null): Promise<StreamConfig> {
    return (await this.run({ op: 'setRetention', namespace, name, retentionMs, retentionBytes })).stream!;
  }

  async electSequencer(ref: ShardRef, node: NodeId, expectEpoch: number): Promise<ShardPlacement> {
    return (await this.run({ op: 'electSequencer', ...ref, node, expectEpoch })).placement!;
  }

  async openSegment(ref: ShardRef, epoch: number, baseSeq: number, replicas: NodeId[]): Promise<ShardPlacement> {
    return (await this.run({ op: 'openSegment', ...ref, epoch, baseSeq, replicas })).placement!;
  }

  async sealSegment(ref: ShardRef, epoch: number, baseSeq: number, endSeq: number): Promise<ShardPlacement> {
    return (await this.run({ op: 'sealSegment', ...ref, epoch, baseSeq, endSeq })).placement!;
  }

  getStream(namespace: string, name: string): StreamConfig | undefined {
    return this.state.streams.get(streamKey(namespace, name));
  }

  listStreams(namespace?: string): StreamConfig[] {
    return sortedStreams(this.state, namespace);
  }

  /** Cluster members (node id -> the address members dial it at), as applied on this node. */
  members(): ReadonlyMap<NodeId, string> {
    return this.state.members ?? new Map<NodeId, string>();
  }

  /** Node id -> the data dir id it is bound to (bindDataDir), as applied on this node. */
  dataDirs(): ReadonlyMap<NodeId, string> {
    return this.state.dataDirs ?? new Map<NodeId, string>();
  }

  /** The cluster id as applied on this node (null until initCluster is applied). */
  clusterId(): string | null {
    return this.state.clusterId ?? null;
  }

  /** Proposes a membership-record command (addMember, removeMember, initCluster, bindDataDir); throws MetaError when it fails. */
  async runClusterCommand(command: ClusterCommand): Promise<void> {
    await this.run(command);
  }

  getPlacement(namespace: string, name: string, shard: number): ShardPlacement | undefined {
    return this.state.placements.get(placementKey(namespace, name, shard));
  }

  /** Waits until this node has applied everything committed before the call (then reads are current). */
  current(): Promise<void> {
    return this.opts.current();
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private async run(command: AnyCommand): Promise<Extract<AppliedOutcome, { ok: true }>> {
    const outcome = await this.opts.submit(encodeCommand(command), false);
    if (!outcome.ok) throw new MetaError(outcome.code, outcome.message);
    return outcome;
  }
}

function byKey(a: ShardPlacement, b: ShardPlacement): number {
  const ka = placementKey(a.namespace, a.name, a.shard);
  const kb = placementKey(b.namespace, b.name, b.shard);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
