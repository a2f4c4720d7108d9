/**
 * A tiny synchronous harness for unit tests of the Raft core: messages are
 * queued and delivered on demand (optionally filtered to model partitions);
 * persistence is immediate (a SimDisk per node, so restarts are possible).
 */
import { RaftNode } from '../../src/consensus/raft-node.js';
import type { Entry, Input, Message, NodeId, Output, RaftConfig, ReadResult } from '../../src/consensus/types.js';
import { SimDisk } from '../../src/sim/sim-disk.js';

export function config(id: NodeId, voters: readonly NodeId[], over: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id, initialVoters: voters, heartbeatTicks: 1, electionTicks: 5, appendEntriesMax: 64, inFlightEntriesMax: 256,
    uncommittedEntriesMax: 1000, pendingReadsMax: 16,
    // Node k times out after electionTicks + k ticks: distinct, and always past a follower's lease.
    randomInt: (n) => Math.min(n - 1, id), ...over,
  };
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (e: Entry): string => (e.data === null ? `<${e.kind}>` : new TextDecoder().decode(e.data));

export class TestCluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly disks = new Map<NodeId, SimDisk>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly reads: ReadResult[] = [];
  inbox: Message[] = [];
  /** Messages for which this returns false are dropped on delivery. */
  linkUp: (m: Message) => boolean = () => true;

  constructor(readonly ids: readonly NodeId[], private readonly over: Partial<RaftConfig> = {}, voters: readonly NodeId[] = ids) {
    for (const id of ids) {
      this.disks.set(id, new SimDisk());
      this.applied.set(id, []);
      this.nodes.set(id, new RaftNode(config(id, voters.includes(id) ? voters : [], over), null));
    }
  }

  node(id: NodeId): RaftNode {
    return this.nodes.get(id) as RaftNode;
  }

  step(id: NodeId, input: Input): Output {
    const out = this.node(id).step(input);
    (this.disks.get(id) as SimDisk).apply(out.persist);
    this.inbox.push(...out.messages);
    (this.applied.get(id) as Entry[]).push(...out.committed);
    this.reads.push(...out.reads);
    return out;
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.step(id, { type: 'tick' });
  }

  /** Deliver queued messages (and the ones they cause) until none are left. */
  deliverAll(roundsMax = 1000): void {
    for (let r = 0; r < roundsMax && this.inbox.length > 0; r++) {
      const batch = this.inbox;
      this.inbox = [];
      for (const m of batch) if (this.linkUp(m) && this.nodes.has(m.to)) this.step(m.to, { type: 'message', message: m });
    }
    if (this.inbox.length > 0) throw new Error(`cluster did not go quiet in ${roundsMax} rounds`);
  }

  /**
   * Let every other follower's leader lease run out (without reaching its own
   * timeout), make `id` time out and campaign, then deliver everything.
   */
  elect(id: NodeId): void {
    const electionTicks = this.over.electionTicks ?? 5;
    for (const [other, n] of this.nodes) if (other !== id && n.status().role === 'follower') this.tick(other, electionTicks);
    for (let i = 0; i < 3 * electionTicks && this.node(id).status().role === 'follower'; i++) this.tick(id);
    this.deliverAll();
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.status().role === 'leader').map((n) => n.id);
  }

  /** Simulate a crash and restart from the node's disk. */
  restart(id: NodeId, voters: readonly NodeId[]): void {
    this.nodes.set(id, new RaftNode(config(id, voters, this.over), (this.disks.get(id) as SimDisk).durableState()));
    this.applied.set(id, []);
  }

  appliedTexts(id: NodeId): string[] {
    return (this.applied.get(id) as Entry[]).filter((e) => e.kind === 'normal').map(text);
  }
}
