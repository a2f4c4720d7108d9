/**
 * The simulator's MetaStore clients: which command or read to issue next.
 *
 * The key space is small on purpose so commands conflict: 2-3 namespaces x
 * 2-3 stream names ("slots"), streams of 1-2 shards. Commands: createStream
 * (with a fresh incarnation), deleteStream, setRetention, electSequencer
 * (expectEpoch from what the clients last saw, sometimes off by one),
 * openSegment / sealSegment (epoch, base and incarnation from what was last
 * seen, sometimes stale). Reads ask for one stream's config and placements.
 *
 * Every stream name gets at most `opsPerKeyMax` operations (commands and
 * reads), which bounds the linearizability search per key: once a slot has
 * used them up it moves to a fresh name (s0 -> s0.g1 -> ...), so the run goes
 * on with a small key space and bounded histories.
 *
 * API: new MetaWorkload(rng, nodeIds); nextCommand(); nextRead(); observe(namespace, name, state).
 */
import { placementKey } from '../metastore/placement.js';
import { streamKey, type MetaState } from '../metastore/state-machine.js';
import type { MetaCommand, NodeId, StreamConfig } from '../metastore/types.js';
import type { Prng } from './prng.js';

export const metaWorkloadDefaults = {
  /** Operations (commands + reads) issued on one stream name before its slot moves to a fresh name. */
  opsPerKeyMax: 24,
  shardsMax: 2,
  replicasMax: 2,
  /** Chance that an epoch, base or incarnation is deliberately stale / off by one. */
  staleChance: 0.2,
  /** Largest segment length drawn for sealSegment. */
  segmentSeqsMax: 20,
} as const;

interface ShardView {
  epoch: number;
  /** Base of the active segment, or null when the last one is sealed (or none exists). */
  activeBase: number | null;
  /** Where the next segment must start. */
  nextBase: number;
}

interface KeyView {
  readonly namespace: string;
  readonly name: string;
  /** Last incarnation seen (null: seen deleted or never seen). */
  incarnation: string | null;
  /** Every incarnation ever seen, for stale commands. */
  readonly incarnations: string[];
  shards: ShardView[];
  replicas: number;
}

interface Slot {
  readonly namespace: string;
  readonly base: string;
  generation: number;
  used: number;
}

export interface NextOp {
  readonly namespace: string;
  readonly name: string;
}

export class MetaWorkload {
  private readonly slots: Slot[] = [];
  private readonly views = new Map<string, KeyView>();
  private createdAt = 1_700_000_000_000;

  constructor(private readonly rng: Prng, private readonly nodeIds: readonly NodeId[]) {
    const namespaces = rng.range(2, 3);
    const names = rng.range(2, 3);
    for (let a = 0; a < namespaces; a++) for (let b = 0; b < names; b++) this.slots.push({ namespace: `ns${a}`, base: `s${b}`, generation: 0, used: 0 });
  }

  /** Picks a slot and charges one operation to its current name (moving the slot on when it is used up). */
  private take(): NextOp {
    const slot = this.rng.pick(this.slots);
    const name = slot.generation === 0 ? slot.base : `${slot.base}.g${slot.generation}`;
    if (++slot.used >= metaWorkloadDefaults.opsPerKeyMax) {
      slot.generation++;
      slot.used = 0;
    }
    return { namespace: slot.namespace, name };
  }

  private view(namespace: string, name: string): KeyView {
    const k = streamKey(namespace, name);
    let v = this.views.get(k);
    if (v === undefined) this.views.set(k, (v = { namespace, name, incarnation: null, incarnations: [], shards: [], replicas: 1 }));
    return v;
  }

  nextRead(): NextOp {
    return this.take();
  }

  nextCommand(): MetaCommand {
    const { namespace, name } = this.take();
    const v = this.view(namespace, name);
    const r = this.rng.int(100);
    if (v.incarnation === null && r < 50) return this.create(namespace, name);
    if (r < 12) return this.create(namespace, name);
    if (r < 20) return { op: 'deleteStream', namespace, name };
    if (r < 32) return { op: 'setRetention', namespace, name, retentionMs: this.rng.chance(0.3) ? null : 1000 * this.rng.range(1, 5), retentionBytes: this.rng.chance(0.5) ? null : 1 << this.rng.range(10, 20) };
    const shard = v.shards.length > 0 && !this.rng.chance(0.05) ? this.rng.int(v.shards.length) : this.rng.int(metaWorkloadDefaults.shardsMax + 1);
    const s: ShardView = v.shards[shard] ?? { epoch: 0, activeBase: null, nextBase: 0 };
    const incarnation = this.incarnationFor(v);
    const stale = () => this.rng.chance(metaWorkloadDefaults.staleChance);
    const epoch = stale() ? Math.max(0, s.epoch + this.rng.pick([-1, 1])) : s.epoch;
    const ref = { namespace, name, incarnation, shard };
    if (r < 60) return { op: 'electSequencer', ...ref, node: this.rng.pick(this.nodeIds), expectEpoch: epoch };
    if (r < 80 || s.activeBase === null) {
      const base = stale() ? this.rng.int(s.nextBase + 3) : s.nextBase;
      return { op: 'openSegment', ...ref, epoch, baseSeq: base, replicas: this.replicaSet(stale() ? this.rng.range(1, metaWorkloadDefaults.replicasMax) : v.replicas) };
    }
    const base = stale() ? this.rng.int(s.nextBase + 3) : s.activeBase;
    return { op: 'sealSegment', ...ref, epoch, baseSeq: base, endSeq: base + this.rng.int(metaWorkloadDefaults.segmentSeqsMax + 1) - (stale() ? 1 : 0) };
  }

  private incarnationFor(v: KeyView): string {
    if (v.incarnations.length > 0 && (v.incarnation === null || this.rng.chance(metaWorkloadDefaults.staleChance))) return this.rng.pick(v.incarnations);
    return v.incarnation ?? this.newIncarnation();
  }

  private newIncarnation(): string {
    let s = '';
    for (let i = 0; i < 2; i++) s += this.rng.nextU32().toString(16).padStart(8, '0');
    return s;
  }

  private replicaSet(count: number): NodeId[] {
    const pool = [...this.nodeIds];
    const out: NodeId[] = [];
    while (out.length < count && pool.length > 0) out.push(pool.splice(this.rng.int(pool.length), 1)[0] as NodeId);
    return out;
  }

  private create(namespace: string, name: string): MetaCommand {
    const stream: StreamConfig = {
      namespace, name,
      shards: this.rng.range(1, metaWorkloadDefaults.shardsMax),
      replicas: this.rng.range(1, metaWorkloadDefaults.replicasMax),
      retentionMs: null, retentionBytes: null, schema: null, schemaVersion: 0,
      createdAt: this.createdAt++,
      incarnation: this.newIncarnation(),
    };
    return { op: 'createStream', stream };
  }

  /** A client saw `state` (the answering node's state after its operation on namespace/name). */
  observe(namespace: string, name: string, state: MetaState): void {
    const v = this.view(namespace, name);
    const s = state.streams.get(streamKey(namespace, name));
    if (s === undefined) {
      v.incarnation = null;
      v.shards = [];
      return;
    }
    v.incarnation = s.incarnation;
    if (!v.incarnations.includes(s.incarnation)) v.incarnations.push(s.incarnation);
    v.replicas = s.replicas;
    v.shards = [];
    for (let shard = 0; shard < s.shards; shard++) {
      const p = state.placements.get(placementKey(namespace, name, shard));
      const last = p?.segments[p.segments.length - 1];
      v.shards.push({
        epoch: p?.epoch ?? 0,
        activeBase: last !== undefined && last.endSeq === null ? last.baseSeq : null,
        nextBase: last === undefined ? 0 : last.endSeq ?? last.baseSeq,
      });
    }
  }
}
