/**
 * The replica side of record replication on this node (docs/REPLICATION.md):
 * what it does with r-append, r-commit, r-fence and r-read from sequencers.
 *
 * Messages for one shard are handled strictly one after another (a chain
 * per shard), so the store sees batches in the order they arrived and a
 * DIVERGED tail is cut before the next batch is tried.
 *
 * r-append: the records go to the local store as they are (appendStamped);
 * the store refuses a writer epoch below its fence (FENCED), a batch that
 * starts past its end (SEQ_GAP, with its end) and one that contradicts what it
 * holds (DIVERGED). A DIVERGED batch of a NEWER epoch than the store's last
 * record means the store holds an unacknowledged tail of a deposed sequencer
 * that recovery cut off (the new sequencer only writes at a seq after sealing
 * the old segment there): the tail is truncated and the batch appended. The
 * answer is r-ack with the store's end (or the error and the end).
 *
 * Every r-ack carries the store's end and its last record's epoch; the
 * sequencer decides where to send from (it knows the segments: a tail of a
 * deposed epoch is resent over, and cut here as DIVERGED above).
 *
 * Commit point for readers here: a shard follows one writer epoch at a time
 * (`follow`): the first successful r-append of a newer epoch starts
 * following it, with the end that append validated; later appends of that
 * epoch extend it, and its `commit` values (capped at that end) raise the
 * readable point. Commit values of another epoch are ignored, so a record
 * this replica holds but the current writer has not validated is never
 * served. An r-commit of an epoch it does not follow is answered RESYNC
 * with its end, and the sequencer sends from its trusted point.
 */
import type { NodeId } from '../metastore/types.js';
import type { PeerMessage } from '../cluster/peer-message.js';
import { keyOf, refOf, type ShardKey } from './messages.js';
import { errorCodeOf, gapEndSeq, type ReplicaStore } from './replica-store.js';

export interface ReplicaDeps {
  /** The local store of a shard (opened if needed); null when this node does not know the stream (yet). */
  store: (key: ShardKey) => Promise<ReplicaStore | null>;
  send: (to: NodeId, msg: PeerMessage) => boolean;
  log: (line: string) => void;
  /** Called when the commit point known here for a shard advances. */
  onCommit: (key: ShardKey, commit: number) => void;
}

interface Follow {
  /** The writer epoch this replica follows for the shard. */
  epoch: number;
  /** The end its appends validated. */
  end: number;
  /** Readable below this (committed, and validated here). */
  commit: number;
}

export class ReplicaSide {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly follows = new Map<string, Follow>();
  /** Readable points set from outside (this node's own sequencer; sealed segments checked at start). */
  private readonly floors = new Map<string, number>();

  constructor(private readonly d: ReplicaDeps) {}

  /** The readable point on this node for a shard as the replica side knows it (0: none). */
  commitOf(key: ShardKey): number {
    const k = keyOf(key);
    return Math.max(this.follows.get(k)?.commit ?? 0, this.floors.get(k) ?? 0);
  }

  /** A readable point known otherwise (this node's own sequencer's commit; verified sealed records). */
  noteFloor(key: ShardKey, readable: number): void {
    const k = keyOf(key);
    if (readable > (this.floors.get(k) ?? 0)) {
      this.floors.set(k, readable);
      this.d.onCommit(key, readable);
    }
  }

  /** This node's own sequencer stopped: what it called readable stays readable, nothing more from it. */
  forget(key: ShardKey): void {
    this.follows.delete(keyOf(key));
  }

  /** Forgets a shard (stream deleted). */
  drop(key: ShardKey): void {
    const k = keyOf(key);
    this.follows.delete(k);
    this.floors.delete(k);
    this.chains.delete(k);
  }

  private followAppend(key: ShardKey, epoch: number, end: number, commit: number): void {
    const k = keyOf(key);
    const f = this.follows.get(k);
    if (f !== undefined && epoch < f.epoch) return;
    const next: Follow = f === undefined || epoch > f.epoch ? { epoch, end, commit: 0 } : { ...f, end: Math.max(f.end, end) };
    this.follows.set(k, next);
    this.followCommit(key, epoch, commit);
  }

  private followCommit(key: ShardKey, epoch: number, commit: number): boolean {
    const f = this.follows.get(keyOf(key));
    if (f === undefined || f.epoch !== epoch) return false;
    const c = Math.min(commit, f.end);
    if (c > f.commit) {
      f.commit = c;
      this.d.onCommit(key, this.commitOf(key));
    }
    return true;
  }

  onMessage(from: NodeId, msg: PeerMessage): void {
    const b = msg.body as Record<string, unknown>;
    const key = refOf(b);
    switch (msg.kind) {
      case 'r-append': {
        const raw = msg.raw === undefined ? new Uint8Array(0) : msg.raw.slice(); // the frame's bytes are only ours during this call
        return this.serial(key, () => this.append(from, key, b, raw));
      }
      case 'r-commit':
        return this.serial(key, async () => {
          const epoch = b.epoch as number;
          if (this.followCommit(key, epoch, b.commit as number)) {
            const f = this.follows.get(keyOf(key))!;
            this.ack(from, key, epoch, f.end, 0);
            return;
          }
          const s = await this.d.store(key);
          if (s === null) return;
          const f = await s.fence(0);
          this.ack(from, key, epoch, f.endSeq, f.lastEpoch, 'RESYNC');
        });
      case 'r-fence':
        return this.serial(key, async () => {
          try {
            const s = await this.need(key);
            const f = await s.fence(b.epoch as number);
            this.d.send(from, { kind: 'r-fence-result', body: { id: b.id, endSeq: f.endSeq, lastEpoch: f.lastEpoch } });
          } catch (e) {
            this.d.send(from, { kind: 'r-fence-result', body: { id: b.id, error: errorCodeOf(e) } });
          }
        });
      case 'r-read':
        // Reads need no ordering with appends beyond the store's own: answered as they complete.
        void this.read(from, key, b);
        return;
    }
  }

  private serial(key: ShardKey, job: () => Promise<void>): void {
    const k = keyOf(key);
    const next = (this.chains.get(k) ?? Promise.resolve()).then(job).catch((e: unknown) => this.d.log(`replication of ${k}: ${(e as Error).message}`));
    this.chains.set(k, next);
  }

  private async need(key: ShardKey): Promise<ReplicaStore> {
    const s = await this.d.store(key);
    if (s === null) throw Object.assign(new Error(`this node does not know stream ${key.ns}/${key.name} (incarnation ${key.inc})`), { code: 'NOT_READY' });
    return s;
  }

  private async append(from: NodeId, key: ShardKey, b: Record<string, unknown>, raw: Uint8Array): Promise<void> {
    const epoch = b.epoch as number;
    const firstSeq = b.firstSeq as number;
    let s: ReplicaStore;
    try {
      s = await this.need(key);
    } catch {
      return; // not known here yet: no answer; the sequencer resends after RESEND_AFTER_MS
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await s.appendStamped(raw, firstSeq, epoch);
        this.followAppend(key, epoch, r.lastSeq + 1, b.commit as number);
        this.ack(from, key, epoch, r.lastSeq + 1, 0);
        return;
      } catch (e) {
        const code = errorCodeOf(e);

        if (code === 'DIVERGED' && attempt === 0) {
          const f = await s.fence(0);
          if (epoch > f.lastEpoch && firstSeq < f.endSeq) {
            this.d.log(`shard ${keyOf(key)}: cutting an unacknowledged tail of epoch ${f.lastEpoch} at seq ${firstSeq} (was ${f.endSeq}) for epoch ${epoch}`);
            await s.truncateTo(firstSeq);
            continue;
          }
        }
        const f = await s.fence(0).catch(() => null);
        this.ack(from, key, epoch, f?.endSeq ?? gapEndSeq(e) ?? 0, f?.lastEpoch ?? 0, code);
        return;
      }
    }
  }

  private async read(from: NodeId, key: ShardKey, b: Record<string, unknown>): Promise<void> {
    try {
      const s = await this.need(key);
      const r = await s.read(b.fromSeq as number, b.maxBytes as number, b.endSeq as number);
      this.d.send(from, { kind: 'r-read-result', body: { id: b.id, firstSeq: r.firstSeq, nextSeq: r.nextSeq, count: r.count }, raw: r.bytes.slice() });
    } catch (e) {
      this.d.send(from, { kind: 'r-read-result', body: { id: b.id, error: errorCodeOf(e) } });
    }
  }

  private ack(to: NodeId, key: ShardKey, epoch: number, endSeq: number, lastEpoch: number, error?: string): void {
    this.d.send(to, { kind: 'r-ack', body: { ...key, epoch, endSeq, lastEpoch, ...(error === undefined ? {} : { error }) } });
  }
}
