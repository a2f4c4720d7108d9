/**
 * One deterministic simulation run: a cluster of RaftNodes, a simulated clock,
 * a faulty network (delay, drop, duplication, reordering, symmetric and
 * asymmetric partitions), crashes that keep only synced state, restarts, client
 * proposals, reads, compactions, membership changes and leadership transfers.
 * Everything is drawn from one seed.
 *
 * Phases: faults for `faultMs`, then everything heals (all nodes up, no loss)
 * and a marker proposal must be applied by every committed voter within
 * `livenessBoundMs`.
 *
 * The replicated state machine is the MetaStore's (src/metastore/
 * state-machine.ts): clients propose encoded MetaCommands (meta-workload.ts),
 * every node applies committed entries with apply(), snapshots carry the
 * MetaState (meta-state.ts). Each client operation is recorded (invoke time,
 * the time the proposing node applied it and answered, the answer — or
 * unknown), reads go through read-index, and at the end of the run the
 * history is checked for linearizability against apply() itself
 * (meta-model.ts, linearizability.ts).
 */
import { RaftNode } from '../consensus/raft-node.js';
import type { Entry, InjectedBug, Input, Message, NodeId, Output, RaftConfig, Snapshot } from '../consensus/types.js';
import { emptyState, type ApplyResult, type MetaState } from '../metastore/state-machine.js';
import { InvariantChecker, chainNext, type LeaderView } from './checker.js';
import { EventQueue } from './event-queue.js';
import { applyCommand, checkMetaHistory, type MetaInput } from './meta-model.js';
import { decodeProposal, decodeSimSnapshot, encodeProposal, encodeSimSnapshot, metaStateHash, readKey, resultKey, type Proposal } from './meta-state.js';
import { MetaWorkload } from './meta-workload.js';
import { Partitions, drawPartition, nodeIdLimit } from './partitions.js';
import { Prng } from './prng.js';
import { SimDisk } from './sim-disk.js';
import { Trace } from './trace.js';

export interface SimOptions {
  readonly seed: number;
  /** Initial voters (one more node is created as a spare for membership changes). Default: 3 or 5, by seed. */
  readonly nodes?: number;
  readonly bug?: InjectedBug | null;
  readonly faultMs?: number;
  readonly livenessBoundMs?: number;
  readonly convergenceBoundMs?: number;
  readonly traceLength?: number;
  /**
   * Run the durable-quorum check ("no committed entry lost") after every sync
   * (default true). Off, only the consequences of a loss can be caught
   * (leader completeness, state machine safety): used to show that an
   * injected bug does real damage, not only a bookkeeping one.
   */
  readonly durableCheck?: boolean;
  /**
   * Compare every answered read index with the commits made before the read
   * (default true). Off, a stale read can only be caught by the
   * linearizability check of the MetaStore history: used to prove that check.
   */
  readonly readIndexCheck?: boolean;
}

/** What a run exercised (tests assert the features are really reached). */
export interface SimStats {
  elections: number;
  crashes: number;
  partitions: number;
  proposalsAccepted: number;
  readsServed: number;
  compactions: number;
  snapshotsInstalled: number;
  configChangesCommitted: number;
  transfersStarted: number;
  /** MetaStore commands answered with ok / with a MetaError, never answered (unknown), or known not applied (their log slot went to another entry). */
  metaOpsOk: number;
  metaOpsFailed: number;
  metaOpsUnknown: number;
  metaOpsDropped: number;
  /** Read-index reads answered (part of the checked history). */
  metaReads: number;
  /** Per-stream histories found linearizable / given up on as too complex. */
  linearizabilityChecksPassed: number;
  linearizabilityTooComplex: number;
}

export function emptyStats(): SimStats {
  return {
    elections: 0, crashes: 0, partitions: 0, proposalsAccepted: 0, readsServed: 0, compactions: 0, snapshotsInstalled: 0, configChangesCommitted: 0, transfersStarted: 0,
    metaOpsOk: 0, metaOpsFailed: 0, metaOpsUnknown: 0, metaOpsDropped: 0, metaReads: 0, linearizabilityChecksPassed: 0, linearizabilityTooComplex: 0,
  };
}

export interface SeedResult {
  readonly seed: number;
  readonly nodes: number;
  readonly steps: number;
  readonly events: number;
  readonly simulatedMs: number;
  readonly committed: number;
  /** Simulated ms from the heal to the marker proposal being committed (null if not reached). */
  readonly livenessMs: number | null;
  /** Simulated ms from the heal to every committed voter having applied the marker (null if not reached). */
  readonly convergenceMs: number | null;
  readonly violation: string | null;
  readonly trace: readonly string[];
  readonly traceHash: number;
  readonly stats: SimStats;
}

export const simDefaults = {
  tickMs: 10,
  faultMs: 2000,
  livenessBoundMs: 5000,
  convergenceBoundMs: 10000,
  traceLength: 40,
  electionTicks: 10,
  heartbeatTicks: 2,
  compactGapEntries: 24,
  uncommittedEntriesMax: 256,
  pendingReadsMax: 64,
  /** A crashed node restarts after downMinMs + [0, downSpreadMs). */
  downMinMs: 20,
  downSpreadMs: 600,
  /** A partition lasts partitionMinMs + [0, partitionSpreadMs). */
  partitionMinMs: 50,
  partitionSpreadMs: 750,
  /** Liveness phase: re-propose the marker after markerRetryMs, poll every livePollMs. */
  markerRetryMs: 100,
  livePollMs: 5,
  /** Chance that a membership change is followed at once by a second one (refused by a correct core: one at a time). */
  doubleChangeChance: 0.5,
} as const;

type SimEvent =
  | { readonly k: 'tick'; readonly node: NodeId; readonly inc: number }
  | { readonly k: 'deliver'; readonly msg: Message }
  | { readonly k: 'sync'; readonly node: NodeId; readonly inc: number }
  | { readonly k: 'restart'; readonly node: NodeId }
  | { readonly k: 'client' }
  | { readonly k: 'fault' }
  | { readonly k: 'unblock'; readonly links: readonly number[] }
  | { readonly k: 'heal-all' }
  | { readonly k: 'live' }
  | { readonly k: 'deadline'; readonly what: 'commit' | 'converge' };

interface PendingOutput {
  readonly out: Output;
  readonly term: number;
}

interface SimNode {
  readonly id: NodeId;
  raft: RaftNode | null;
  inc: number;
  readonly disk: SimDisk;
  pending: PendingOutput[];
  syncScheduled: boolean;
  wasLeader: boolean;
  /** The application: applied index, hash chain over applied entries, and the MetaStore state. */
  applied: number;
  chain: number;
  meta: MetaState;
  /** Client operations this node accepted as leader, by log index (answered when that index is applied here). */
  proposals: Map<number, number>;
  /** Read-index reads granted, waiting until `applied` reaches their index. */
  waitingReads: { index: number; read: PendingRead }[];
}

interface PendingRead {
  readonly opId: number;
  readonly namespace: string;
  readonly name: string;
  readonly invokeMs: number;
}

/** One client operation in the history the linearizability checker gets. */
interface HistoryOp {
  readonly id: number;
  readonly invokeMs: number;
  completeMs: number | null;
  readonly input: MetaInput;
  output: string | null;
  /** dropped: its log slot was applied with another entry, so it never takes effect. */
  fate: 'pending' | 'done' | 'dropped';
}

interface Params {
  dropRate: number;
  dupRate: number;
  delayMaxMs: number;
  syncDelayMaxMs: number;
  clientGapMaxMs: number;
  faultGapMaxMs: number;
  membership: boolean;
  appendEntriesMax: number;
  inFlightEntriesMax: number;
}

export class Simulation {
  private readonly rng: Prng;
  private readonly q = new EventQueue<SimEvent>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly disks = new Map<NodeId, SimDisk>();
  private readonly checker: InvariantChecker;
  private readonly trace: Trace;
  private readonly p: Params;
  private readonly voterCount: number;
  private readonly faultMs: number;
  private readonly boundMs: number;
  private readonly convergeBoundMs: number;
  private readonly bugs: ReadonlySet<InjectedBug>;
  private readonly partitions = new Partitions();
  private readonly initialVoters = new Map<NodeId, readonly NodeId[]>();
  private readonly readsAt = new Map<number, number>();
  private now = 0;
  private steps = 0;
  private events = 0;
  private healed = false;
  private done = false;
  private nextCtx = 1;
  private markerIndex = 0;
  private markerLastProposedMs = -1e9;
  private livenessMs: number | null = null;
  private convergenceMs: number | null = null;
  private readonly stats = emptyStats();
  private readonly workload: MetaWorkload;
  private nextOpId = 1;
  private readonly history = new Map<number, HistoryOp>();
  private readonly readOps = new Map<number, PendingRead>();
  /** Op id -> the log index it was committed at (first apply of each index). */
  private readonly committedOps = new Map<number, number>();

  constructor(private readonly opts: SimOptions) {
    this.rng = new Prng(opts.seed);
    const drawn = this.rng.pick([3, 5]);
    this.voterCount = opts.nodes ?? drawn;
    if (this.voterCount < 1 || this.voterCount + 1 >= nodeIdLimit) throw new Error(`sim: nodes must be 1..${nodeIdLimit - 2} (got ${this.voterCount})`);
    this.faultMs = opts.faultMs ?? simDefaults.faultMs;
    this.boundMs = opts.livenessBoundMs ?? simDefaults.livenessBoundMs;
    this.convergeBoundMs = opts.convergenceBoundMs ?? simDefaults.convergenceBoundMs;
    this.trace = new Trace(opts.traceLength ?? simDefaults.traceLength);
    this.bugs = new Set(opts.bug ? [opts.bug] : []);
    this.p = this.drawParams();
    this.workload = new MetaWorkload(this.rng.fork(), range(1, this.voterCount + 1));
    const voters = range(1, this.voterCount);
    this.checker = new InvariantChecker(voters);
    for (let id = 1; id <= this.voterCount + 1; id++) this.addNode(id, id <= this.voterCount ? voters : []);
    this.q.push(this.rng.int(20), { k: 'client' });
    this.q.push(this.rng.int(100), { k: 'fault' });
    this.q.push(this.faultMs, { k: 'heal-all' });
    this.q.push(this.faultMs + this.boundMs, { k: 'deadline', what: 'commit' });
    this.q.push(this.faultMs + this.convergeBoundMs, { k: 'deadline', what: 'converge' });
  }

  private drawParams(): Params {
    const r = this.rng;
    return {
      dropRate: r.pick([0, 0.02, 0.1, 0.25]),
      dupRate: r.pick([0, 0.02, 0.1]),
      delayMaxMs: r.pick([2, 10, 30]),
      syncDelayMaxMs: r.pick([0, 1, 5]),
      clientGapMaxMs: r.pick([4, 10, 30]),
      faultGapMaxMs: r.pick([60, 200, 600]),
      membership: r.chance(0.5),
      appendEntriesMax: r.pick([1, 4, 16]),
      inFlightEntriesMax: r.pick([8, 32, 128]),
    };
  }

  private raftConfig(id: NodeId, initialVoters: readonly NodeId[]): RaftConfig {
    const nodeRng = this.rng.fork();
    return {
      id, initialVoters,
      heartbeatTicks: simDefaults.heartbeatTicks,
      electionTicks: simDefaults.electionTicks,
      appendEntriesMax: this.p.appendEntriesMax,
      inFlightEntriesMax: this.p.inFlightEntriesMax,
      uncommittedEntriesMax: simDefaults.uncommittedEntriesMax,
      pendingReadsMax: simDefaults.pendingReadsMax,
      randomInt: (n) => nodeRng.int(n),
      injectedBugs: this.bugs,
    };
  }

  private addNode(id: NodeId, initialVoters: readonly NodeId[]): void {
    const disk = new SimDisk();
    const n: SimNode = { id, raft: null, inc: 0, disk, pending: [], syncScheduled: false, wasLeader: false, applied: 0, chain: 0, meta: emptyState(), proposals: new Map(), waitingReads: [] };
    this.nodes.set(id, n);
    this.disks.set(id, disk);
    this.initialVoters.set(id, initialVoters);
    this.start(n, this.rng.int(simDefaults.tickMs));
  }

  private start(n: SimNode, firstTickMs: number): void {
    n.inc++;
    n.raft = new RaftNode(this.raftConfig(n.id, this.initialVoters.get(n.id) ?? []), n.disk.durableState());
    n.pending = [];
    n.syncScheduled = false;
    n.wasLeader = false;
    n.proposals = new Map();
    n.waitingReads = [];
    const s = n.disk.snapshot;
    n.applied = s?.index ?? 0;
    const image = s === null ? { chain: 0, state: emptyState() } : decodeSimSnapshot(s.data);
    n.chain = image.chain;
    n.meta = image.state;
    this.q.push(this.now + firstTickMs, { k: 'tick', node: n.id, inc: n.inc });
  }

  // ------------------------------------------------------------ main loop

  run(): SeedResult {
    for (;;) {
      const ev = this.q.pop();
      if (ev === undefined || this.done || this.checker.violation !== null) break;
      this.now = ev.time;
      this.events++;
      try {
        this.handle(ev.event);
      } catch (err) {
        // A broken internal assertion (in the core or the disk contract) is a violation too, with its trace.
        this.checker.violation ??= `exception: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    if (this.checker.violation === null) this.checkHistory();
    if (this.checker.violation !== null) this.trace.note(this.now, 0, `VIOLATION ${this.checker.violation}`);
    return {
      seed: this.opts.seed, nodes: this.voterCount, steps: this.steps, events: this.events, simulatedMs: this.now,
      committed: this.checker.maxCommitted, livenessMs: this.livenessMs, convergenceMs: this.convergenceMs, violation: this.checker.violation,
      trace: this.checker.violation === null ? [] : this.trace.lines(), traceHash: this.trace.hash, stats: this.stats,
    };
  }

  private handle(ev: SimEvent): void {
    switch (ev.k) {
      case 'tick': return this.onTick(ev.node, ev.inc);
      case 'deliver': return this.onDeliver(ev.msg);
      case 'sync': return this.onSync(ev.node, ev.inc);
      case 'restart': return this.restart(ev.node);
      case 'client': return this.onClient();
      case 'fault': return this.onFault();
      case 'unblock': return this.unblock(ev.links);
      case 'heal-all': return this.healAll();
      case 'live': return this.onLive();
      case 'deadline': return this.onDeadline(ev.what);
    }
  }

  private onTick(id: NodeId, inc: number): void {
    const n = this.nodes.get(id) as SimNode;
    if (n.inc !== inc || n.raft === null) return;
    this.trace.fold(this.now, id, 1);
    this.stepNode(n, { type: 'tick' });
    this.q.push(this.now + simDefaults.tickMs, { k: 'tick', node: id, inc });
  }

  private onDeliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (n === undefined || n.raft === null || this.partitions.isBlocked(m.from, m.to)) return;
    this.trace.note(this.now, m.to, 'recv', m);
    this.stepNode(n, { type: 'message', message: m });
  }

  // ------------------------------------------------------------ stepping and outputs

  private stepNode(n: SimNode, input: Input): Output {
    const raft = n.raft as RaftNode;
    const out = raft.step(input);
    this.steps++;
    const st = raft.status();
    const isLeader = st.role === 'leader';
    if (isLeader) {
      if (!n.wasLeader) {
        this.stats.elections++;
        this.trace.note(this.now, n.id, `became leader of term ${st.term}`);
      }
      this.checker.onLeader(this.leaderView(raft), !n.wasLeader);
    }
    n.wasLeader = isLeader;
    this.handleOutput(n, out, st.term);
    return out;
  }

  private leaderView(r: RaftNode): LeaderView {
    const st = r.status();
    return { id: st.id, term: st.term, snapshotIndex: st.snapshotIndex, termAt: (i) => r.termAt(i) };
  }

  private handleOutput(n: SimNode, out: Output, term: number): void {
    const p = out.persist;
    const hasPersist = p.snapshot !== null || p.entries.length > 0 || p.hardState !== null;
    const hasEffect = out.messages.length > 0 || out.committed.length > 0 || out.reads.length > 0 || out.installSnapshot !== null;
    if (!hasPersist && !hasEffect) return;
    if (!hasPersist && n.pending.length === 0) return this.release(n, out, term);
    n.pending.push({ out, term });
    if (n.syncScheduled) return;
    n.syncScheduled = true;
    this.q.push(this.now + this.rng.int(this.p.syncDelayMaxMs + 1), { k: 'sync', node: n.id, inc: n.inc });
  }

  /** The harness's fsync: make pending writes durable, then let their effects out, in order. */
  private onSync(id: NodeId, inc: number): void {
    const n = this.nodes.get(id) as SimNode;
    if (n.inc !== inc || n.raft === null) return;
    n.syncScheduled = false;
    const batch = n.pending;
    n.pending = [];
    for (const { out, term } of batch) {
      n.disk.apply(out.persist);
      for (const e of out.persist.entries) this.checker.onPersisted(id, e, n.disk.term(e.index - 1) as number);
      this.release(n, out, term);
    }
    if (this.opts.durableCheck !== false) this.checker.checkDurable(this.disks);
  }

  private release(n: SimNode, out: Output, term: number): void {
    for (const m of out.messages) this.send(m);
    if (out.installSnapshot !== null) this.loadSnapshot(n, out.installSnapshot);
    for (const e of out.committed) this.apply(n, e, term);
    for (const r of out.reads) {
      const at = this.readsAt.get(r.ctx);
      this.readsAt.delete(r.ctx);
      const read = this.readOps.get(r.ctx);
      this.readOps.delete(r.ctx);
      if (r.index !== null && at !== undefined) {
        this.stats.readsServed++;
        if (this.opts.readIndexCheck !== false) this.checker.onRead(n.id, r.index, at);
      }
      if (r.index !== null && read !== undefined) {
        if (n.applied >= r.index) this.serveRead(n, read);
        else n.waitingReads.push({ index: r.index, read });
      }
    }
  }

  /** Answers a read from this node's MetaState (its applied index covers the read index). */
  private serveRead(n: SimNode, read: PendingRead): void {
    const output = readKey(n.meta, read.namespace, read.name);
    this.history.set(read.opId, { id: read.opId, invokeMs: read.invokeMs, completeMs: this.now, input: { kind: 'read', namespace: read.namespace, name: read.name }, output, fate: 'done' });
    this.stats.metaReads++;
    this.workload.observe(read.namespace, read.name, n.meta);
  }

  private serveWaitingReads(n: SimNode): void {
    if (n.waitingReads.length === 0) return;
    const still: SimNode['waitingReads'] = [];
    for (const w of n.waitingReads) {
      if (n.applied >= w.index) this.serveRead(n, w.read);
      else still.push(w);
    }
    n.waitingReads = still;
  }

  private loadSnapshot(n: SimNode, s: Snapshot): void {
    const image = decodeSimSnapshot(s.data);
    n.applied = s.index;
    n.chain = image.chain;
    n.meta = image.state;
    // Operations proposed here and covered by the snapshot were never applied here: their answer is unknown.
    for (const index of [...n.proposals.keys()]) if (index <= s.index) n.proposals.delete(index);
    this.stats.snapshotsInstalled++;
    this.trace.note(this.now, n.id, `installed snapshot at ${s.index}`);
    this.checker.onSnapshotLoaded(n.id, s, n.chain, metaStateHash(n.meta));
    this.serveWaitingReads(n);
  }

  private apply(n: SimNode, e: Entry, term: number): void {
    if (e.index !== n.applied + 1) {
      this.checker.violation ??= `apply order: node ${n.id} was given entry ${e.index} after ${n.applied}`;
      return;
    }
    n.applied = e.index;
    n.chain = chainNext(n.chain, e);
    let proposal: Proposal | null = null;
    let result: ApplyResult | null = null;
    if (e.kind === 'normal') {
      proposal = decodeProposal(e.data as Uint8Array);
      if (proposal.command !== null) {
        result = applyCommand(n.meta, proposal.command);
        n.meta = result.state;
      }
    }
    if (e.index > this.checker.maxCommitted) {
      this.trace.note(this.now, n.id, `committed ${e.index}/${e.term} ${e.kind}`);
      if (e.kind === 'config') this.stats.configChangesCommitted++;
      if (proposal !== null && proposal.opId !== 0) this.onFirstCommit(proposal.opId, e.index);
    }
    this.checker.onApplied(n.id, e, n.chain, term, this.leaders(), metaStateHash(n.meta));
    if (this.markerIndex === 0 && proposal !== null && proposal.opId === 0) {
      this.markerIndex = e.index;
      this.livenessMs = this.now - this.faultMs;
    }
    const mine = n.proposals.get(e.index);
    if (mine !== undefined) {
      n.proposals.delete(e.index);
      if (proposal !== null && proposal.opId === mine) this.answer(n, mine, result as ApplyResult);
      else this.drop(mine, e.index);
    }
    this.serveWaitingReads(n);
  }

  private onFirstCommit(opId: number, index: number): void {
    const earlier = this.committedOps.get(opId);
    if (earlier !== undefined) this.checker.violation ??= `duplicate: client operation ${opId} was committed at ${earlier} and again at ${index}`;
    if (this.history.get(opId)?.fate === 'dropped') this.checker.violation ??= `client operation ${opId} was answered "not applied" but is committed at ${index}`;
    this.committedOps.set(opId, index);
  }

  /** The proposing node applied its operation: the client gets the result. */
  private answer(n: SimNode, opId: number, r: ApplyResult): void {
    const op = this.history.get(opId) as HistoryOp;
    op.completeMs = this.now;
    op.output = resultKey(r);
    op.fate = 'done';
    if (r.ok) this.stats.metaOpsOk++;
    else this.stats.metaOpsFailed++;
    const c = (op.input as Extract<MetaInput, { kind: 'command' }>).command;
    if (c.op === 'createStream') this.workload.observe(c.stream.namespace, c.stream.name, n.meta);
    else this.workload.observe(c.namespace, c.name, n.meta);
  }

  /** The proposer's log slot for the operation was applied with another entry: it will never take effect. */
  private drop(opId: number, index: number): void {
    const op = this.history.get(opId) as HistoryOp;
    op.fate = 'dropped';
    this.stats.metaOpsDropped++;
    const at = this.committedOps.get(opId);
    if (at !== undefined) this.checker.violation ??= `client operation ${opId} is committed at ${at}, but its proposer applied another entry at its slot ${index}`;
  }

  /**
   * The end of the run: every stream's history must be linearizable with
   * apply() as the model. Unknown operations that no node ever applied (not
   * in the committed log by the end of the run) are left out: no answer
   * anyone observed can reflect them, so "never took effect" is the only
   * reading. Those that were committed stay unknown: may take effect.
   */
  private checkHistory(): void {
    const ops = [...this.history.values()].filter((o) => o.fate !== 'dropped');
    this.stats.metaOpsUnknown += ops.filter((o) => o.fate === 'pending').length;
    const v = checkMetaHistory(ops.filter((o) => o.fate === 'done' || this.committedOps.has(o.id)));
    this.stats.linearizabilityChecksPassed += v.passed;
    this.stats.linearizabilityTooComplex += v.tooComplex;
    if (v.violation !== null) this.checker.violation ??= v.violation;
  }

  private leaders(): LeaderView[] {
    const out: LeaderView[] = [];
    for (const n of this.nodes.values()) if (n.raft !== null && n.wasLeader) out.push(this.leaderView(n.raft));
    return out;
  }

  // ------------------------------------------------------------ network

  private send(m: Message): void {
    if (this.rng.chance(this.p.dropRate)) return;
    this.q.push(this.now + 1 + this.rng.int(this.p.delayMaxMs), { k: 'deliver', msg: m });
    if (this.rng.chance(this.p.dupRate)) this.q.push(this.now + 1 + this.rng.int(this.p.delayMaxMs * 2), { k: 'deliver', msg: m });
  }

  private unblock(links: readonly number[]): void {
    if (this.healed) return;
    this.partitions.unblock(links);
    this.trace.note(this.now, 0, `partition healed (${links.length} links)`);
  }

  // ------------------------------------------------------------ faults and clients

  /** Client and operator actions: proposals, reads, compactions, membership changes, transfers. */
  private onClient(): void {
    if (this.healed) return;
    const r = this.rng.int(100);
    if (r < 65) this.propose();
    else if (r < 82) this.read();
    else if (r < 92) this.compact();
    else if (r < 96 && this.p.membership) this.changeMembership();
    else if (r < 98) this.transfer();
    this.q.push(this.now + 1 + this.rng.int(this.p.clientGapMaxMs), { k: 'client' });
  }

  private onFault(): void {
    if (this.healed) return;
    if (this.rng.chance(0.5)) this.crash();
    else this.partition();
    this.q.push(this.now + 1 + this.rng.int(this.p.faultGapMaxMs), { k: 'fault' });
  }

  private upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.raft !== null);
  }

  /** The up node that believes it leads the highest term, if any. */
  private currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      if (n.raft === null || !n.wasLeader) continue;
      const t = n.raft.status().term;
      if (t > bestTerm) { best = n; bestTerm = t; }
    }
    return best;
  }

  /** A node a client would talk to: usually some leader (maybe a deposed one), sometimes anyone. */
  private clientTarget(): SimNode | undefined {
    const up = this.upNodes();
    if (up.length === 0) return undefined;
    const leaders = up.filter((n) => n.wasLeader);
    return leaders.length > 0 && this.rng.chance(0.85) ? this.rng.pick(leaders) : this.rng.pick(up);
  }

  private propose(): void {
    const n = this.clientTarget();
    if (n === undefined) return;
    const command = this.workload.nextCommand();
    const opId = this.nextOpId++;
    const data = encodeProposal({ opId, command });
    const index = (n.raft as RaftNode).status().lastIndex + 1;
    const out = this.stepNode(n, { type: 'propose', data });
    // Refused proposals are hashed but not kept: they would crowd the short trace. They never enter the history.
    if (out.refused !== null) return this.trace.fold(this.now, n.id, 2);
    if (!out.persist.entries.some((e) => e.index === index && e.data === data)) throw new Error(`node ${n.id} accepted a proposal but did not persist it at index ${index}`);
    this.stats.proposalsAccepted++;
    n.proposals.set(index, opId);
    const input: MetaInput = { kind: 'command', command };
    this.history.set(opId, { id: opId, invokeMs: this.now, completeMs: null, input, output: null, fate: 'pending' });
    this.trace.note(this.now, n.id, `proposal accepted at ${index}: op ${opId} ${command.op}`);
  }

  private read(): void {
    const n = this.clientTarget();
    if (n === undefined) return;
    const ctx = this.nextCtx++;
    this.readsAt.set(ctx, this.checker.maxCommitted);
    const { namespace, name } = this.workload.nextRead();
    this.readOps.set(ctx, { opId: this.nextOpId++, namespace, name, invokeMs: this.now });
    this.trace.note(this.now, n.id, `read ctx=${ctx} (committed ${this.checker.maxCommitted})`);
    this.stepNode(n, { type: 'read', ctx });
  }

  private crash(): void {
    const up = this.upNodes();
    if (up.length === 0) return;
    const n = this.rng.pick(up);
    n.raft = null;
    n.pending = [];
    // Answers this node owed its clients are lost with it: those operations stay unknown.
    n.proposals = new Map();
    n.waitingReads = [];
    n.inc++;
    this.stats.crashes++;
    this.trace.note(this.now, n.id, 'crashed (unsynced writes lost)');
    this.q.push(this.now + simDefaults.downMinMs + this.rng.int(simDefaults.downSpreadMs), { k: 'restart', node: n.id });
  }

  private restart(id: NodeId): void {
    const n = this.nodes.get(id) as SimNode;
    if (n.raft !== null) return;
    this.trace.note(this.now, id, 'restarted from disk');
    this.start(n, this.rng.int(simDefaults.tickMs));
  }

  private partition(): void {
    const shape = drawPartition(this.rng, [...this.nodes.keys()]);
    if (shape === null) return;
    this.trace.note(this.now, 0, shape.description);
    this.stats.partitions++;
    this.partitions.block(shape.links);
    this.q.push(this.now + simDefaults.partitionMinMs + this.rng.int(simDefaults.partitionSpreadMs), { k: 'unblock', links: shape.links });
  }

  private compact(): void {
    const up = this.upNodes();
    if (up.length === 0) return;
    const n = this.rng.pick(up);
    const snapAt = n.disk.snapshot?.index ?? 0;
    if (n.applied - snapAt < simDefaults.compactGapEntries) return;
    const out = this.stepNode(n, { type: 'compact', index: n.applied, data: encodeSimSnapshot({ chain: n.chain, state: n.meta }) });
    if (out.refused === null) this.stats.compactions++;
    this.trace.note(this.now, n.id, out.refused === null ? `compacted to ${n.applied}` : `compaction refused: ${out.refused}`);
  }

  /**
   * A single-server change, sometimes followed at once by a second one: a
   * correct core refuses the second while the first is uncommitted; the
   * injected bug two-changes-at-once accepts it.
   */
  private changeMembership(): void {
    const l = this.currentLeader();
    if (l === undefined) return;
    if (this.proposeChange(l) && this.rng.chance(simDefaults.doubleChangeChance)) this.proposeChange(l);
  }

  private proposeChange(l: SimNode): boolean {
    if (l.raft === null) return false;
    const voters = (l.raft as RaftNode).status().voters;
    const others = [...this.nodes.keys()].filter((id) => !voters.includes(id));
    const add = others.length > 0 && (voters.length <= 3 || this.rng.chance(0.5));
    if (!add && voters.length <= 3) return false;
    const node = add ? this.rng.pick(others) : this.rng.pick(voters);
    const out = this.stepNode(l, { type: 'change-membership', op: add ? 'add' : 'remove', node });
    this.trace.note(this.now, l.id, `${add ? 'add' : 'remove'} voter ${node}: ${out.refused ?? 'proposed'}`);
    return out.refused === null;
  }

  private transfer(): void {
    const l = this.currentLeader();
    if (l === undefined) return;
    const voters = (l.raft as RaftNode).status().voters.filter((v) => v !== l.id);
    if (voters.length === 0) return;
    const to = this.rng.pick(voters);
    const out = this.stepNode(l, { type: 'transfer-leadership', to });
    if (out.refused === null) this.stats.transfersStarted++;
    this.trace.note(this.now, l.id, `transfer leadership to ${to}: ${out.refused ?? 'started'}`);
  }

  // ------------------------------------------------------------ heal and liveness

  private healAll(): void {
    this.healed = true;
    this.partitions.clear();
    this.p.dropRate = 0;
    this.p.dupRate = 0;
    for (const n of this.nodes.values()) if (n.raft === null) this.restart(n.id);
    this.trace.note(this.now, 0, 'all faults healed');
    this.q.push(this.now, { k: 'live' });
  }

  private onDeadline(what: 'commit' | 'converge'): void {
    if (this.done) return;
    if (what === 'commit' && this.markerIndex === 0) {
      this.checker.violation ??= `liveness: no proposal committed within ${this.boundMs} ms after the heal`;
    } else if (what === 'converge') {
      this.checker.violation ??= `liveness: the voters did not all apply the committed marker within ${this.convergeBoundMs} ms after the heal`;
    }
  }

  private onLive(): void {
    if (this.markerIndex > 0) {
      const all = this.checker.committedVoters.every((v) => ((this.nodes.get(v) as SimNode).applied >= this.markerIndex));
      if (all) {
        this.convergenceMs = this.now - this.faultMs;
        this.done = true;
        return;
      }
    } else if (this.now - this.markerLastProposedMs >= simDefaults.markerRetryMs) {
      const l = this.currentLeader();
      if (l !== undefined) {
        const out = this.stepNode(l, { type: 'propose', data: encodeProposal({ opId: 0, command: null }) });
        if (out.refused === null) this.markerLastProposedMs = this.now;
      }
    }
    this.q.push(this.now + simDefaults.livePollMs, { k: 'live' });
  }
}

function range(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let i = lo; i <= hi; i++) out.push(i);
  return out;
}

export function runSeed(opts: SimOptions): SeedResult {
  return new Simulation(opts).run();
}
