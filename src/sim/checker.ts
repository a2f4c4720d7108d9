/**
 * Invariant checkers, run by the simulator after every event that could break
 * them:
 *  - election safety: at most one leader per term;
 *  - log matching: an (index, term) pair names one entry and one predecessor term;
 *  - leader completeness: a leader of term T holds every entry committed before T;
 *  - state machine safety: no two nodes apply different entries at one index
 *    (checked on a hash chain, so snapshots are covered too), and every
 *    node's MetaState after applying index i is the same (a hash of its
 *    canonical image, meta-state.ts);
 *  - no committed entry lost: the latest committed entry stays durable on
 *    enough voters of the committed configuration that every quorum holds it;
 *  - linearizable reads: a read index covers every commit made before the read.
 */
import { quorumSize } from '../consensus/quorum.js';
import type { Entry, NodeId, Snapshot } from '../consensus/types.js';
import type { SimDisk } from './sim-disk.js';
import { mix } from './trace.js';

export interface LeaderView {
  readonly id: NodeId;
  readonly term: number;
  readonly snapshotIndex: number;
  termAt(index: number): number | undefined;
}

export function entryKey(e: Entry): number {
  let h = mix(2166136261, e.kind === 'normal' ? 1 : e.kind === 'noop' ? 2 : 3);
  if (e.data !== null) for (const b of e.data) h = mix(h, b);
  if (e.voters !== null) for (const v of e.voters) h = mix(h, v + 1000);
  return h;
}

export function chainNext(prev: number, e: Entry): number {
  return mix(mix(prev, entryKey(e)), e.term);
}

export class InvariantChecker {
  violation: string | null = null;
  private readonly leaders = new Map<number, NodeId>();
  private readonly seen = new Map<number, { key: number; prevTerm: number }>();
  /** Per committed index: term, chain hash, term in which the commit was first observed. */
  private readonly cTerm: number[] = [0];
  private readonly cChain: number[] = [0];
  /** Per committed index: hash of the application state after applying it. */
  private readonly cState: number[] = [];
  private readonly cObserved: number[] = [0];
  committedVoters: NodeId[];
  private committedConfigIndex = 0;

  constructor(initialVoters: readonly NodeId[]) {
    this.committedVoters = [...initialVoters];
  }

  get maxCommitted(): number {
    return this.cTerm.length - 1;
  }

  chainAt(index: number): number | undefined {
    return this.cChain[index];
  }

  private fail(what: string): void {
    if (this.violation === null) this.violation = what;
  }

  /** Called after every step of a node that is leader; `elected` on the step that made it leader. */
  onLeader(l: LeaderView, elected: boolean): void {
    const other = this.leaders.get(l.term);
    if (other !== undefined && other !== l.id) return this.fail(`election safety: nodes ${other} and ${l.id} are both leader of term ${l.term}`);
    this.leaders.set(l.term, l.id);
    if (!elected) return;
    for (let i = this.maxCommitted; i > 0; i--) {
      if ((this.cObserved[i] as number) >= l.term) continue;
      this.checkLeaderHolds(l, i);
      return;
    }
  }

  private checkLeaderHolds(l: LeaderView, i: number): void {
    if (i <= l.snapshotIndex || l.termAt(i) === this.cTerm[i]) return;
    this.fail(`leader completeness: leader ${l.id} of term ${l.term} lacks committed entry ${i} (term ${this.cTerm[i]}, committed by term ${this.cObserved[i]})`);
  }

  /** An entry became durable on some node; prevTerm is that node's term at index - 1. */
  onPersisted(node: NodeId, e: Entry, prevTerm: number): void {
    const k = e.index * 1e6 + e.term;
    const key = entryKey(e);
    const s = this.seen.get(k);
    if (s === undefined) return void this.seen.set(k, { key, prevTerm });
    if (s.key !== key) this.fail(`log matching: node ${node} holds a different entry at ${e.index}/${e.term}`);
    else if (s.prevTerm !== prevTerm) this.fail(`log matching: node ${node} has term ${prevTerm} before ${e.index}/${e.term}, others ${s.prevTerm}`);
  }

  /** The state hash at `index` must be `hash` wherever it was seen (first sighting records it). */
  private checkState(node: NodeId, index: number, hash: number, how: string): void {
    const known = this.cState[index];
    if (known === undefined) this.cState[index] = hash;
    else if (known !== hash) this.fail(`state machine safety: node ${node}'s MetaState at index ${index} (${how}) differs from another node's state at that index`);
  }

  /**
   * Node applied `e`; `chain` is its hash chain after it, `stateHash` the hash
   * of its application state after it; `observedTerm` its term when the
   * commit was emitted.
   */
  onApplied(node: NodeId, e: Entry, chain: number, observedTerm: number, leaders: readonly LeaderView[], stateHash: number): void {
    const i = e.index;
    if (i <= this.maxCommitted) {
      if (this.cTerm[i] !== e.term || this.cChain[i] !== chain) this.fail(`state machine safety: node ${node} applied ${i}/${e.term}, another node applied ${i}/${this.cTerm[i]}`);
      else this.checkState(node, i, stateHash, 'after applying it');
      if (observedTerm < (this.cObserved[i] as number)) this.cObserved[i] = observedTerm;
      return;
    }
    if (i !== this.maxCommitted + 1) return this.fail(`apply gap: node ${node} applied ${i} while the highest committed index is ${this.maxCommitted}`);
    this.cTerm.push(e.term);
    this.cChain.push(chain);
    this.cObserved.push(observedTerm);
    this.checkState(node, i, stateHash, 'after applying it');
    if (e.kind === 'config' && e.voters !== null && i > this.committedConfigIndex) {
      this.committedVoters = [...e.voters];
      this.committedConfigIndex = i;
    }
    for (const l of leaders) if (l.term > observedTerm) this.checkLeaderHolds(l, i);
  }

  onSnapshotLoaded(node: NodeId, s: Snapshot, chain: number, stateHash: number): void {
    if (s.index > this.maxCommitted) return this.fail(`snapshot: node ${node} loaded a snapshot at ${s.index}, beyond the highest committed index ${this.maxCommitted}`);
    if (this.cTerm[s.index] !== s.term || this.cChain[s.index] !== chain) return this.fail(`state machine safety: node ${node} loaded a snapshot at ${s.index} that differs from the committed state`);
    this.checkState(node, s.index, stateHash, 'loaded from a snapshot');
  }

  /** The latest committed entry must be durable on more than (voters - quorum) committed voters. */
  checkDurable(disks: ReadonlyMap<NodeId, SimDisk>): void {
    const i = this.maxCommitted;
    if (i === 0) return;
    const t = this.cTerm[i] as number;
    let holders = 0;
    for (const v of this.committedVoters) if (disks.get(v)?.holds(i, t)) holders++;
    const n = this.committedVoters.length;
    if (n - holders >= quorumSize(n)) this.fail(`committed entry lost: entry ${i}/${t} is durable on ${holders} of ${n} voters, so a quorum without it can elect a leader`);
  }

  onRead(node: NodeId, index: number, committedAtRequest: number): void {
    if (index < committedAtRequest) this.fail(`stale read: node ${node} answered with read index ${index}, but ${committedAtRequest} was committed before the read began`);
  }
}
