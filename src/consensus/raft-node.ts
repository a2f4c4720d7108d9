/**
 * One Raft participant as a pure state machine: `step(input) -> Output`.
 * No I/O, no timers, no randomness of its own (RaftConfig.randomInt is the
 * caller's). The contract for the caller is in types.ts (Persist, Output) and
 * docs/CONSENSUS.md.
 *
 * Features: pre-vote, check-quorum (leader steps down without a quorum of
 * contact each election period; followers in contact with a leader ignore
 * vote requests), batching and bounded in-flight entries per follower, commit
 * only of current-term entries by majority, fast conflict back-off,
 * read-index, snapshots and install-snapshot, single-server membership
 * changes (one at a time), leadership transfer.
 */
import { OutputBuilder } from './output-builder.js';
import { Progress } from './progress.js';
import { indexReachedBy, quorumSize } from './quorum.js';
import { RaftLog } from './raft-log.js';
import { ReadIndexQueue } from './read-index.js';
import type {
  AppendMsg, AppendRespMsg, DurableState, Entry, HardState, HeartbeatMsg, HeartbeatRespMsg, InjectedBug,
  Input, Message, NodeId, Output, PreVoteMsg, RaftConfig, Role, Snapshot, SnapshotMsg, VoteMsg,
} from './types.js';

export interface NodeStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leaderId: NodeId;
  readonly commit: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly voters: readonly NodeId[];
}

type Msg<T extends Message['type']> = Extract<Message, { type: T }>;

export class RaftNode {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly log: RaftLog;
  private term: number;
  private vote: NodeId;
  private persistedTerm: number;
  private persistedVote: NodeId;
  private role: Role = 'follower';
  private leaderId: NodeId = 0;
  private commit: number;
  /** Highest index already handed out in Output.committed. */
  private emitted: number;
  private voters: NodeId[];
  /** Voters as of the snapshot point (or the initial voters). */
  private snapshotVoters: NodeId[];
  /** Index of the config entry that set `voters` (0: snapshot / initial). */
  private configIndex = 0;
  private lastSnapshot: Snapshot | null;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  private progress = new Map<NodeId, Progress>();
  private transferee: NodeId = 0;
  private transferElapsed = 0;
  private readSeq = 0;
  private readonly reads = new ReadIndexQueue();
  private out = new OutputBuilder();

  constructor(cfg: RaftConfig, durable: DurableState | null) {
    checkConfig(cfg);
    this.cfg = cfg;
    this.id = cfg.id;
    const d: DurableState = durable ?? { hardState: { term: 0, vote: 0 }, snapshot: null, entries: [] };
    this.log = new RaftLog(d.snapshot, d.entries);
    this.term = this.persistedTerm = d.hardState.term;
    this.vote = this.persistedVote = d.hardState.vote;
    this.lastSnapshot = d.snapshot;
    this.commit = this.emitted = this.log.snapshotIndex();
    this.snapshotVoters = [...(d.snapshot?.voters ?? cfg.initialVoters)];
    this.voters = this.snapshotVoters;
    this.recomputeConfig();
    this.resetElectionTimeout();
  }

  // ------------------------------------------------------------ public

  step(input: Input): Output {
    this.out = new OutputBuilder();
    switch (input.type) {
      case 'message': this.onMessage(input.message); break;
      case 'tick': this.onTick(); break;
      case 'propose': this.propose({ kind: 'normal', data: input.data, voters: null }); break;
      case 'read': this.onRead(input.ctx); break;
      case 'compact': this.onCompact(input.index, input.data); break;
      case 'change-membership': this.onChangeMembership(input.op, input.node); break;
      case 'transfer-leadership': this.onTransfer(input.to); break;
    }
    this.emitCommitted();
    return this.out.finish(this.hardStateIfChanged());
  }

  status(): NodeStatus {
    return {
      id: this.id, role: this.role, term: this.term, vote: this.vote, leaderId: this.leaderId,
      commit: this.commit, lastIndex: this.log.lastIndex(), snapshotIndex: this.log.snapshotIndex(), voters: this.voters,
    };
  }

  /** Term of the in-memory log's entry at `index` (undefined if compacted or absent). */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  // ------------------------------------------------------------ helpers

  private bug(name: InjectedBug): boolean {
    return this.cfg.injectedBugs?.has(name) ?? false;
  }

  private isVoter(): boolean {
    return this.voters.includes(this.id);
  }

  private quorum(): number {
    return quorumSize(this.voters.length);
  }

  private hardStateIfChanged(): HardState | null {
    if (this.term === this.persistedTerm && this.vote === this.persistedVote) return null;
    this.persistedTerm = this.term;
    this.persistedVote = this.vote;
    return { term: this.term, vote: this.vote };
  }

  private resetElectionTimeout(): void {
    this.electionElapsed = 0;
    this.randomizedTimeout = this.cfg.electionTicks + this.cfg.randomInt(this.cfg.electionTicks);
  }

  /** A leader is known and was heard from within the election timeout. */
  private inLease(): boolean {
    return this.role === 'leader' || (this.leaderId !== 0 && this.electionElapsed < this.cfg.electionTicks);
  }

  private emitCommitted(): void {
    while (this.emitted < this.commit) {
      this.emitted++;
      const e = this.log.entry(this.emitted);
      if (e === undefined) throw new Error(`raft ${this.id}: committed entry ${this.emitted} missing from log`);
      this.out.committed.push(e);
    }
  }

  private recomputeConfig(): void {
    const e = this.log.configAtOrBelow(this.log.lastIndex());
    this.voters = e?.voters ? [...e.voters] : this.snapshotVoters;
    this.configIndex = e ? e.index : 0;
  }

  private configVotersAt(index: number): NodeId[] {
    const e = this.log.configAtOrBelow(index);
    return e?.voters ? [...e.voters] : this.snapshotVoters;
  }

  // ------------------------------------------------------------ roles

  private becomeFollower(term: number, leader: NodeId): void {
    const wasLeader = this.role === 'leader';
    if (term > this.term) {
      this.term = term;
      this.vote = 0;
    }
    this.role = 'follower';
    this.leaderId = leader;
    this.progress.clear();
    this.transferee = 0;
    this.resetElectionTimeout();
    if (wasLeader) for (const ctx of this.reads.drain()) this.out.reads.push({ ctx, index: null, reason: 'leadership-lost' });
  }

  private campaign(pre: boolean, transfer: boolean): void {
    if (!this.isVoter()) return;
    this.role = pre ? 'pre-candidate' : 'candidate';
    this.leaderId = 0;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimeout();
    if (!pre) {
      this.term += 1;
      this.vote = this.id;
    }
    if (this.quorum() <= 1) {
      if (pre) this.campaign(false, false);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const to of this.voters) {
      if (to === this.id) continue;
      if (pre) this.out.send({ type: 'pre-vote', from: this.id, to, term: this.term + 1, lastIndex, lastTerm });
      else this.out.send({ type: 'vote', from: this.id, to, term: this.term, lastIndex, lastTerm, transfer });
    }
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.leaderId = this.id;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.transferee = 0;
    this.progress.clear();
    for (const v of this.voters) if (v !== this.id) this.addProgress(v);
    this.propose({ kind: 'noop', data: null, voters: null });
  }

  private addProgress(id: NodeId): void {
    const p = new Progress(this.log.lastIndex() + 1);
    p.recentActive = true;
    this.progress.set(id, p);
  }

  private tally(): 'won' | 'lost' | 'pending' {
    let yes = 0;
    let no = 0;
    for (const g of this.votes.values()) if (g) yes++; else no++;
    if (yes >= this.quorum()) return 'won';
    if (no > this.voters.length - this.quorum()) return 'lost';
    return 'pending';
  }

  // ------------------------------------------------------------ ticks

  private onTick(): void {
    if (this.role === 'leader') return this.leaderTick();
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedTimeout && this.isVoter()) this.campaign(true, false);
  }

  private leaderTick(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const [id, p] of this.progress) {
      if (p.state !== 'snapshot') continue;
      if (++p.snapshotTicks >= this.cfg.electionTicks) {
        p.becomeProbe();
        this.sendAppend(id);
      }
    }
    if (this.transferee !== 0 && ++this.transferElapsed >= this.cfg.electionTicks) this.transferee = 0;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (!this.checkQuorum()) return this.becomeFollower(this.term, 0);
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /** Check-quorum: a quorum was heard from this period. Also restarts stalled pipelines. */
  private checkQuorum(): boolean {
    let active = this.isVoter() ? 1 : 0;
    for (const [id, p] of this.progress) {
      if (p.recentActive && this.voters.includes(id)) active++;
      p.recentActive = false;
      if (p.state === 'replicate' && p.inFlightEntries() > 0 && p.match === p.matchAtLastCheck) p.becomeProbe();
      p.matchAtLastCheck = p.match;
    }
    return active >= this.quorum();
  }

  private broadcastHeartbeat(): void {
    for (const [to, p] of this.progress) {
      p.matchAtHeartbeat = p.match;
      this.out.send({ type: 'heartbeat', from: this.id, to, term: this.term, commit: Math.min(p.match, this.commit), seq: this.readSeq });
    }
  }

  // ------------------------------------------------------------ messages

  private onMessage(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (!this.adoptHigherTerm(m)) return;
    } else if (m.term < this.term) {
      return this.answerStale(m);
    }
    switch (m.type) {
      case 'pre-vote': return this.onPreVote(m);
      case 'vote': return this.onVote(m);
      case 'pre-vote-resp': return this.onPreVoteResp(m);
      case 'vote-resp': return this.onVoteResp(m);
      case 'append': return this.onAppend(m);
      case 'heartbeat': return this.onHeartbeat(m);
      case 'snapshot': return this.onSnapshot(m);
      case 'append-resp': return this.onAppendResp(m);
      case 'heartbeat-resp': return this.onHeartbeatResp(m);
      case 'timeout-now': return this.onTimeoutNow(m);
    }
  }

  /** Returns false if the message must be ignored. */
  private adoptHigherTerm(m: Message): boolean {
    if (m.type === 'pre-vote' || m.type === 'vote') {
      const forced = m.type === 'vote' && m.transfer;
      if (!forced && this.inLease()) return false;
      if (m.type === 'pre-vote') return true;
      this.becomeFollower(m.term, 0);
      return true;
    }
    if (m.type === 'pre-vote-resp' && m.granted) return true;
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : 0);
    return true;
  }

  /** A lower-term sender: tell a stale leader or pre-candidate about our term. */
  private answerStale(m: Message): void {
    if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
      this.out.send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, success: false, index: 0, hint: 0 });
    } else if (m.type === 'pre-vote') {
      this.out.send({ type: 'pre-vote-resp', from: this.id, to: m.from, term: this.term, granted: false });
    }
  }

  private onPreVote(m: PreVoteMsg): void {
    const granted = m.term > this.term && this.log.isUpToDate(m.lastIndex, m.lastTerm);
    this.out.send({ type: 'pre-vote-resp', from: this.id, to: m.from, term: granted ? m.term : this.term, granted });
  }

  private onVote(m: VoteMsg): void {
    const free = this.vote === m.from || (this.vote === 0 && this.leaderId === 0);
    const granted = (free || this.bug('vote-twice')) && this.log.isUpToDate(m.lastIndex, m.lastTerm);
    if (granted) {
      this.vote = m.from;
      this.resetElectionTimeout();
    }
    this.out.send({ type: 'vote-resp', from: this.id, to: m.from, term: this.term, granted });
  }

  private onPreVoteResp(m: Msg<'pre-vote-resp'>): void {
    if (this.role !== 'pre-candidate' || (m.granted && m.term !== this.term + 1)) return;
    this.votes.set(m.from, m.granted);
    const t = this.tally();
    if (t === 'won') this.campaign(false, false);
    else if (t === 'lost') this.becomeFollower(this.term, 0);
  }

  private onVoteResp(m: Msg<'vote-resp'>): void {
    if (this.role !== 'candidate') return;
    this.votes.set(m.from, m.granted);
    const t = this.tally();
    if (t === 'won') this.becomeLeader();
    else if (t === 'lost') this.becomeFollower(this.term, 0);
  }

  private acceptLeader(from: NodeId): void {
    if (this.role !== 'follower') this.becomeFollower(this.term, from);
    this.leaderId = from;
    this.electionElapsed = 0;
  }

  private reply(m: Message, success: boolean, index: number, hint: number): void {
    this.out.send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, success, index, hint });
  }

  private onAppend(m: AppendMsg): void {
    this.acceptLeader(m.from);
    let { prevIndex, prevTerm, entries } = m;
    if (prevIndex < this.commit) {
      // Everything up to commit is known to match the leader: skip it.
      const skip = this.commit - prevIndex;
      if (skip >= entries.length) return this.reply(m, true, this.commit, 0);
      prevTerm = (entries[skip - 1] as Entry).term;
      entries = entries.slice(skip);
      prevIndex = this.commit;
    }
    if (!this.log.matches(prevIndex, prevTerm)) {
      const hint = prevIndex > this.log.lastIndex() ? this.log.lastIndex() + 1 : this.log.firstIndexOfTerm(prevIndex, this.commit);
      return this.reply(m, false, m.prevIndex, hint);
    }
    const written = this.log.merge(entries, this.commit);
    if (written.length > 0) {
      if (!this.bug('forget-persist')) this.out.persistEntries(written);
      const touchesConfig = (written[0] as Entry).index <= this.configIndex || written.some((e) => e.kind === 'config');
      if (touchesConfig) this.recomputeConfig();
    }
    const lastNew = prevIndex + entries.length;
    this.commitTo(Math.min(m.commit, lastNew));
    this.reply(m, true, lastNew, 0);
  }

  private commitTo(index: number): void {
    if (index > this.commit) this.commit = Math.min(index, this.log.lastIndex());
  }

  private onHeartbeat(m: HeartbeatMsg): void {
    this.acceptLeader(m.from);
    this.commitTo(m.commit);
    this.out.send({ type: 'heartbeat-resp', from: this.id, to: m.from, term: this.term, seq: m.seq, lastIndex: this.log.lastIndex() });
  }

  private onSnapshot(m: SnapshotMsg): void {
    this.acceptLeader(m.from);
    const s = m.snapshot;
    if (s.index <= this.commit) return this.reply(m, true, this.commit, 0);
    if (this.log.matches(s.index, s.term)) {
      this.commitTo(s.index);
      return this.reply(m, true, s.index, 0);
    }
    this.log.restore(s);
    this.commit = this.emitted = s.index;
    this.lastSnapshot = s;
    this.snapshotVoters = [...s.voters];
    this.recomputeConfig();
    this.out.persistSnapshot(s, true);
    this.reply(m, true, s.index, 0);
  }

  private onTimeoutNow(m: Msg<'timeout-now'>): void {
    if (m.from === this.leaderId || this.leaderId === 0) this.campaign(false, true);
  }

  // ------------------------------------------------------------ leader side

  private onAppendResp(m: AppendRespMsg): void {
    const p = this.role === 'leader' ? this.progress.get(m.from) : undefined;
    if (p === undefined) return;
    p.recentActive = true;
    if (m.success) {
      const advanced = p.acknowledge(m.index);
      if (p.state === 'probe' || (p.state === 'snapshot' && p.match >= p.pendingSnapshot)) p.becomeReplicate();
      if (advanced) this.maybeCommit();
      if (this.role !== 'leader') return;
      if (this.transferee === m.from && p.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
    } else {
      if (m.index <= p.match || p.state === 'snapshot') return;
      if (p.state === 'probe' && m.index !== p.next - 1) return;
      p.becomeProbe();
      p.next = Math.max(p.match + 1, Math.min(m.hint, m.index));
    }
    this.sendAppend(m.from);
  }

  private onHeartbeatResp(m: HeartbeatRespMsg): void {
    const p = this.role === 'leader' ? this.progress.get(m.from) : undefined;
    if (p === undefined) return;
    p.recentActive = true;
    if (m.seq > p.ackedSeq) {
      p.ackedSeq = m.seq;
      this.releaseReads();
    }
    if (p.state === 'probe') p.probeSent = false;
    // A pipeline that did not move since this round's heartbeat lost an append or its ack: rewind to match.
    if (p.state === 'replicate' && p.inFlightEntries() > 0 && (m.lastIndex < p.next - 1 || p.match === p.matchAtHeartbeat)) p.becomeProbe();
    if (p.match < this.log.lastIndex()) this.sendAppend(m.from);
  }

  /** Probe: one append (possibly empty) at `next`; replicate: as many entries as batching and the in-flight bound allow. */
  private sendAppend(to: NodeId): void {
    const p = this.progress.get(to);
    if (p === undefined || p.state === 'snapshot' || (p.state === 'probe' && p.probeSent)) return;
    const prevIndex = p.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to, p);
    let count = Math.min(this.cfg.appendEntriesMax, this.log.lastIndex() - prevIndex);
    if (p.state === 'replicate') count = Math.min(count, this.cfg.inFlightEntriesMax - p.inFlightEntries());
    if (count <= 0 && p.state === 'replicate') return;
    const entries = count > 0 ? this.log.slice(p.next, count) : [];
    this.out.send({ type: 'append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.commit });
    if (p.state === 'replicate') p.next += entries.length;
    else p.probeSent = true;
  }

  private sendSnapshot(to: NodeId, p: Progress): void {
    const s = this.lastSnapshot;
    if (s === null) throw new Error(`raft ${this.id}: log compacted below ${p.next} but no snapshot held`);
    p.becomeSnapshot(s.index);
    this.out.send({ type: 'snapshot', from: this.id, to, term: this.term, snapshot: s });
  }

  private sendTimeoutNow(to: NodeId): void {
    this.out.send({ type: 'timeout-now', from: this.id, to, term: this.term });
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) this.sendAppend(id);
  }

  private maybeCommit(): void {
    const needed = this.bug('commit-without-quorum') ? Math.max(1, this.quorum() - 1) : this.quorum();
    const last = this.log.lastIndex();
    const n = indexReachedBy(this.voters, needed, (id) => (id === this.id ? last : this.progress.get(id)?.match ?? 0));
    if (n <= this.commit) return;
    if (this.log.term(n) !== this.term && !this.bug('commit-old-term')) return;
    this.commit = n;
    if (this.reads.hasWaiting() && this.log.term(n) === this.term) {
      this.reads.assignWaiting(this.commit, ++this.readSeq);
      this.broadcastHeartbeat();
      this.releaseReads();
    }
    if (this.configIndex <= this.commit && !this.isVoter()) this.becomeFollower(this.term, 0);
  }

  private propose(e: Pick<Entry, 'kind' | 'data' | 'voters'>): void {
    if (this.role !== 'leader') return this.out.refuse('not the leader');
    if (this.transferee !== 0) return this.out.refuse('leadership transfer in progress');
    if (e.kind !== 'noop' && this.log.lastIndex() - this.commit >= this.cfg.uncommittedEntriesMax) {
      return this.out.refuse(`more than uncommittedEntriesMax (${this.cfg.uncommittedEntriesMax}) entries uncommitted`);
    }
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind: e.kind, data: e.data, voters: e.voters };
    this.log.appendNew(entry);
    this.out.persistEntries([entry]);
    if (entry.kind === 'config') this.applyConfigEntry(entry);
    this.broadcastAppend();
    this.maybeCommit();
  }

  // ------------------------------------------------------------ reads

  private onRead(ctx: number): void {
    if (this.role !== 'leader') return void this.out.reads.push({ ctx, index: null, reason: 'not-leader' });
    if (this.reads.size() >= this.cfg.pendingReadsMax) return void this.out.reads.push({ ctx, index: null, reason: 'too-many-reads' });
    if (this.bug('stale-read')) return void this.out.reads.push({ ctx, index: this.commit, reason: 'ok' });
    this.reads.wait(ctx);
    if (this.log.term(this.commit) !== this.term) return;
    this.reads.assignWaiting(this.commit, ++this.readSeq);
    this.broadcastHeartbeat();
    this.releaseReads();
  }

  private releaseReads(): void {
    const confirmed = indexReachedBy(this.voters, this.quorum(), (id) => (id === this.id ? this.readSeq : this.progress.get(id)?.ackedSeq ?? 0));
    for (const r of this.reads.release(confirmed)) this.out.reads.push({ ctx: r.ctx, index: r.index, reason: 'ok' });
  }

  // ------------------------------------------------------------ compaction, membership, transfer

  private onCompact(index: number, data: Uint8Array): void {
    if (index <= this.log.snapshotIndex()) return this.out.refuse(`index ${index} is already compacted`);
    if (index > this.emitted) return this.out.refuse(`index ${index} is not applied yet (applied ${this.emitted})`);
    const s: Snapshot = { index, term: this.log.term(index) as number, voters: this.configVotersAt(index), data };
    this.log.compact(index);
    this.snapshotVoters = [...s.voters];
    this.lastSnapshot = s;
    this.out.persistSnapshot(s, false);
  }

  private onChangeMembership(op: 'add' | 'remove', node: NodeId): void {
    if (this.role !== 'leader') return this.out.refuse('not the leader');
    if (this.configIndex > this.commit && !this.bug('two-changes-at-once')) return this.out.refuse('a membership change is already in progress (one at a time)');
    if (this.log.term(this.commit) !== this.term) return this.out.refuse('the leader has not committed an entry in its term yet');
    const has = this.voters.includes(node);
    if (op === 'add' && has) return this.out.refuse(`node ${node} is already a voter`);
    if (op === 'remove' && !has) return this.out.refuse(`node ${node} is not a voter`);
    if (op === 'remove' && this.voters.length === 1) return this.out.refuse('cannot remove the last voter');
    const voters = op === 'add' ? [...this.voters, node].sort((a, b) => a - b) : this.voters.filter((v) => v !== node);
    this.propose({ kind: 'config', data: null, voters });
  }

  private applyConfigEntry(e: Entry): void {
    this.voters = [...(e.voters as NodeId[])];
    this.configIndex = e.index;
    for (const v of this.voters) if (v !== this.id && !this.progress.has(v)) this.addProgress(v);
    for (const id of [...this.progress.keys()]) if (!this.voters.includes(id)) this.progress.delete(id);
  }

  private onTransfer(to: NodeId): void {
    if (this.role !== 'leader') return this.out.refuse('not the leader');
    if (to === this.id || !this.voters.includes(to)) return this.out.refuse(`node ${to} is not another voter`);
    this.transferee = to;
    this.transferElapsed = 0;
    const p = this.progress.get(to) as Progress;
    if (p.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }
}

function checkConfig(cfg: RaftConfig): void {
  const positive: (keyof RaftConfig)[] = ['heartbeatTicks', 'electionTicks', 'appendEntriesMax', 'inFlightEntriesMax', 'uncommittedEntriesMax', 'pendingReadsMax'];
  for (const k of positive) {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`raft config: ${k} must be a positive integer (got ${String(v)})`);
  }
  if (cfg.heartbeatTicks >= cfg.electionTicks) throw new Error('raft config: heartbeatTicks must be below electionTicks');
  if (!Number.isInteger(cfg.id) || cfg.id < 1) throw new Error(`raft config: id must be a positive integer (got ${cfg.id})`);
}
