/**
 * The driver loop around one RaftNode (src/consensus): the pure core decides,
 * this file does the I/O it asks for, in the contract's order
 * (docs/CONSENSUS.md sections 1 and 4), on a real clock.
 *
 *   inputs  : tick (every tickMs), peer messages, propose, read, membership
 *   outputs : persist (awaited: durable before anything else of that Output),
 *             then messages (sent), installSnapshot, committed (applied in
 *             order), reads (answered once applied), refused
 *
 * Every step's Output joins one serial chain, so Outputs are handled in the
 * order the core produced them and each one's effects wait for its own and
 * every earlier persist (pipelining as the contract allows: the core may be
 * stepped again while an earlier persist is in flight).
 *
 * Proposals: propose(data) resolves with what the application's apply()
 * returned for that entry once it is committed and applied on this node, or
 * rejects with NotLeaderError (with the leader's id when known) when the
 * core refuses it, or with OutcomeUnknownError when another entry was
 * committed at its index (leadership changed; the command did not take
 * effect) or no answer came within proposeTimeoutMs (it may still take
 * effect). Reads: readBarrier() resolves once this node has applied every
 * entry committed before the call (read-index, no clock assumption).
 *
 * A failed persist is fatal (an fsync error is never retried): the driver
 * stops, every waiter rejects, and onFatal is called; the owner restarts the
 * group from what is durable.
 */
import { RaftNode, type Entry, type Input, type Message, type NodeId, type NodeStatus, type Output, type Persist, type RaftConfig, type DurableState, type Snapshot } from '../consensus/index.js';

/** Default real-time length of one Raft tick. */
export const RAFT_TICK_MS = 50;
/** A proposal without an answer after this long rejects with OutcomeUnknownError. */
export const PROPOSE_TIMEOUT_MS = 10_000;
/** Proposals waiting for their commit on this node. */
export const PENDING_PROPOSALS_MAX = 4096;
/** Applied entries between compactions (the application's snapshot replaces the log up to there). */
export const COMPACT_EVERY_ENTRIES = 1000;

/** Makes a Persist durable (snapshot, then entries, then hard state) before resolving; rejects on any I/O error. */
export interface RaftPersistence {
  persist(p: Persist): Promise<void>;
}

/** Sends a message to its `to` node; never blocks, may drop (Raft tolerates loss). */
export interface RaftTransport {
  send(msg: Message): void;
}

/** The replicated state machine. */
export interface RaftApplication {
  /** Applies a committed normal entry (its data); the return value answers the proposer on this node. */
  apply(index: number, data: Uint8Array): unknown;
  /** Replaces the state with a snapshot's (a follower that was too far behind). */
  restore(snapshot: Snapshot): void;
  /** The state as of the last applied index, as bytes (for compaction). */
  snapshotData(): Uint8Array;
}

export class NotLeaderError extends Error {
  readonly code = 'NOT_LEADER';
  constructor(readonly leaderId: NodeId | null, why: string) {
    super(leaderId === null ? `No leader is known right now (${why}); retry.` : `This node is not the leader (${why}); node ${leaderId} is.`);
    this.name = 'NotLeaderError';
  }
}

export class OutcomeUnknownError extends Error {
  readonly code = 'OUTCOME_UNKNOWN';
  constructor(message: string) {
    super(message);
    this.name = 'OutcomeUnknownError';
  }
}

export interface RaftDriverOptions {
  tickMs?: number;
  proposeTimeoutMs?: number;
  compactEveryEntries?: number;
  /** Called once when the driver stops on a fatal error (a failed persist). */
  onFatal?: (err: Error) => void;
  /** Called after each applied config entry and each role change (for status and metrics). */
  onChange?: (status: NodeStatus) => void;
}

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
}

interface ProposalWaiter extends Waiter<unknown> {
  term: number;
}

export class RaftDriver {
  private readonly node: RaftNode;
  private chain: Promise<void> = Promise.resolve();
  private ticker: NodeJS.Timeout | null = null;
  private applied: number;
  private snapshotIndex: number;
  private readonly proposals = new Map<number, ProposalWaiter>();
  private readonly reads = new Map<number, Waiter<number>>();
  /** Reads answered with an index not yet applied: resolved as apply passes it. */
  private readonly readsAt: { index: number; w: Waiter<void> }[] = [];
  private readonly configWaiters: { node: NodeId; op: 'add' | 'remove'; w: Waiter<void> }[] = [];
  private nextReadCtx = 1;
  private failed: Error | null = null;
  private stopped = false;
  private lastRole: string;
  private readonly tickMs: number;
  private readonly proposeTimeoutMs: number;
  private readonly compactEvery: number;

  constructor(
    cfg: RaftConfig,
    durable: DurableState | null,
    private readonly persistence: RaftPersistence,
    private readonly transport: RaftTransport,
    private readonly app: RaftApplication,
    private readonly opts: RaftDriverOptions = {},
  ) {
    this.node = new RaftNode(cfg, durable);
    this.applied = this.snapshotIndex = durable?.snapshot?.index ?? 0;
    if (durable?.snapshot) app.restore(durable.snapshot);
    this.lastRole = this.node.status().role;
    this.tickMs = opts.tickMs ?? RAFT_TICK_MS;
    this.proposeTimeoutMs = opts.proposeTimeoutMs ?? PROPOSE_TIMEOUT_MS;
    this.compactEvery = opts.compactEveryEntries ?? COMPACT_EVERY_ENTRIES;
  }

  get id(): NodeId {
    return this.node.id;
  }

  /** Starts the clock. */
  start(): void {
    if (this.ticker !== null || this.stopped) return;
    this.ticker = setInterval(() => this.step({ type: 'tick' }), this.tickMs);
    this.ticker.unref?.();
  }

  /** Stops the clock and rejects every waiter; handles in flight finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.rejectAll(new NotLeaderError(null, 'the node is stopping'));
    await this.chain.catch(() => undefined);
  }

  status(): NodeStatus & { applied: number } {
    return { ...this.node.status(), applied: this.applied };
  }

  /** A peer's message (checked at the edge by the transport: from/to/term are numbers). */
  receive(msg: Message): void {
    if (msg.to !== this.node.id) return; // not for us: a misrouted message is dropped, never stepped
    this.step({ type: 'message', message: msg });
  }

  /** Proposes bytes; resolves with the application's answer for them on this node. */
  propose(data: Uint8Array): Promise<unknown> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    if (this.proposals.size >= PENDING_PROPOSALS_MAX) {
      return Promise.reject(new NotLeaderError(this.node.status().leaderId || null, `${PENDING_PROPOSALS_MAX} proposals are already waiting`));
    }
    const out = this.node.step({ type: 'propose', data });
    if (out.refused !== null) {
      this.enqueue(out);
      const leader = this.node.status().leaderId;
      return Promise.reject(new NotLeaderError(leader === 0 || leader === this.node.id ? null : leader, out.refused));
    }
    const entry = out.persist.entries[out.persist.entries.length - 1]!;
    const p = new Promise<unknown>((resolve, reject) => {
      const w: ProposalWaiter = { resolve, reject, term: entry.term, timer: null };
      w.timer = setTimeout(() => {
        if (this.proposals.get(entry.index) === w) this.proposals.delete(entry.index);
        reject(new OutcomeUnknownError(`No answer for the proposal at index ${entry.index} within ${this.proposeTimeoutMs} ms; it may still take effect.`));
      }, this.proposeTimeoutMs);
      this.proposals.set(entry.index, w);
    });
    this.enqueue(out);
    return p;
  }

  /** Resolves once every entry committed before this call is applied here (linearizable read point; leader only). */
  async readBarrier(): Promise<void> {
    await this.waitApplied(await this.readIndex());
  }

  /**
   * Leader only: resolves with a read index once a quorum confirmed this node
   * still leads: every entry committed before the call is at or below it. A
   * follower asks the leader for one (forwarded by the node) and then calls
   * waitApplied(index) itself.
   */
  readIndex(): Promise<number> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    const ctx = this.nextReadCtx++;
    const p = new Promise<number>((resolve, reject) => {
      const w: Waiter<number> = { resolve, reject, timer: null };
      w.timer = setTimeout(() => {
        if (this.reads.get(ctx) === w) this.reads.delete(ctx);
        reject(new OutcomeUnknownError(`The read was not confirmed within ${this.proposeTimeoutMs} ms.`));
      }, this.proposeTimeoutMs);
      this.reads.set(ctx, w);
    });
    this.step({ type: 'read', ctx });
    return p;
  }

  /** Resolves once this node has applied `index` (rejects when the group stops or after proposeTimeoutMs). */
  waitApplied(index: number): Promise<void> {
    if (index <= this.applied) return Promise.resolve();
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    return new Promise<void>((resolve, reject) => {
      const w: Waiter<void> = { resolve, reject, timer: null };
      w.timer = setTimeout(() => {
        const i = this.readsAt.findIndex((r) => r.w === w);
        if (i >= 0) this.readsAt.splice(i, 1);
        reject(new OutcomeUnknownError(`This node did not apply index ${index} within ${this.proposeTimeoutMs} ms (applied ${this.applied}).`));
      }, this.proposeTimeoutMs);
      this.readsAt.push({ index, w });
    });
  }

  /** Adds or removes one voter (leader only, one change at a time); resolves once the change is applied here. */
  changeMembership(op: 'add' | 'remove', node: NodeId): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    const out = this.node.step({ type: 'change-membership', op, node });
    if (out.refused !== null) {
      this.enqueue(out);
      const leader = this.node.status().leaderId;
      return Promise.reject(new NotLeaderError(leader === 0 || leader === this.node.id ? null : leader, out.refused));
    }
    const p = new Promise<void>((resolve, reject) => {
      const w: Waiter<void> = { resolve, reject, timer: null };
      w.timer = setTimeout(() => {
        const i = this.configWaiters.findIndex((c) => c.w === w);
        if (i >= 0) this.configWaiters.splice(i, 1);
        reject(new OutcomeUnknownError(`The membership change (${op} ${node}) was not applied within ${this.proposeTimeoutMs} ms.`));
      }, this.proposeTimeoutMs);
      this.configWaiters.push({ node, op, w });
    });
    this.enqueue(out);
    return p;
  }

  transferLeadership(to: NodeId): void {
    this.step({ type: 'transfer-leadership', to });
  }

  private refusal(): Error | null {
    if (this.failed !== null) return this.failed;
    if (this.stopped) return new NotLeaderError(null, 'the node is stopping');
    return null;
  }

  private step(input: Input): void {
    if (this.failed !== null || this.stopped) return;
    this.enqueue(this.node.step(input));
  }

  private enqueue(out: Output): void {
    this.chain = this.chain.then(() => this.handle(out)).catch((e: unknown) => this.fail(e as Error));
  }

  private async handle(out: Output): Promise<void> {
    if (this.failed !== null) return;
    if (!isEmpty(out.persist)) await this.persistence.persist(out.persist);
    for (const m of out.messages) this.transport.send(m);
    if (out.installSnapshot !== null) {
      this.app.restore(out.installSnapshot);
      this.applied = this.snapshotIndex = out.installSnapshot.index;
      for (const [index, w] of this.proposals) if (index <= this.applied) this.settleUnknown(index, w, 'a snapshot replaced the log up to it');
    }
    for (const e of out.committed) this.applyEntry(e);
    for (const r of out.reads) this.answerRead(r.ctx, r.index, r.reason);
    this.releaseReads();
    this.maybeCompact();
    const s = this.node.status();
    if (s.role !== this.lastRole) {
      this.lastRole = s.role;
      this.opts.onChange?.(s);
    }
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.applied) return;
    let result: unknown = undefined;
    if (e.kind === 'normal' && e.data !== null) result = this.app.apply(e.index, e.data);
    this.applied = e.index;
    const w = this.proposals.get(e.index);
    if (w !== undefined) {
      this.proposals.delete(e.index);
      if (w.timer !== null) clearTimeout(w.timer);
      if (e.term === w.term && e.kind === 'normal') w.resolve(result);
      else w.reject(new OutcomeUnknownError(`Leadership changed: another entry was committed at index ${e.index}; the proposal did not take effect.`));
    }
    if (e.kind === 'config' && e.voters !== null) {
      for (let i = this.configWaiters.length - 1; i >= 0; i--) {
        const c = this.configWaiters[i]!;
        const has = e.voters.includes(c.node);
        if ((c.op === 'add' && has) || (c.op === 'remove' && !has)) {
          this.configWaiters.splice(i, 1);
          if (c.w.timer !== null) clearTimeout(c.w.timer);
          c.w.resolve();
        }
      }
      this.opts.onChange?.(this.node.status());
    }
  }

  private answerRead(ctx: number, index: number | null, reason: string): void {
    const w = this.reads.get(ctx);
    if (w === undefined) return;
    this.reads.delete(ctx);
    if (index === null) {
      if (w.timer !== null) clearTimeout(w.timer);
      const leader = this.node.status().leaderId;
      w.reject(new NotLeaderError(leader === 0 || leader === this.node.id ? null : leader, `read refused: ${reason}`));
      return;
    }
    if (w.timer !== null) clearTimeout(w.timer);
    w.resolve(index);
  }

  private releaseReads(): void {
    for (let i = this.readsAt.length - 1; i >= 0; i--) {
      const r = this.readsAt[i]!;
      if (r.index <= this.applied) {
        this.readsAt.splice(i, 1);
        if (r.w.timer !== null) clearTimeout(r.w.timer);
        r.w.resolve();
      }
    }
  }

  private maybeCompact(): void {
    if (this.applied - this.snapshotIndex < this.compactEvery) return;
    const index = this.applied;
    this.snapshotIndex = index;
    this.enqueue(this.node.step({ type: 'compact', index, data: this.app.snapshotData() }));
  }

  private settleUnknown(index: number, w: ProposalWaiter, why: string): void {
    this.proposals.delete(index);
    if (w.timer !== null) clearTimeout(w.timer);
    w.reject(new OutcomeUnknownError(`The proposal at index ${index} has no answer: ${why}.`));
  }

  private fail(err: Error): void {
    if (this.failed !== null) return;
    this.failed = new Error(`The Raft group stopped: ${err.message}`);
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.rejectAll(this.failed);
    this.opts.onFatal?.(err);
  }

  private rejectAll(err: Error): void {
    for (const [, w] of this.proposals) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.reject(err);
    }
    this.proposals.clear();
    for (const [, w] of this.reads) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.reject(err);
    }
    this.reads.clear();
    for (const r of this.readsAt.splice(0)) {
      if (r.w.timer !== null) clearTimeout(r.w.timer);
      r.w.reject(err);
    }
    for (const c of this.configWaiters.splice(0)) {
      if (c.w.timer !== null) clearTimeout(c.w.timer);
      c.w.reject(err);
    }
  }
}

function isEmpty(p: Persist): boolean {
  return p.snapshot === null && p.entries.length === 0 && p.hardState === null;
}
