/**
 * Record replication on one cluster node (issue 15; docs/REPLICATION.md):
 * the glue between the MetaStore's placements, the local shard stores, the
 * peer links and the client handlers.
 *
 * Every PLACEMENT_TICK_MS each node:
 * - on the MetaStore leader, runs the placement controller: a shard with no
 *   sequencer gets one (spread over the voters by stream and shard); a shard
 *   whose sequencer the leader has not heard from for SEQUENCER_LEASE_MS
 *   gets a new one (a live replica of its active segment), by
 *   electSequencer, a compare-and-set on the epoch;
 * - for each shard the placement gives to this node at epoch e and that it
 *   does not sequence at e yet: if e was elected while this process ran, it
 *   recovers and starts sequencing; if not (this node restarted), it asks
 *   for e + 1 (a sequencer always starts with an epoch of its own);
 * - deposes its sequencers whose placement moved on;
 * - ticks its sequencers (heartbeats, resends).
 *
 * Recovery for epoch e (activate): verify and fence its own store; fence
 * the active segment's replicas (r-fence with e) until at least R - W + 1
 * answered (itself included); take the end that covers every possibly
 * acknowledged record (recoveryEnd); copy what it lacks from the replica
 * that has it (r-read); re-replicate until a write quorum holds that end;
 * seal the old segment there and open the next (same replica set, dead
 * members replaced by live nodes when there are any); take appends.
 */
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { PeerMessage } from '../cluster/peer-message.js';
import type { ReplicatedMetaStore } from '../cluster/replicated-meta-store.js';
import type { NodeId, ShardPlacement, StreamConfig } from '../metastore/types.js';
import { ProtocolError } from '../node/protocol-error.js';
import type { Router } from '../node/router.js';
import { CATCH_UP_READ_BYTES_MAX, PLACEMENT_TICK_MS, RECOVERY_MS_MAX, RECOVERY_PENDING_MAX, RECOVERY_REQUEST_MS, REPLICATION_HEARTBEAT_MS, SEQUENCER_LEASE_MS } from './limits.js';
import { keyOf, REPLICATION_KINDS, REPLICATION_RAW_KINDS, type ShardKey } from './messages.js';
import { ReplicaSide } from './replica.js';
import type { ReplicaStore } from './replica-store.js';
import { ShardSequencer, writeQuorum, type Acks } from './sequencer.js';
import { recoveryEnd, trustedEnd } from './verify-end.js';

export { REPLICATION_KINDS, REPLICATION_RAW_KINDS };

export interface ReplicationDeps {
  self: NodeId;
  cluster: ClusterNode;
  meta: ReplicatedMetaStore;
  router: Router;
  log: (line: string) => void;
}

interface Pending {
  resolve: (b: Record<string, unknown>, raw: Uint8Array | undefined) => void;
  timer: NodeJS.Timeout;
}

export function shardKey(config: Pick<StreamConfig, 'namespace' | 'name' | 'incarnation'>, shard: number): ShardKey {
  return { ns: config.namespace, name: config.name, inc: config.incarnation, shard };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ReplicationService {
  private readonly sequencers = new Map<string, ShardSequencer>();
  /** Shards whose recovery runs now (key -> epoch). */
  private readonly recovering = new Map<string, number>();
  /** Epochs elected for this node while this process ran (key -> epochs). */
  private readonly electedHere = new Map<string, Set<number>>();
  /** Shards whose local store was verified against the placements (key -> promise of the trusted end). */
  private readonly verified = new Map<string, Promise<number>>();
  private readonly replica: ReplicaSide;
  private readonly pending = new Map<number, Pending>();
  private readonly commitListeners = new Set<(key: ShardKey, commit: number) => void>();
  /** Elections this node (as leader) has proposed and not seen applied (key). */
  private readonly electing = new Set<string>();
  private nextId = 1;
  private timer: NodeJS.Timeout | null = null;
  private lastHeartbeat = 0;
  private leaderSince: number | null = null;
  private closed = false;

  constructor(private readonly d: ReplicationDeps) {
    this.replica = new ReplicaSide({
      store: (key) => this.store(key),
      send: (to, msg) => d.cluster.sendPeer(to, msg),
      log: d.log,
      onCommit: (key, c) => this.notifyCommit(key, c),
    });
    d.meta.onApplied((cmd, outcome) => {
      if (!outcome.ok) return;
      if (cmd.op === 'electSequencer') {
        const key = keyOf({ ns: cmd.namespace, name: cmd.name, inc: cmd.incarnation, shard: cmd.shard });
        this.electing.delete(key);
        if (cmd.node === d.self) {
          const set = this.electedHere.get(key) ?? new Set<number>();
          set.add(cmd.expectEpoch + 1);
          this.electedHere.set(key, set);
        }
      } else if (cmd.op === 'deleteStream') {
        for (const [k, s] of this.sequencers) {
          if (k.startsWith(`${cmd.namespace}/${cmd.name}/`)) {
            s.depose('the stream was deleted');
            this.sequencers.delete(k);
          }
        }
      }
    });
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), PLACEMENT_TICK_MS);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const s of this.sequencers.values()) s.depose('the node is stopping');
    this.sequencers.clear();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  /** Fetch long-polls wake on commit advances (the router's append signal in a cluster). */
  onCommit(listener: (key: ShardKey, commit: number) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  // ------------------------------------------------------------ client paths

  /** A producer batch for a shard: taken here if this node sequences it, else NOT_LEADER with where to go. */
  async append(config: StreamConfig, shard: number, records: Uint8Array, acks: Acks) {
    const key = shardKey(config, shard);
    const s = this.sequencers.get(keyOf(key));
    if (s === undefined || s.isDeposed) throw this.notLeader(config, shard);
    return s.append(records, acks);
  }

  /**
   * The seq below which this node may serve the shard's records (committed
   * and trusted here), or null when this node stores none of it (NOT_LEADER
   * names the replicas).
   */
  async readCap(config: StreamConfig, shard: number): Promise<number> {
    const key = shardKey(config, shard);
    const p = this.d.meta.getPlacement(config.namespace, config.name, shard);
    if (p === undefined || !p.segments.some((s) => s.replicas.includes(this.d.self))) throw this.notLeader(config, shard);
    await this.trusted(key);
    const seq = this.sequencers.get(keyOf(key));
    return Math.max(this.replica.commitOf(key), seq?.commit ?? 0);
  }

  /** describeStream: the committed end as known here and whether the active segment lacks copies. */
  shardView(namespace: string, name: string, shard: number): { endSeq: number; underReplicated: boolean } | null {
    const config = this.d.meta.getStream(namespace, name);
    if (config === undefined) return null;
    const key = shardKey(config, shard);
    const p = this.d.meta.getPlacement(namespace, name, shard);
    const seq = this.sequencers.get(keyOf(key));
    const sealed = (p?.segments ?? []).filter((s) => s.endSeq !== null).reduce((m, s) => Math.max(m, s.endSeq!), 0);
    const endSeq = Math.max(seq?.commit ?? 0, this.replica.commitOf(key), sealed);
    let under = false;
    if (seq !== undefined) {
      const ends = seq.replicaEnds();
      under = seq.replicaSet.some((r) => (ends.get(r) ?? 0) < seq.commit);
    } else if (p !== undefined) {
      const live = this.d.cluster.liveness();
      const active = p.segments[p.segments.length - 1];
      under = active !== undefined && active.replicas.some((r) => live.get(r)?.up !== true);
    }
    return { endSeq, underReplicated: under };
  }

  private notLeader(config: StreamConfig, shard: number): ProtocolError {
    const p = this.d.meta.getPlacement(config.namespace, config.name, shard);
    const sequencer = p?.sequencer ?? null;
    const active = p?.segments[p.segments.length - 1];
    const replicas = (active?.replicas ?? []).map((id) => ({ id, address: this.d.cluster.addressOf(id) }));
    return new ProtocolError(
      'NOT_LEADER',
      sequencer === null ? `Shard ${shard} of stream "${config.name}" has no sequencer yet; retry.` : `Node ${this.d.self} does not sequence or store shard ${shard} of stream "${config.name}" here; node ${sequencer} sequences it.`,
      { sequencer, address: sequencer === null ? null : this.d.cluster.addressOf(sequencer), replicas },
    );
  }

  // ------------------------------------------------------------ peer messages

  onMessage(from: NodeId, msg: PeerMessage): void {
    const b = msg.body as Record<string, unknown>;
    switch (msg.kind) {
      case 'r-ack': {
        const s = this.sequencers.get(keyOf({ ns: b.ns as string, name: b.name as string, inc: b.inc as string, shard: b.shard as number }));
        if (s !== undefined && s.epoch === b.epoch) s.onAck(from, b.endSeq as number, b.lastEpoch as number, b.error as string | undefined);
        return;
      }
      case 'r-fence-result':
      case 'r-read-result': {
        const p = this.pending.get(b.id as number);
        if (p === undefined) return;
        this.pending.delete(b.id as number);
        clearTimeout(p.timer);
        p.resolve(b, msg.raw === undefined ? undefined : msg.raw.slice());
        return;
      }
      default:
        this.replica.onMessage(from, msg);
    }
  }

  private request(to: NodeId, kind: string, body: Record<string, unknown>): Promise<{ body: Record<string, unknown>; raw: Uint8Array | undefined } | null> {
    if (this.pending.size >= RECOVERY_PENDING_MAX) return Promise.resolve(null);
    const id = this.nextId++ >>> 0;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, RECOVERY_REQUEST_MS);
      this.pending.set(id, { resolve: (b, raw) => resolve({ body: b, raw }), timer });
      if (!this.d.cluster.sendPeer(to, { kind, body: { ...body, id } })) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(null);
      }
    });
  }

  // ------------------------------------------------------------ local stores

  private async store(key: ShardKey): Promise<ReplicaStore | null> {
    let config = this.d.meta.getStream(key.ns, key.name);
    if (config === undefined || config.incarnation !== key.inc) {
      await this.d.meta.current();
      config = this.d.meta.getStream(key.ns, key.name);
      if (config === undefined || config.incarnation !== key.inc) return null;
    }
    if (key.shard >= config.shards) return null;
    const routed = await this.d.router.stream(key.ns, key.name);
    if (routed.config.incarnation !== key.inc) return null;
    const h = routed.shards[key.shard]!.handle as unknown as ReplicaStore & { failedReason?: string | null };
    if (h.failedReason) throw Object.assign(new Error(h.failedReason), { code: 'SHARD_FAILED' });
    await this.trusted(key, h);
    return h;
  }

  /** The local store, opened if needed, without the trust check (for the trust check itself). */
  private async openStore(key: ShardKey): Promise<ReplicaStore | null> {
    const config = this.d.meta.getStream(key.ns, key.name);
    if (config === undefined || config.incarnation !== key.inc || key.shard >= config.shards) return null;
    const routed = await this.d.router.stream(key.ns, key.name);
    if (routed.config.incarnation !== key.inc) return null;
    return routed.shards[key.shard]!.handle as unknown as ReplicaStore;
  }

  /**
   * The local store's trusted end, computed once per process and shard:
   * a tail the placements prove wrong (records of a deposed epoch past the
   * seal of its segment) is cut first.
   */
  private trusted(key: ShardKey, handle?: ReplicaStore): Promise<number> {
    const k = keyOf(key);
    let v = this.verified.get(k);
    if (v === undefined) {
      v = (async () => {
        const h = handle ?? (await this.openStore(key));
        if (h === null) return 0;
        await this.d.meta.current();
        const f = await h.fence(0);
        const p = this.d.meta.getPlacement(key.ns, key.name, key.shard);
        const segments = p?.segments ?? [];
        const t = trustedEnd(f.endSeq, f.lastEpoch, segments);
        if (t < f.endSeq) {
          this.d.log(`shard ${k}: cutting records [${t}, ${f.endSeq}) of epoch ${f.lastEpoch}, past the seal of their segment (a deposed sequencer's unacknowledged tail)`);
          await h.truncateTo(t);
        }
        // Sealed records held here are committed and, below t, right: readable.
        const sealed = segments.filter((s) => s.endSeq !== null).reduce((m, s) => Math.max(m, s.endSeq!), 0);
        this.replica.noteFloor(key, Math.min(sealed, t));
        return t;
      })();
      v.catch(() => this.verified.delete(k));
      this.verified.set(k, v);
    }
    return v;
  }

  private notifyCommit(key: ShardKey, commit: number): void {
    for (const l of this.commitListeners) l(key, commit);
  }

  // ------------------------------------------------------------ the loop

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    const leader = this.d.cluster.isLeader;
    if (leader && this.leaderSince === null) this.leaderSince = now;
    if (!leader) this.leaderSince = null;
    for (const config of this.d.meta.listStreams()) {
      for (let shard = 0; shard < config.shards; shard++) {
        const p = this.d.meta.getPlacement(config.namespace, config.name, shard);
        if (p === undefined) continue;
        if (leader) this.control(config, p, now);
        this.reconcile(config, p);
      }
    }
    if (now - this.lastHeartbeat >= REPLICATION_HEARTBEAT_MS) {
      this.lastHeartbeat = now;
      for (const s of this.sequencers.values()) s.tick();
    }
  }

  /** On the MetaStore leader: elect a sequencer where there is none or where it is silent past its lease. */
  private control(config: StreamConfig, p: ShardPlacement, now: number): void {
    const key = keyOf(shardKey(config, p.shard));
    if (this.electing.has(key) || this.recovering.has(key)) return;
    const live = this.d.cluster.liveness();
    const alive = (n: NodeId): boolean => {
      if (n === this.d.self) return true;
      const l = live.get(n);
      if (l === undefined) return false;
      if (l.lastContactMs === null) return now - (this.leaderSince ?? now) < SEQUENCER_LEASE_MS; // not heard yet since this node leads
      return l.lastContactMs <= SEQUENCER_LEASE_MS;
    };
    const voters = [...this.d.cluster.voters].sort((a, b) => a - b);
    let node: NodeId | null = null;
    if (p.sequencer === null) {
      const up = voters.filter((n) => alive(n) && this.d.cluster.canSequence(n));
      if (up.length === 0) return;
      node = up[(hash(`${config.namespace}/${config.name}`) + p.shard) % up.length]!;
    } else if (!alive(p.sequencer)) {
      const active = p.segments[p.segments.length - 1];
      // Only a replica of the active segment holds its records; storage-only nodes never sequence.
      const candidates = (active?.replicas ?? voters).filter((n) => n !== p.sequencer && alive(n) && this.d.cluster.canSequence(n));
      if (candidates.length === 0) return;
      node = candidates[p.epoch % candidates.length]!;
      this.d.log(`sequencer ${p.sequencer} of ${config.namespace}/${config.name} shard ${p.shard} is silent past its ${SEQUENCER_LEASE_MS} ms lease: electing node ${node} (epoch ${p.epoch + 1})`);
    }
    if (node === null) return;
    this.electing.add(key);
    this.d.meta.electSequencer({ namespace: config.namespace, name: config.name, incarnation: config.incarnation, shard: p.shard }, node, p.epoch).catch(() => this.electing.delete(key));
    setTimeout(() => this.electing.delete(key), SEQUENCER_LEASE_MS).unref();
  }

  /** This node's sequencer for the shard follows the placement. */
  private reconcile(config: StreamConfig, p: ShardPlacement): void {
    const key = shardKey(config, p.shard);
    const k = keyOf(key);
    const s = this.sequencers.get(k);
    if (s !== undefined && (p.sequencer !== this.d.self || p.epoch !== s.epoch || s.isDeposed)) {
      s.depose(p.sequencer === this.d.self ? `epoch ${p.epoch} replaced epoch ${s.epoch}` : `node ${p.sequencer ?? 'none'} sequences it now (epoch ${p.epoch})`);
      this.sequencers.delete(k);
    }
    if (p.sequencer !== this.d.self || this.sequencers.has(k) || this.recovering.has(k)) return;
    if (this.electedHere.get(k)?.has(p.epoch) === true) {
      this.recovering.set(k, p.epoch);
      void this.activate(config, key, p.epoch).finally(() => this.recovering.delete(k));
    } else if (!this.electing.has(k)) {
      // The placement names this node with an epoch it did not take in this process (it restarted): take a new one.
      this.electing.add(k);
      this.d.meta.electSequencer({ namespace: config.namespace, name: config.name, incarnation: config.incarnation, shard: p.shard }, this.d.self, p.epoch).catch(() => this.electing.delete(k));
      setTimeout(() => this.electing.delete(k), SEQUENCER_LEASE_MS).unref();
    }
  }

  private still(key: ShardKey, epoch: number): boolean {
    const p = this.d.meta.getPlacement(key.ns, key.name, key.shard);
    return !this.closed && p !== undefined && p.sequencer === this.d.self && p.epoch === epoch;
  }

  /** Recovery, then sequencing, for `epoch` (see the file comment). */
  private async activate(config: StreamConfig, key: ShardKey, epoch: number): Promise<void> {
    const started = performance.now();
    const ref = { namespace: config.namespace, name: config.name, incarnation: config.incarnation, shard: key.shard };
    try {
      const store = await this.store(key);
      if (store === null) return;
      await store.setEpoch(epoch);
      let own = await store.fence(epoch);
      let p = this.d.meta.getPlacement(key.ns, key.name, key.shard)!;
      const R = config.replicas;
      const W = writeQuorum(R);
      let last = p.segments[p.segments.length - 1];
      const ends = new Map<NodeId, number>();
      let base = 0;
      let replicas: NodeId[];
      if (last === undefined) {
        base = own.endSeq; // a fresh shard: 0
        replicas = this.chooseReplicas(R, []);
      } else if (last.endSeq !== null) {
        base = last.endSeq; // a predecessor sealed and died before opening
        replicas = this.chooseReplicas(R, last.replicas);
      } else {
        // Fence the active segment's replicas; R - W + 1 answers (this node's included) see every possibly acked record.
        const answers = new Map<NodeId, { endSeq: number; lastEpoch: number }>();
        if (last.replicas.includes(this.d.self)) answers.set(this.d.self, { endSeq: own.endSeq, lastEpoch: own.lastEpoch });
        const need = last.replicas.length - writeQuorum(last.replicas.length) + 1;
        const deadline = performance.now() + RECOVERY_MS_MAX;
        while (answers.size < need) {
          if (!this.still(key, epoch) || performance.now() > deadline) throw new Error(`only ${answers.size} of the ${need} replicas recovery needs answered the fence`);
          // Ask every replica that has not answered; go on as soon as enough have (a dead one only costs its timeout when needed).
          await new Promise<void>((resolve) => {
            const asked = last!.replicas.filter((n) => !answers.has(n));
            let left = asked.length;
            if (left === 0) resolve();
            for (const n of asked) {
              void this.request(n, 'r-fence', { ...key, epoch }).then((r) => {
                if (r !== null && r.body.error === undefined) answers.set(n, { endSeq: r.body.endSeq as number, lastEpoch: r.body.lastEpoch as number });
                if (--left === 0 || answers.size >= need) resolve();
              });
            }
          });
        }
        const { endSeq: tail, source } = recoveryEnd(answers, last.epoch, last.baseSeq);
        // Copy what this node lacks of the tail from the replica that holds it.
        while (own.endSeq < tail) {
          if (!this.still(key, epoch) || performance.now() > deadline) throw new Error('the recovery read of the tail did not finish');
          const r = await this.request(source!, 'r-read', { ...key, fromSeq: own.endSeq, endSeq: tail, maxBytes: CATCH_UP_READ_BYTES_MAX });
          if (r === null || r.body.error !== undefined || r.raw === undefined || (r.body.count as number) === 0) {
            await sleep(RECOVERY_REQUEST_MS / 4);
            continue;
          }
          await store.appendStamped(r.raw, own.endSeq, epoch);
          own = await store.fence(0);
        }
        if (own.endSeq > tail) {
          // This node's own store holds more than any answer of the segment's epoch: only if it is not a replica of it (its records are of another epoch).
          await store.truncateTo(tail);
          own = await store.fence(0);
        }
        for (const [n, a] of answers) if (n !== this.d.self) ends.set(n, trustedEnd(a.endSeq, a.lastEpoch, p.segments));
        base = tail;
        replicas = this.chooseReplicas(R, last.replicas);
        // Re-replicate until a write quorum of the sealed segment's replicas holds the tail.
        const seq = this.newSequencer(key, epoch, store, last.replicas, own.endSeq, last.baseSeq, ends);
        while (seq.commit < tail) {
          if (!this.still(key, epoch) || seq.isDeposed || performance.now() > deadline) {
            seq.depose('recovery did not get the tail to a write quorum');
            throw new Error(`the tail [.., ${tail}) did not reach a write quorum`);
          }
          seq.tick();
          await sleep(REPLICATION_HEARTBEAT_MS / 2);
        }
        p = await this.d.meta.sealSegment(ref, epoch, last.baseSeq, tail);
        last = p.segments[p.segments.length - 1];
        this.sequencers.delete(keyOf(key));
        ends.clear();
        for (const [n, e] of seq.knownEnds()) ends.set(n, e);
      }
      if (!this.still(key, epoch)) return;
      if (own.endSeq < base) throw new Error(`this node's store ends at ${own.endSeq}, before the segment base ${base}; it cannot sequence from there`);
      if (own.endSeq > base) {
        await store.truncateTo(base);
        own = await store.fence(0);
      }
      await this.d.meta.openSegment(ref, epoch, base, replicas);
      const seq = this.newSequencer(key, epoch, store, replicas, own.endSeq, base, ends);
      seq.state = 'active';
      this.replica.noteFloor(key, base);
      this.d.log(`node ${this.d.self} sequences ${key.ns}/${key.name} shard ${key.shard} at epoch ${epoch} from seq ${base} (replicas ${replicas.join(',')}; W=${W}); recovery took ${Math.round(performance.now() - started)} ms`);
    } catch (e) {
      const s = this.sequencers.get(keyOf(key));
      if (s !== undefined && s.epoch === epoch) {
        s.depose(`recovery failed: ${(e as Error).message}`);
        this.sequencers.delete(keyOf(key));
      }
      if (!this.closed) this.d.log(`recovery of ${keyOf(key)} at epoch ${epoch} failed: ${(e as Error).message}`);
    }
  }

  private newSequencer(key: ShardKey, epoch: number, store: ReplicaStore, replicas: readonly NodeId[], localEnd: number, commit: number, ends: ReadonlyMap<NodeId, number>): ShardSequencer {
    const s = new ShardSequencer(
      {
        self: this.d.self,
        key,
        epoch,
        store,
        send: (to, msg) => this.d.cluster.sendPeer(to, msg),
        now: () => performance.now(),
        log: this.d.log,
        onCommit: (c) => this.replica.noteFloor(key, c),
        onFenced: () => undefined,
        trustedStart: (end, lastEpoch) => trustedEnd(end, lastEpoch, this.d.meta.getPlacement(key.ns, key.name, key.shard)?.segments ?? []),
      },
      replicas,
      localEnd,
      commit,
      ends,
    );
    this.sequencers.set(keyOf(key), s);
    return s;
  }

  /** R distinct nodes: this node first, then the previous set's live members, then other live voters, then the rest. */
  private chooseReplicas(R: number, previous: readonly NodeId[]): NodeId[] {
    const live = this.d.cluster.liveness();
    const up = (n: NodeId): boolean => n === this.d.self || live.get(n)?.up === true;
    const voters = [...this.d.cluster.voters].sort((a, b) => a - b);
    const order = [this.d.self, ...previous.filter(up), ...voters.filter(up), ...previous, ...voters];
    const out: NodeId[] = [];
    for (const n of order) if (!out.includes(n) && out.length < R) out.push(n);
    return out;
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
