/**
 * One shard's sequencer on this node, for one epoch (docs/REPLICATION.md,
 * "The write path").
 *
 * The local shard worker stamps each producer batch (seq, appendTime, this
 * epoch) and writes it; the stamped copy it returns is sent, byte for byte,
 * to every other replica of the active segment (peer kind r-append, raw
 * body). Each replica answers r-ack with its end; the commit point is the
 * W-th highest end among the replicas (this node's own store counts when it
 * is one of them), W = floor(R/2) + 1. An append with acks=quorum is answered
 * once the commit point passed its last record.
 *
 * Per replica the sequencer keeps `sentEnd` (sent up to) and `ackedEnd`.
 * It sends only what starts exactly at sentEnd: from the recent-batch cache
 * when it has it, else read back from its own store (catch-up of a replica
 * that was down or lost messages). A SEQ_GAP answer moves sentEnd back to the
 * replica's end; unacknowledged bytes older than RESEND_AFTER_MS move it back
 * to ackedEnd (a link that dropped messages). Bytes in flight per replica are
 * bounded (REPLICA_IN_FLIGHT_BYTES_MAX); stamped-but-uncommitted bytes per
 * shard are bounded (UNCOMMITTED_BYTES_MAX) and producers wait past it.
 *
 * Invariants asserted: local appends arrive in seq order with no gap; the
 * commit point never decreases and never passes the local end; an ack never
 * claims more than was sent. A FENCED answer deposes the sequencer: every
 * waiting append fails FENCED, and no later append is taken.
 */
import { ProtocolError } from '../node/protocol-error.js';
import type { NodeId } from '../metastore/types.js';
import type { PeerMessage } from '../cluster/peer-message.js';
import { CATCH_UP_READ_BYTES_MAX, QUORUM_WAIT_MS_MAX, RECENT_BATCH_BYTES_MAX, REPLICA_IN_FLIGHT_BYTES_MAX, RESEND_AFTER_MS, UNCOMMITTED_BYTES_MAX } from './limits.js';
import type { ShardKey } from './messages.js';
import type { ReplicaStore } from './replica-store.js';

export type Acks = 'none' | 'leader' | 'quorum';

interface Batch {
  firstSeq: number;
  endSeq: number;
  bytes: Uint8Array;
  count: number;
}

interface Peer {
  id: NodeId;
  /** Sent up to here; null until the replica's end is known (a fence answer or an r-ack): nothing is sent before. */
  sentEnd: number | null;
  ackedEnd: number;
  /** Sent, unacknowledged: [endSeq, bytes] in send order. */
  inFlight: { endSeq: number; bytes: number }[];
  inFlightBytes: number;
  lastProgressAt: number;
  reading: boolean;
  lastCommitSent: number;
  lastSendAt: number;
}

interface Waiter {
  endSeq: number;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface SequencerDeps {
  self: NodeId;
  key: ShardKey;
  epoch: number;
  store: ReplicaStore;
  send: (to: NodeId, msg: PeerMessage) => boolean;
  now: () => number;
  log: (line: string) => void;
  /** Called whenever the commit point advances. */
  onCommit: (commit: number) => void;
  /** Called once when a replica's FENCED answer deposes this sequencer. */
  onFenced: () => void;
  /** Where to start sending to a replica whose store ends at endSeq with a last record of lastEpoch (verify-end.ts trustedEnd over the current segments). */
  trustedStart: (endSeq: number, lastEpoch: number) => number;
}

export function writeQuorum(replicas: number): number {
  return Math.floor(replicas / 2) + 1;
}

export class ShardSequencer {
  /** Seq after the last record in this node's store. */
  localEnd: number;
  /** Seq after the last committed record. */
  commit: number;
  private replicas: readonly NodeId[];
  private readonly peers = new Map<NodeId, Peer>();
  private recent: Batch[] = [];
  private recentBytes = 0;
  private uncommittedBytes = 0;
  private readonly uncommitted: { endSeq: number; bytes: number }[] = [];
  private waiters: Waiter[] = [];
  private roomWaiters: (() => void)[] = [];
  private deposed: Error | null = null;
  /** 'recovering': sends catch-up only (no producer appends); 'active': takes appends. */
  state: 'recovering' | 'active' = 'recovering';

  constructor(
    private readonly d: SequencerDeps,
    replicas: readonly NodeId[],
    localEnd: number,
    commit: number,
    /** Trusted replica ends (from fence answers); the others are asked first (r-commit, answered with their end). */
    knownEnds: ReadonlyMap<NodeId, number>,
  ) {
    this.localEnd = localEnd;
    this.commit = Math.min(commit, localEnd);
    this.replicas = replicas;
    this.setReplicas(replicas, knownEnds);
  }

  get epoch(): number {
    return this.d.epoch;
  }

  get isDeposed(): boolean {
    return this.deposed !== null;
  }

  get replicaSet(): readonly NodeId[] {
    return this.replicas;
  }

  /** Per replica: acknowledged end (this node: its store's end). */
  replicaEnds(): Map<NodeId, number> {
    const m = new Map<NodeId, number>();
    for (const r of this.replicas) m.set(r, r === this.d.self ? this.localEnd : (this.peers.get(r)?.ackedEnd ?? 0));
    return m;
  }

  /** Acknowledged ends of the replicas whose end is known (not this node). */
  knownEnds(): Map<NodeId, number> {
    const m = new Map<NodeId, number>();
    for (const p of this.peers.values()) if (p.sentEnd !== null) m.set(p.id, p.ackedEnd);
    return m;
  }

  /** The replica set of the segment being written (a new segment after recovery). */
  setReplicas(replicas: readonly NodeId[], knownEnds: ReadonlyMap<NodeId, number> = new Map()): void {
    this.replicas = [...replicas];
    for (const id of replicas) {
      if (id === this.d.self || this.peers.has(id)) continue;
      const known = knownEnds.get(id);
      const end = known === undefined ? null : Math.min(known, this.localEnd);
      this.peers.set(id, { id, sentEnd: end, ackedEnd: end ?? 0, inFlight: [], inFlightBytes: 0, lastProgressAt: this.d.now(), reading: false, lastCommitSent: -1, lastSendAt: 0 });
    }
    for (const id of [...this.peers.keys()]) if (!replicas.includes(id)) this.peers.delete(id);
    this.recomputeCommit();
    for (const p of this.peers.values()) this.pump(p);
  }

  /**
   * A producer batch: stamped and stored locally, replicated, answered per
   * `acks`. Throws ProtocolError (FENCED, NOT_ENOUGH_REPLICAS, NOT_READY).
   */
  async append(records: Uint8Array, acks: Acks): Promise<{ firstSeq: number; lastSeq: number; count: number; appendTime: number; duplicate: boolean }> {
    if (this.deposed !== null) throw this.deposed;
    if (this.state !== 'active') throw new ProtocolError('NOT_READY', `The sequencer of shard ${this.d.key.shard} is recovering; retry.`);
    while (this.uncommittedBytes >= UNCOMMITTED_BYTES_MAX && this.deposed === null) await new Promise<void>((r) => this.roomWaiters.push(r));
    if (this.deposed !== null) throw this.deposed;
    const r = await this.d.store.append(records, { returnStamped: true });
    if (!r.duplicate && r.count > 0) {
      if (r.stamped === undefined) throw new Error('invariant: the store returned no stamped copy of an appended batch');
      this.onLocalAppend({ firstSeq: r.firstSeq, endSeq: r.lastSeq + 1, bytes: r.stamped, count: r.count });
    }
    const result = { firstSeq: r.firstSeq, lastSeq: r.lastSeq, count: r.count, appendTime: r.appendTime, duplicate: r.duplicate };
    if (acks !== 'quorum' || r.count === 0) return result;
    await this.waitCommit(r.lastSeq + 1);
    return result;
  }

  /** Resolves once the commit point reaches endSeq; NOT_ENOUGH_REPLICAS after QUORUM_WAIT_MS_MAX; FENCED if deposed. */
  waitCommit(endSeq: number): Promise<void> {
    if (this.commit >= endSeq) return Promise.resolve();
    if (this.deposed !== null) return Promise.reject(this.deposed);
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        endSeq,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          const acked = [...this.replicaEnds().values()].filter((e) => e >= endSeq).length;
          const quorum = writeQuorum(this.replicas.length);
          reject(new ProtocolError('NOT_ENOUGH_REPLICAS', `Only ${acked} of the ${quorum} replicas a write quorum needs stored the batch within ${QUORUM_WAIT_MS_MAX} ms; its outcome is unknown (an idempotent retry is safe).`, { acked, quorum }));
        }, QUORUM_WAIT_MS_MAX),
      };
      this.waiters.push(w);
    });
  }

  /** A batch the local store wrote (also re-replicated tails during recovery: pass them through here). */
  onLocalAppend(b: Batch): void {
    if (b.firstSeq !== this.localEnd) {
      this.depose(`invariant: a local append at seq ${b.firstSeq} does not follow the local end ${this.localEnd}`);
      return;
    }
    this.localEnd = b.endSeq;
    this.recent.push(b);
    this.recentBytes += b.bytes.length;
    this.uncommitted.push({ endSeq: b.endSeq, bytes: b.bytes.length });
    this.uncommittedBytes += b.bytes.length;
    while (this.recentBytes > RECENT_BATCH_BYTES_MAX && this.recent.length > 1) this.recentBytes -= this.recent.shift()!.bytes.length;
    for (const p of this.peers.values()) this.pump(p);
    this.recomputeCommit();
  }

  /** Local end moved without a batch in hand (recovery copied records into the store). */
  setLocalEnd(end: number): void {
    if (end < this.localEnd) throw new Error(`invariant: the local end cannot move back (${this.localEnd} -> ${end})`);
    this.localEnd = end;
    for (const p of this.peers.values()) this.pump(p);
    this.recomputeCommit();
  }

  /** An r-ack from a replica: its end (and its last record's epoch), or an error with them. */
  onAck(from: NodeId, endSeq: number, lastEpoch: number, error: string | undefined): void {
    const p = this.peers.get(from);
    if (p === undefined || this.deposed !== null) return;
    if (error === 'FENCED') {
      this.depose(`node ${from} fenced epoch ${this.d.epoch} of shard ${this.d.key.shard}: a newer sequencer took over`);
      this.d.onFenced();
      return;
    }
    if (error !== undefined) {
      // SEQ_GAP (lost messages, a restart), RESYNC (it does not follow this epoch yet) or a refusal: resend
      // from the end it reports, cut back to what the segments prove right (a deposed epoch's tail is resent over).
      if (error !== 'SEQ_GAP' && error !== 'RESYNC') this.d.log(`replica ${from} refused shard ${this.d.key.shard} records at ${p.sentEnd} (${error}); resending from its trusted end`);
      p.sentEnd = Math.min(this.d.trustedStart(endSeq, lastEpoch), this.localEnd);
      // A replica that holds everything but does not follow this epoch yet (it restarted while the shard was
      // idle) gets the last record again: it compares it, follows, and serves what it holds.
      if (error === 'RESYNC' && p.sentEnd > 0 && p.sentEnd >= this.localEnd) p.sentEnd = this.localEnd - 1;
      p.ackedEnd = Math.min(p.ackedEnd, p.sentEnd);
      p.inFlight = [];
      p.inFlightBytes = 0;
      p.lastProgressAt = this.d.now();
      this.pump(p);
      return;
    }
    if (p.sentEnd === null) return; // an answer to a message of before (a previous life of this peer entry)
    if (endSeq > p.sentEnd && endSeq > this.localEnd) {
      this.depose(`invariant: replica ${from} acknowledged shard ${this.d.key.shard} up to ${endSeq}, past what was sent (${p.sentEnd}) and stored (${this.localEnd})`);
      return;
    }
    if (endSeq > p.ackedEnd) {
      p.ackedEnd = endSeq;
      p.lastProgressAt = this.d.now();
    }
    if (endSeq > p.sentEnd) p.sentEnd = endSeq; // it held more than we knew (a resend it skipped)
    while (p.inFlight.length > 0 && p.inFlight[0]!.endSeq <= p.ackedEnd) p.inFlightBytes -= p.inFlight.shift()!.bytes;
    this.recomputeCommit();
    this.pump(p);
  }

  /** Heartbeat: resend what a link lost, send the commit point to idle replicas. */
  tick(): void {
    if (this.deposed !== null) return;
    const now = this.d.now();
    for (const p of this.peers.values()) {
      if (p.sentEnd === null) {
        // Not known yet: ask (the replica answers r-commit of an epoch it does not follow with RESYNC and its end).
        if (now - p.lastSendAt > RESEND_AFTER_MS / 2 && this.d.send(p.id, { kind: 'r-commit', body: { ...this.d.key, epoch: this.d.epoch, commit: this.commit } })) p.lastSendAt = now;
        continue;
      }
      if (p.sentEnd > p.ackedEnd && now - p.lastProgressAt > RESEND_AFTER_MS) {
        p.sentEnd = p.ackedEnd;
        p.inFlight = [];
        p.inFlightBytes = 0;
        p.lastProgressAt = now;
      }
      this.pump(p);
      if (p.sentEnd >= this.localEnd && (p.lastCommitSent !== this.commit || now - p.lastSendAt > RESEND_AFTER_MS)) {
        if (this.d.send(p.id, { kind: 'r-commit', body: { ...this.d.key, epoch: this.d.epoch, commit: this.commit } })) {
          p.lastCommitSent = this.commit;
          p.lastSendAt = now;
        }
      }
    }
  }

  /** Stops taking appends; every waiter fails with `reason` (FENCED). */
  depose(reason: string): void {
    if (this.deposed !== null) return;
    this.d.log(`sequencer of ${this.d.key.ns}/${this.d.key.name} shard ${this.d.key.shard} epoch ${this.d.epoch} stops: ${reason}`);
    this.deposed = new ProtocolError('FENCED', `This node no longer sequences shard ${this.d.key.shard} (epoch ${this.d.epoch}): ${reason}.`);
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(this.deposed);
    }
    this.waiters = [];
    for (const r of this.roomWaiters) r();
    this.roomWaiters = [];
    this.recent = [];
    this.recentBytes = 0;
  }

  private recomputeCommit(): void {
    const ends = [...this.replicaEnds().values()].sort((a, b) => b - a);
    const w = writeQuorum(this.replicas.length);
    const c = Math.min(ends[w - 1] ?? 0, this.localEnd);
    if (c <= this.commit) return;
    this.commit = c;
    while (this.uncommitted.length > 0 && this.uncommitted[0]!.endSeq <= c) this.uncommittedBytes -= this.uncommitted.shift()!.bytes;
    if (this.uncommittedBytes < UNCOMMITTED_BYTES_MAX) {
      for (const r of this.roomWaiters) r();
      this.roomWaiters = [];
    }
    const ready = this.waiters.filter((w) => w.endSeq <= c);
    if (ready.length > 0) {
      this.waiters = this.waiters.filter((w) => w.endSeq > c);
      for (const w of ready) {
        clearTimeout(w.timer);
        w.resolve();
      }
    }
    this.d.onCommit(c);
  }

  /** Sends what starts at the replica's sentEnd, while its in-flight bound allows. */
  private pump(p: Peer): void {
    while (this.deposed === null && p.sentEnd !== null && p.sentEnd < this.localEnd && p.inFlightBytes < REPLICA_IN_FLIGHT_BYTES_MAX && !p.reading) {
      const at = p.sentEnd;
      const b = this.recent.find((x) => x.firstSeq <= at && at < x.endSeq);
      if (b === undefined) {
        this.readBack(p);
        return;
      }
      // A resend from inside a cached batch sends the whole batch: the replica skips what it holds.
      if (!this.sendBatch(p, b.firstSeq, b.endSeq, b.count, b.bytes)) return;
    }
  }

  private sendBatch(p: Peer, firstSeq: number, endSeq: number, count: number, bytes: Uint8Array): boolean {
    const ok = this.d.send(p.id, { kind: 'r-append', body: { ...this.d.key, epoch: this.d.epoch, firstSeq, count, commit: this.commit }, raw: bytes });
    if (!ok) return false; // no link or its queue is full: the heartbeat tries again
    if (p.sentEnd === p.ackedEnd) p.lastProgressAt = this.d.now();
    p.sentEnd = endSeq;
    p.inFlight.push({ endSeq, bytes: bytes.length });
    p.inFlightBytes += bytes.length;
    p.lastSendAt = this.d.now();
    p.lastCommitSent = this.commit;
    return true;
  }

  /** Catch-up: records older than the cache, read back from this node's store. */
  private readBack(p: Peer): void {
    p.reading = true;
    const from = p.sentEnd!;
    this.d.store.read(from, CATCH_UP_READ_BYTES_MAX, this.localEnd).then(
      (r) => {
        p.reading = false;
        if (this.deposed !== null || !this.peers.has(p.id) || p.sentEnd !== from) return this.pump(p);
        if (r.count === 0) return;
        const copy = r.bytes.slice();
        if (this.sendBatch(p, from, r.nextSeq, r.count, copy)) this.pump(p);
      },
      (e: unknown) => {
        p.reading = false;
        this.d.log(`catch-up read of shard ${this.d.key.shard} from seq ${from} for node ${p.id} failed: ${(e as Error).message}`);
      },
    );
  }
}
