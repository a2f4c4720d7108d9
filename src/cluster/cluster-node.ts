/**
 * One node's membership in a cluster (issue 14): the MetaStore's Raft group
 * on this node, wired together.
 *
 *   RaftDisk (raft-disk.ts)        <data-dir>/@raft: log, hard state, snapshots, fsync'd
 *   RaftDriver (raft-driver.ts)    the core on a real clock
 *   ReplicatedMetaStore            the MetaStore state machine as the Raft application
 *   PeerTransport (peer-*.ts)      raw TCP links to the other voters
 *
 * Peer message kinds (envelope in docs/CLUSTER.md "Peer links"; each checked
 * at the edge before it is acted on):
 *
 *   raft               body: a Raft Message (raft-message-check.ts)
 *   forward            body: {id, data}         a follower's command for the leader
 *   forward-result     body: {id, outcome} | {id, error: {code, message, leaderId}}
 *   read-index         body: {id}               a follower asks the leader for a read index
 *   read-index-result  body: {id, index} | {id, error: {...}}
 *   member-change      body: {id, op: 'add'|'remove', node, address}   a membership change for the leader
 *   member-change-result body: {id, answer: {clusterId, members}} | {id, error: {...}}
 *
 * Membership (docs/CLUSTER.md "Membership"): changeMember(op, node, address)
 * from any node (the CLUSTER_JOIN / CLUSTER_REMOVE_NODE handlers call it);
 * the leader records addMember then changes the Raft config (add), or
 * changes the config then removeMember (remove). The first leader records
 * the cluster id (initCluster) and the initial voters. Every node dials the
 * members it applies, drops removed ones, persists the cluster id in
 * node.json and hands it to the transport; acceptPeer refuses non-members.
 * A node opened with `join` and empty Raft state has no voters and asks the
 * member at `join` to add it (opts.requestJoin) once setSelfAddress is called.
 *
 * Writes through any node: a follower forwards the encoded command to the
 * leader it knows and answers with the leader's applied outcome; while no
 * leader is known it waits (bounded by SUBMIT_TIMEOUT_MS). A command is
 * forwarded at most once per attempt and only re-sent after a NOT_LEADER
 * answer (nothing was proposed), so a command is never applied twice by a
 * retry of ours; a timeout after sending is OUTCOME_UNKNOWN.
 *
 * Current reads: current() gets a read index from the leader (its own
 * read-index round) and waits until this node applied it.
 *
 * Identity: <data-dir>/@cluster/node.json holds the node id the data dir
 * belongs to and, once known, its cluster id; starting it with another --node-id is refused (a data dir
 * holds one node's Raft state: reusing it under another id would make two
 * voters of one disk).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { Message, RaftConfig } from '../consensus/index.js';
import type { FileLayer } from '../fs/file-layer.js';
import { readWholeFile, writeFileAtomic } from '../fs/file-layer.js';
import { MetaError, type AnyCommand, type NodeId } from '../metastore/types.js';
import { isMemberAddress } from '../metastore/command-codec.js';
import { dataDirReplacedSentence } from '../metastore/state-machine.js';
import type { NodeRole, RemotePeer } from './peer-hello.js';
import { parseHostPort, type PeerAddress } from './peer-address.js';
import type { KindCheck, PeerMessage } from './peer-message.js';
import { PeerTransport, type PeerLinkStatus } from './peer-transport.js';
import { RaftDisk, raftDiskDir } from './raft-disk.js';
import { NotLeaderError, OutcomeUnknownError, RaftDriver } from './raft-driver.js';
import { checkRaftMessage } from './peer-raft-check.js';
import { ReplicatedMetaStore, type AppliedOutcome } from './replicated-meta-store.js';

/** A write through this node gives up (OUTCOME_UNKNOWN, or NOT_READY when nothing was sent) after this long. */
export const SUBMIT_TIMEOUT_MS = 10_000;
/** One forwarded command or read-index request waits this long for the leader's answer. */
export const FORWARD_TIMEOUT_MS = 5_000;
/** Forwarded requests waiting for an answer on this node. */
export const FORWARDS_PENDING_MAX = 4096;
/** A membership change (through any node) gives up after this long. */
export const MEMBER_CHANGE_TIMEOUT_MS = 15_000;
/** A joining node retries its join request with this backoff (doubling). */
export const JOIN_BACKOFF_MS_MIN = 200;
export const JOIN_BACKOFF_MS_MAX = 5_000;
/** Random bytes of a cluster id (hex: twice as many characters). */
export const CLUSTER_ID_BYTES = 16;
/** Random bytes of a data dir id (node.json; hex: twice as many characters). */
export const DATA_DIR_ID_BYTES = 16;
/** How often the leader binds data dirs it has seen and the cluster has not bound yet. */
export const DATA_DIR_BIND_INTERVAL_MS = 200;
/** Raft timing: heartbeat every 2 ticks, election timeout 10-20 ticks (300-600 ms with CLUSTER_TICK_MS ticks). */
export const RAFT_HEARTBEAT_TICKS = 2;
export const RAFT_ELECTION_TICKS = 10;
/** Commands in one append message, unacknowledged entries per follower, uncommitted proposals, pending reads. */
export const RAFT_APPEND_ENTRIES_MAX = 64;
export const RAFT_IN_FLIGHT_ENTRIES_MAX = 256;
export const RAFT_UNCOMMITTED_ENTRIES_MAX = 1024;
export const RAFT_PENDING_READS_MAX = 1024;

/** A voter the leader has not heard from for this long is down (liveness for placement and `cluster status`). */
export const NODE_LIVENESS_TIMEOUT_MS = 1500;
/** How long `cluster status` on a follower waits for the leader's liveness view before showing its own. */
export const LIVENESS_ASK_TIMEOUT_MS = 1000;

/** Real-time length of one Raft tick of the MetaStore group (loopback and LAN: failover well under 1 s). */
export const CLUSTER_TICK_MS = 30;

export const CLUSTER_DIR_NAME = '@cluster';
const IDENTITY_FILE = 'node.json';

export interface ClusterNodeOptions {
  dataDir: string;
  nodeId: NodeId;
  /** The other voters of the initial cluster and the addresses this node dials them at. */
  peers: PeerAddress[];
  layer: FileLayer;
  log: (line: string) => void;
  tickMs?: number;
  /** A member's host:port to ask to add this node (`--join`); ignored when the data dir already has Raft state. */
  join?: string | null;
  /** Sends the join request (a client op, CLUSTER_JOIN) to `member`; resolves with the member's answer. */
  requestJoin?: (member: string, node: NodeId, address: string) => Promise<JoinAnswer>;
  /** More peer message kinds (record replication, src/replication): their checks, which carry raw bytes, and their handler. */
  extension?: PeerExtension;
  /** This node's roles (--roles; absent: sequencer and storage), told to peers in the hello. */
  roles?: NodeRole[];
}

/** Peer message kinds another part of the node adds to the links (src/replication). */
export interface PeerExtension {
  kinds: Readonly<Record<string, KindCheck>>;
  rawKinds: readonly string[];
  onMessage: (from: NodeId, msg: PeerMessage) => void;
}

/** The answer to a join request: the cluster's id and members, as applied on the leader once the new voter's config entry was. */
export interface JoinAnswer {
  clusterId: string | null;
  members: { node: NodeId; address: string }[];
}

export interface ClusterStatus {
  nodeId: NodeId;
  leader: NodeId | null;
  term: number;
  role: string;
  commit: number;
  applied: number;
  voters: NodeId[];
  /** dataDirId: the data dir the cluster bound the node id to (null: not bound yet). */
  nodes: { id: NodeId; address: string; up: boolean; voter: boolean; lastContactMs: number | null; dataDirId: string | null }[];
  /** The cluster this node belongs to; null before bootstrap (or, on a joining node, before it is added). */
  clusterId: string | null;
  /** Whose view `nodes[].up` is: the leader's id (liveness as the leader sees it), or null (this node's own links). */
  livenessFrom?: NodeId | null;
}

type RemoteError = { code: string; message: string; leaderId: NodeId | null };

interface Pending {
  resolve: (body: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout; // an interval (rpc checks the leader every tick)
}

export class ClusterNode {
  readonly meta: ReplicatedMetaStore;
  private readonly transport: PeerTransport;
  private readonly driver: RaftDriver;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private fatal: Error | null = null;
  private readonly joining: boolean;
  private joinStarted = false;
  private bootstrapping = false;
  /** The data dir id each peer sent in its last accepted hello; the leader binds the unbound ones (bindDataDirs). */
  private readonly seenDataDirs = new Map<NodeId, string>();
  private binding = false;
  /** Each peer's roles from its last accepted hello. */
  private readonly seenRoles = new Map<NodeId, readonly NodeRole[]>();
  private bindTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly opts: ClusterNodeOptions,
    private readonly disk: RaftDisk,
    durable: ReturnType<typeof RaftDisk.open>['durable'],
    private selfAddress: string,
    private readonly identity: Identity,
  ) {
    const id = opts.nodeId;
    this.meta = new ReplicatedMetaStore({ submit: (data, retryUnknown) => this.submit(data, retryUnknown), current: () => this.current() });
    this.transport = new PeerTransport({
      nodeId: id,
      clusterId: identity.clusterId,
      dataDirId: identity.dataDirId,
      ...(opts.roles === undefined ? {} : { roles: opts.roles }),
      peers: opts.peers,
      rawKinds: opts.extension?.rawKinds ?? [],
      kinds: {
        ...(opts.extension?.kinds ?? {}),
        raft: checkRaftMessage,
        forward: (b) => (isObj(b) && isInt(b.id) && b.data instanceof Uint8Array ? null : 'needs id and data bytes'),
        'forward-result': (b) => (isObj(b) && isInt(b.id) && (isObj(b.outcome) || isObj(b.error)) ? null : 'needs id and outcome or error'),
        'read-index': (b) => (isObj(b) && isInt(b.id) ? null : 'needs id'),
        liveness: (b) => (isObj(b) && isInt(b.id) ? null : 'needs id'),
        'liveness-result': (b) => (isObj(b) && isInt(b.id) && (Array.isArray(b.nodes) || isObj(b.error)) ? null : 'needs id and nodes or error'),
        'read-index-result': (b) => (isObj(b) && isInt(b.id) && (isInt(b.index) || isObj(b.error)) ? null : 'needs id and index or error'),
        'member-change': (b) =>
          isObj(b) && isInt(b.id) && (b.op === 'add' || b.op === 'remove') && isInt(b.node) && (b.node as number) >= 1 && (b.op === 'remove' || isMemberAddress(b.address))
            ? null
            : 'needs id, op add|remove, node and (add) address',
        'member-change-result': (b) => (isObj(b) && isInt(b.id) && (isObj(b.answer) || isObj(b.error)) ? null : 'needs id and answer or error'),
      },
      acceptPeer: (remote) => this.acceptPeer(remote),
      onMessage: (from, msg) => this.onPeer(from, msg),
      log: opts.log,
    });
    // A joining node starts with no voters: it never campaigns and waits for the leader's log (its config entries).
    const fresh = durable.snapshot === null && durable.entries.length === 0 && durable.hardState.term === 0;
    this.joining = fresh && opts.join != null;
    const voters = this.joining ? [] : [id, ...opts.peers.map((p) => p.id)].sort((a, b) => a - b);
    const cfg: RaftConfig = {
      id,
      initialVoters: voters,
      heartbeatTicks: RAFT_HEARTBEAT_TICKS,
      electionTicks: RAFT_ELECTION_TICKS,
      appendEntriesMax: RAFT_APPEND_ENTRIES_MAX,
      inFlightEntriesMax: RAFT_IN_FLIGHT_ENTRIES_MAX,
      uncommittedEntriesMax: RAFT_UNCOMMITTED_ENTRIES_MAX,
      pendingReadsMax: RAFT_PENDING_READS_MAX,
      randomInt: (n) => randomInt(n),
    };
    this.driver = new RaftDriver(
      cfg,
      durable,
      { persist: async (p) => this.disk.persist(p) },
      { send: (m: Message) => void this.transport.send(m.to, { kind: 'raft', body: m }) },
      this.meta,
      {
        tickMs: opts.tickMs ?? CLUSTER_TICK_MS,
        onChange: (st) => {
          if (st.role === 'leader') void this.bootstrap();
        },
        onFatal: (err) => {
          this.fatal = err;
          opts.log(`the MetaStore's Raft group stopped on this node: ${err.message}; restart the node to recover from what is durable`);
        },
      },
    );
  }

  /** The address clients and peers reach this node at (known once the node listens); starts a pending join. */
  setSelfAddress(address: string): void {
    this.selfAddress = address;
    if (this.joining && !this.joinStarted) {
      this.joinStarted = true;
      void this.joinLoop();
    }
  }

  /** The cluster id this node belongs to (null until bootstrap or join). */
  get clusterId(): string | null {
    return this.transport.clusterId;
  }

  /** Opens the node's Raft state and starts its clock and links. */
  static open(opts: ClusterNodeOptions, selfAddress: string): ClusterNode {
    const identity = checkIdentity(opts.layer, opts.dataDir, opts.nodeId);
    const { disk, durable } = RaftDisk.open(raftDiskDir(opts.dataDir), opts.layer);
    const node = new ClusterNode(opts, disk, durable, selfAddress, identity);
    node.meta.onApplied((cmd, outcome) => node.onMemberCommand(cmd, outcome));
    node.meta.onRestored(() => node.syncMembers());
    node.syncMembers(); // a snapshot restored by the driver's constructor
    node.driver.start();
    node.bindTimer = setInterval(() => void node.bindDataDirs(), DATA_DIR_BIND_INTERVAL_MS);
    node.bindTimer.unref();
    return node;
  }

  get nodeId(): NodeId {
    return this.opts.nodeId;
  }

  /** The node's listener hands over a connection whose hello says role 'peer'. */
  adoptPeer(...args: Parameters<PeerTransport['adopt']>): void {
    this.transport.adopt(...args);
  }

  /**
   * Node liveness (for placement and `cluster status`), as the leader sees it:
   * a voter is up while the leader heard from it within
   * NODE_LIVENESS_TIMEOUT_MS. Followers answer the leader's heartbeats every
   * 2 ticks, so a live one is heard from every ~60 ms; a dead, paused or
   * partitioned one falls silent (a partition keeps sockets open, so "the
   * link is connected" is no evidence). Only the leader hears from everyone:
   * a follower asks it (status()) and marks the liveness it reports as the
   * leader's; with no leader reachable it reports its own links.
   */
  liveness(): Map<NodeId, { up: boolean; lastContactMs: number | null }> {
    const out = new Map<NodeId, { up: boolean; lastContactMs: number | null }>();
    out.set(this.opts.nodeId, { up: this.fatal === null, lastContactMs: 0 });
    for (const l of this.transport.status()) out.set(l.id, { up: l.lastContactMs !== null && l.lastContactMs <= NODE_LIVENESS_TIMEOUT_MS, lastContactMs: l.lastContactMs });
    return out;
  }

  /** The cluster status, with node liveness from the leader when this node follows one it can reach. */
  async status(): Promise<ClusterStatus> {
    const local = this.localStatus();
    if (local.role === 'leader' || local.leader === null || !this.linkUp(local.leader)) return { ...local, livenessFrom: local.role === 'leader' ? this.opts.nodeId : null };
    try {
      const r = await this.rpc(local.leader, 'liveness', {}, LIVENESS_ASK_TIMEOUT_MS);
      const seen = new Map((r.nodes as { id: number; up: boolean; lastContactMs: number | null }[]).map((n) => [n.id, n]));
      return {
        ...local,
        livenessFrom: local.leader,
        nodes: local.nodes.map((n) => {
          const l = seen.get(n.id);
          return l === undefined ? n : { ...n, up: l.up, lastContactMs: l.lastContactMs };
        }),
      };
    } catch {
      return { ...local, livenessFrom: null };
    }
  }

  private localStatus(): ClusterStatus {
    const s = this.driver.status();
    const links = new Map<NodeId, PeerLinkStatus>(this.transport.status().map((l) => [l.id, l]));
    const live = this.liveness();
    const ids = [...new Set([this.opts.nodeId, ...s.voters, ...links.keys()])].sort((a, b) => a - b);
    return {
      nodeId: this.opts.nodeId,
      leader: s.leaderId === 0 ? null : s.leaderId,
      term: s.term,
      role: s.role,
      commit: s.commit,
      applied: s.applied,
      voters: [...s.voters],
      clusterId: this.transport.clusterId,
      nodes: ids.map((id) => {
        if (id === this.opts.nodeId) {
          return { id, address: this.selfAddress, up: this.fatal === null, voter: s.voters.includes(id), lastContactMs: 0, dataDirId: this.meta.dataDirs().get(id) ?? null };
        }
        const l = links.get(id);
        return {
          id,
          address: l?.address ?? this.meta.members().get(id) ?? '',
          up: live.get(id)?.up ?? false,
          voter: s.voters.includes(id),
          lastContactMs: l?.lastContactMs ?? null,
          dataDirId: this.meta.dataDirs().get(id) ?? null,
        };
      }),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.bindTimer !== null) clearInterval(this.bindTimer);
    await this.driver.stop();
    for (const [, p] of this.pending) {
      clearInterval(p.timer);
      p.reject(new NotLeaderError(null, 'the node is stopping'));
    }
    this.pending.clear();
    await this.transport.close();
    this.disk.close();
  }

  // ------------------------------------------------------------ membership

  /**
   * Adds (`op` 'add', with the address members dial it at) or removes one
   * voter, from any node: on the leader it runs here, elsewhere it is
   * forwarded to the leader (peer kind member-change). Resolves once the
   * change is applied on the leader, with the cluster id and members then.
   * A NOT_LEADER answer (leadership moved, nothing decided) is retried until
   * MEMBER_CHANGE_TIMEOUT_MS; every step is idempotent, so a retry after a
   * partly done change finishes it.
   */
  async changeMember(op: 'add' | 'remove', node: NodeId, address = ''): Promise<JoinAnswer> {
    const deadline = Date.now() + MEMBER_CHANGE_TIMEOUT_MS;
    for (;;) {
      if (this.closed) throw new NotLeaderError(null, 'the node is stopping');
      const s = this.driver.status();
      try {
        if (s.role === 'leader') return await this.leaderChange(op, node, address);
        if (s.leaderId !== 0 && this.linkUp(s.leaderId)) {
          const r = await this.rpc(s.leaderId, 'member-change', { op, node, address }, MEMBER_CHANGE_TIMEOUT_MS);
          if (isObj(r.answer)) return r.answer as unknown as JoinAnswer;
          throw remoteError(r.error as RemoteError);
        }
      } catch (e) {
        if (!(e instanceof NotLeaderError)) throw e;
      }
      if (Date.now() >= deadline) throw new NotLeaderError(null, `no leader completed the membership change within ${MEMBER_CHANGE_TIMEOUT_MS} ms`);
      await sleep(this.opts.tickMs ?? CLUSTER_TICK_MS);
    }
  }

  /** On the leader: record the member, then the Raft config change (add); the config change, then forget the member (remove). */
  private async leaderChange(op: 'add' | 'remove', node: NodeId, address: string): Promise<JoinAnswer> {
    if (this.driver.status().role !== 'leader') throw new NotLeaderError(null, 'not the leader');
    await this.driver.readBarrier(); // decide on everything committed so far
    const voters = (): readonly NodeId[] => this.driver.status().voters;
    if (op === 'add') {
      await this.meta.runClusterCommand({ op: 'addMember', node, address }).catch(conflictAsInvalid);
      if (!voters().includes(node)) await this.configChange('add', node);
    } else {
      const isVoter = voters().includes(node);
      const known = this.meta.members().has(node) || this.meta.dataDirs().has(node);
      if (!isVoter && !known) throw invalid(`Node ${node} is not a member of the cluster; nothing to remove.`);
      if (isVoter && voters().length === 1) throw invalid(`Node ${node} is the cluster's last voter; it cannot be removed.`);
      if (isVoter) await this.configChange('remove', node);
      if (this.meta.members().has(node) || this.meta.dataDirs().has(node)) await this.meta.runClusterCommand({ op: 'removeMember', node });
    }
    // A leader that just removed itself may have had its command forwarded to its successor: the answer is read
    // only once this node applied everything committed so far.
    await this.current();
    return { clusterId: this.meta.clusterId(), members: [...this.meta.members()].map(([n, a]) => ({ node: n, address: a })).sort((a, b) => a.node - b.node) };
  }

  /** One Raft config change; the core refuses a second change while one is uncommitted: retried until it can go. */
  private async configChange(op: 'add' | 'remove', node: NodeId): Promise<void> {
    const deadline = Date.now() + MEMBER_CHANGE_TIMEOUT_MS;
    for (;;) {
      try {
        return await this.driver.changeMembership(op, node);
      } catch (e) {
        const busy = e instanceof NotLeaderError && /in progress|has not committed/.test(e.message);
        if (!busy || Date.now() >= deadline) throw e;
        if (/already a voter/.test((e as Error).message)) return;
      }
      await sleep(this.opts.tickMs ?? CLUSTER_TICK_MS);
    }
  }

  /**
   * The first leader (and any later one, harmlessly) records the cluster id
   * and the initial voters with their addresses (those of its --peers that
   * are still voters, so a removed node never comes back). Each command is
   * conditional (initCluster once; addMember with the same address is no
   * change), so two leaders doing it, or a leader doing it again, agree.
   */
  private async bootstrap(): Promise<void> {
    if (this.bootstrapping || this.closed) return;
    this.bootstrapping = true;
    try {
      await this.driver.readBarrier();
      if (this.meta.clusterId() === null) {
        await this.meta.runClusterCommand({ op: 'initCluster', clusterId: randomBytes(CLUSTER_ID_BYTES).toString('hex') }).catch(ignoreMetaError);
      }
      const members = this.meta.members();
      // Only initial voters that are still voters: a removed one must never come back from a later leader's --peers.
      const voters = this.driver.status().voters;
      // Peers first, this node last: acceptPeer counts membership as set up once this node is a member.
      for (const p of this.opts.peers) if (!members.has(p.id) && voters.includes(p.id)) await this.meta.runClusterCommand({ op: 'addMember', node: p.id, address: p.address }).catch(ignoreMetaError);
      if (!this.meta.members().has(this.opts.nodeId) && !this.selfAddress.endsWith(':0')) {
        await this.meta.runClusterCommand({ op: 'addMember', node: this.opts.nodeId, address: this.selfAddress }).catch(ignoreMetaError);
      }
    } catch (e) {
      if (!(e instanceof NotLeaderError) && !(e instanceof OutcomeUnknownError)) this.opts.log(`cluster bootstrap on the new leader failed: ${(e as Error).message}`);
    } finally {
      this.bootstrapping = false;
    }
  }

  /** A new node (`--join`, no Raft state yet) asks a member to add it, with backoff, until it is added. */
  private async joinLoop(): Promise<void> {
    const member = this.opts.join!;
    let wait = JOIN_BACKOFF_MS_MIN;
    while (!this.closed) {
      try {
        if (this.opts.requestJoin === undefined) throw new Error('no way to send a join request');
        const a = await this.opts.requestJoin(member, this.opts.nodeId, this.selfAddress);
        if (a.clusterId !== null) this.adoptClusterId(a.clusterId);
        for (const m of a.members) this.ensurePeer(m.node, m.address);
        this.opts.log(`node ${this.opts.nodeId} joined cluster ${a.clusterId ?? '?'} through ${member}`);
        return;
      } catch (e) {
        this.opts.log(`join through ${member} failed (${(e as Error).message}); retrying in ${wait} ms`);
      }
      await sleep(wait);
      wait = Math.min(wait * 2, JOIN_BACKOFF_MS_MAX);
    }
  }

  /** Reacts to an applied membership command; never throws into the apply path (a throw there would stop the group). */
  private onMemberCommand(cmd: AnyCommand, outcome: AppliedOutcome): void {
    if (!outcome.ok) return;
    try {
      this.reactToMember(cmd);
    } catch (e) {
      this.opts.log(`could not follow the applied ${cmd.op}: ${(e as Error).message}`);
    }
  }

  private reactToMember(cmd: AnyCommand): void {
    if (cmd.op === 'addMember') this.ensurePeer(cmd.node, cmd.address);
    else if (cmd.op === 'removeMember') this.dropPeer(cmd.node);
    else if (cmd.op === 'initCluster') this.adoptClusterId(cmd.clusterId);
  }

  /** After a snapshot: dial every member, drop links of nodes that are no members any more, take the cluster id. */
  private syncMembers(): void {
    const members = this.meta.members();
    for (const [node, address] of members) this.ensurePeer(node, address);
    if (members.has(this.opts.nodeId)) for (const l of this.transport.status()) if (!members.has(l.id)) this.dropPeer(l.id);
    const id = this.meta.clusterId();
    if (id !== null) this.adoptClusterId(id);
  }

  private ensurePeer(node: NodeId, address: string): void {
    if (node === this.opts.nodeId || this.closed) return;
    if (this.transport.status().some((l) => l.id === node)) return; // --peers routes (a proxy, say) stay as configured
    let at: ReturnType<typeof parseHostPort>;
    try {
      at = parseHostPort(address, `the address of node ${node}`);
    } catch (e) {
      this.opts.log(`member ${node} has an address this node cannot dial (${(e as Error).message}); not dialing it`);
      return;
    }
    this.transport.addPeer({ id: node, ...at });
  }

  private dropPeer(node: NodeId): void {
    if (node === this.opts.nodeId) {
      this.opts.log(`node ${node} (this node) was removed from the cluster; it no longer takes part`);
      return;
    }
    this.transport.removePeer(node);
  }

  private adoptClusterId(id: string): void {
    if (this.identity.clusterId === id) {
      this.transport.setClusterId(id);
      return;
    }
    if (this.identity.clusterId !== null) {
      this.opts.log(`this data dir belongs to cluster "${this.identity.clusterId}" but the log says "${id}"; keeping the data dir's`);
      return;
    }
    this.identity.clusterId = id;
    writeIdentity(this.opts.layer, this.opts.dataDir, this.identity);
    this.transport.setClusterId(id);
  }

  /**
   * Peer policy on top of the transport's node id and cluster id checks:
   * once this node knows its cluster id, a node that is not a voter and
   * dials it without one is refused (a node of a cluster that has not
   * bootstrapped yet, a removed node's wiped dir). A voter without one is
   * let in: an initial voter that starts after the others bootstrapped has
   * no id until it applies initCluster, and it needs its link to the leader
   * to answer appends (refusing it would stall it for good). Links this
   * node dials are allowed. Once membership is recorded here (this node is
   * a member), a node that is neither a member nor a voter is refused.
   */
  private acceptPeer(remote: RemotePeer): string | null {
    const bound = this.meta.dataDirs().get(remote.nodeId);
    if (bound !== undefined && remote.dataDirId !== bound) return dataDirReplacedSentence(remote.nodeId);
    const why = this.peerPolicy(remote);
    if (why === null && remote.dataDirId !== null) this.seenDataDirs.set(remote.nodeId, remote.dataDirId);
    if (why === null) this.seenRoles.set(remote.nodeId, remote.roles ?? ['sequencer', 'storage']);
    return why;
  }

  private peerPolicy(remote: RemotePeer): string | null {
    const cid = this.transport.clusterId;
    const voter = this.driver.status().voters.includes(remote.nodeId);
    if (remote.direction === 'inbound' && cid !== null && remote.clusterId === null && !voter) {
      return `node ${remote.nodeId} has no cluster id but node ${this.opts.nodeId} belongs to cluster "${cid}"; a new or wiped node joins with --join`;
    }
    const members = this.meta.members();
    if (!members.has(this.opts.nodeId)) return null;
    if (members.has(remote.nodeId) || voter) return null;
    return `node ${remote.nodeId} is not a member of the cluster of node ${this.opts.nodeId} (removed, or never added); a new node joins with --join`;
  }

  /**
   * On the leader: binds each node id whose data dir it has seen (its own,
   * and every peer's accepted hello) and that the cluster has not bound yet
   * (bindDataDir), so a wiped node that comes back under the same id is
   * refused from then on (acceptPeer, on every node). Only voters and
   * members are bound; a CONFLICT (another node bound it first) is logged.
   */
  private async bindDataDirs(): Promise<void> {
    if (this.binding || this.closed || this.fatal !== null || this.driver.status().role !== 'leader') return;
    this.binding = true;
    try {
      const voters = this.driver.status().voters;
      const want = new Map(this.seenDataDirs);
      want.set(this.opts.nodeId, this.identity.dataDirId);
      for (const [node, dataDirId] of want) {
        if (this.meta.dataDirs().has(node)) continue;
        if (!voters.includes(node) && !this.meta.members().has(node)) continue;
        await this.meta.runClusterCommand({ op: 'bindDataDir', node, dataDirId }).catch((e: unknown) => {
          if (e instanceof MetaError) this.opts.log(`could not bind the data dir of node ${node}: ${e.message}`);
          else throw e;
        });
      }
    } catch (e) {
      if (!(e instanceof NotLeaderError) && !(e instanceof OutcomeUnknownError)) this.opts.log(`binding data dirs failed: ${(e as Error).message}`);
    } finally {
      this.binding = false;
    }
  }

  // ------------------------------------------------------------ writes and reads

  /**
   * retryUnknown: the command may be sent again after an OUTCOME_UNKNOWN
   * (the caller can tell its own earlier success from the answer, as
   * createStream can by the incarnation it drew); otherwise an unknown
   * outcome is the answer.
   */
  private async submit(data: Uint8Array, retryUnknown: boolean): Promise<AppliedOutcome> {
    const deadline = Date.now() + SUBMIT_TIMEOUT_MS;
    for (;;) {
      if (this.closed) throw new NotLeaderError(null, 'the node is stopping');
      const s = this.driver.status();
      try {
        if (s.role === 'leader') return (await this.driver.propose(data)) as AppliedOutcome;
        if (s.leaderId !== 0 && this.linkUp(s.leaderId)) {
          const r = await this.rpc(s.leaderId, 'forward', { data });
          if (isObj(r.outcome)) return r.outcome as AppliedOutcome;
          throw remoteError(r.error as RemoteError);
        }
      } catch (e) {
        const again = e instanceof NotLeaderError || (retryUnknown && e instanceof OutcomeUnknownError);
        if (!again || Date.now() >= deadline) throw e; // an unknown outcome is never retried blindly (no double apply)
      }
      if (Date.now() >= deadline) throw new NotLeaderError(null, `no leader accepted the command within ${SUBMIT_TIMEOUT_MS} ms`);
      await sleep(this.opts.tickMs ?? CLUSTER_TICK_MS);
    }
  }

  private async current(): Promise<void> {
    const deadline = Date.now() + SUBMIT_TIMEOUT_MS;
    for (;;) {
      const s = this.driver.status();
      try {
        if (s.role === 'leader') return await this.driver.readBarrier();
        if (s.leaderId !== 0 && this.linkUp(s.leaderId)) {
          const r = await this.rpc(s.leaderId, 'read-index', {});
          if (isInt(r.index)) return await this.driver.waitApplied(r.index as number);
          throw remoteError(r.error as RemoteError);
        }
      } catch (e) {
        if (!(e instanceof NotLeaderError) && !(e instanceof OutcomeUnknownError)) throw e; // a read may be retried
      }
      if (Date.now() >= deadline) throw new NotLeaderError(null, `no leader confirmed a read within ${SUBMIT_TIMEOUT_MS} ms`);
      await sleep(this.opts.tickMs ?? CLUSTER_TICK_MS);
    }
  }

  /**
   * The link to a node is connected. A leader that was just killed is still
   * this node's leader until the election timeout passes, but its link is
   * already down: forwarding to it would only wait out FORWARD_TIMEOUT_MS
   * and end OUTCOME_UNKNOWN, so the command waits for the next leader instead.
   */
  private linkUp(id: NodeId): boolean {
    return this.transport.status().some((l) => l.id === id && l.connected);
  }

  private rpc(to: NodeId, kind: 'forward' | 'read-index' | 'member-change' | 'liveness', body: Record<string, unknown>, timeoutMs = FORWARD_TIMEOUT_MS): Promise<Record<string, unknown>> {
    if (this.pending.size >= FORWARDS_PENDING_MAX) return Promise.reject(new NotLeaderError(null, `${FORWARDS_PENDING_MAX} forwarded requests are already waiting`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const started = Date.now();
      // Checked every tick: the answer, or the leader gone (its link down, or another leader known), or the timeout.
      const timer = setInterval(() => {
        // A membership change that removes the leader itself is answered after the leader stepped down: for
        // those only a dead link counts as gone.
        const gone = !this.linkUp(to) || (kind !== 'member-change' && this.driver.status().leaderId !== to);
        if (!gone && Date.now() - started < timeoutMs) return;
        clearInterval(timer);
        this.pending.delete(id);
        const why = gone ? `node ${to} stopped leading or its link went down before it answered` : `node ${to} did not answer within ${timeoutMs} ms`;
        const what = kind === 'forward' ? 'A forwarded command' : kind === 'member-change' ? 'A forwarded membership change' : 'A read-index request';
        reject(new OutcomeUnknownError(`${what} has no answer: ${why}${kind === 'read-index' ? '' : '; it may still take effect'}.`));
      }, this.opts.tickMs ?? CLUSTER_TICK_MS);
      this.pending.set(id, { resolve, reject, timer });
      if (!this.transport.send(to, { kind, body: { ...body, id } })) {
        clearInterval(timer);
        this.pending.delete(id);
        reject(new NotLeaderError(null, `the link to node ${to} is full`)); // dropped: nothing was sent
      }
    });
  }

  private onPeer(from: NodeId, msg: PeerMessage): void {
    const b = msg.body as Record<string, unknown>;
    switch (msg.kind) {
      case 'raft':
        this.driver.receive(b as unknown as Message);
        return;
      case 'forward':
        this.driver.propose(b.data as Uint8Array).then(
          (outcome) => this.reply(from, 'forward-result', { id: b.id, outcome }),
          (e: unknown) => this.reply(from, 'forward-result', { id: b.id, error: toRemote(e) }),
        );
        return;
      case 'liveness':
        this.reply(from, 'liveness-result', { id: b.id, nodes: [...this.liveness()].map(([id, l]) => ({ id, up: l.up, lastContactMs: l.lastContactMs })) });
        return;
      case 'read-index':
        this.driver.readIndex().then(
          (index) => this.reply(from, 'read-index-result', { id: b.id, index }),
          (e: unknown) => this.reply(from, 'read-index-result', { id: b.id, error: toRemote(e) }),
        );
        return;
      case 'member-change':
        this.leaderChange(b.op as 'add' | 'remove', b.node as NodeId, (b.address as string | undefined) ?? '').then(
          (answer) => this.reply(from, 'member-change-result', { id: b.id, answer }),
          (e: unknown) => this.reply(from, 'member-change-result', { id: b.id, error: toRemote(e) }),
        );
        return;
      case 'forward-result':
      case 'liveness-result':
      case 'read-index-result':
      case 'member-change-result': {
        const p = this.pending.get(b.id as number);
        if (p === undefined) return; // late answer after a timeout
        this.pending.delete(b.id as number);
        clearInterval(p.timer);
        p.resolve(b);
        return;
      }
      default:
        this.opts.extension?.onMessage(from, msg);
    }
  }

  /** Sends a message of an extension kind; false when dropped (no link, queue bound). */
  sendPeer(to: NodeId, msg: PeerMessage): boolean {
    if (this.closed) return false;
    return this.transport.send(to, msg);
  }

  /** Whether a node may be a shard's sequencer (its --roles, from its hello; unknown: yes). */
  canSequence(node: NodeId): boolean {
    const roles = node === this.opts.nodeId ? (this.opts.roles ?? ['sequencer']) : this.seenRoles.get(node);
    return roles === undefined || roles.includes('sequencer');
  }

  /** True while this node leads the MetaStore's Raft group. */
  get isLeader(): boolean {
    return this.driver.status().role === 'leader';
  }

  /** The current voters (Raft configuration). */
  get voters(): readonly NodeId[] {
    return this.driver.status().voters;
  }

  /** The address clients reach a node at (members' records; this node's own listening address). */
  addressOf(node: NodeId): string | null {
    if (node === this.opts.nodeId) return this.selfAddress;
    return this.meta.members().get(node) ?? null;
  }

  private reply(to: NodeId, kind: string, body: Record<string, unknown>): void {
    this.transport.send(to, { kind, body });
  }
}

interface Identity {
  nodeId: NodeId;
  /** The cluster this data dir belongs to; null until bootstrap or join. */
  clusterId: string | null;
  /** Random, drawn when the data dir is first used as a cluster node's: a wiped (or replaced) data dir gets another one. */
  dataDirId: string;
}

function identityPath(dataDir: string): { dir: string; file: string } {
  const dir = join(dataDir, CLUSTER_DIR_NAME);
  return { dir, file: join(dir, IDENTITY_FILE) };
}

function writeIdentity(layer: FileLayer, dataDir: string, identity: Identity): void {
  writeFileAtomic(layer, identityPath(dataDir).dir, IDENTITY_FILE, new TextEncoder().encode(`${JSON.stringify({ v: 1, ...identity })}\n`));
}

function newDataDirId(): string {
  return randomBytes(DATA_DIR_ID_BYTES).toString('hex');
}

/** Reads (or creates) <data-dir>/@cluster/node.json: {v: 1, nodeId, clusterId, dataDirId}; refuses a data dir of another node. */
function checkIdentity(layer: FileLayer, dataDir: string, nodeId: NodeId): Identity {
  const { dir, file } = identityPath(dataDir);
  layer.mkdirp(dir);
  const bytes = readWholeFile(layer, file);
  if (bytes === null) {
    const fresh = { nodeId, clusterId: null, dataDirId: newDataDirId() };
    writeIdentity(layer, dataDir, fresh);
    return fresh;
  }
  let stored: unknown;
  try {
    stored = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error(`${file} is not valid JSON; the data dir's cluster identity is damaged.`);
  }
  const id = isObj(stored) ? stored.nodeId : undefined;
  if (id !== nodeId) {
    throw new Error(`The data dir ${dataDir} belongs to node ${String(id)}, not node ${nodeId}: start it with --node-id ${String(id)}, or use another --data-dir.`);
  }
  const clusterId = isObj(stored) && typeof stored.clusterId === 'string' ? stored.clusterId : null;
  const dataDirId = isObj(stored) && typeof stored.dataDirId === 'string' && /^[0-9a-f]{32}$/.test(stored.dataDirId) ? stored.dataDirId : null;
  if (dataDirId !== null) return { nodeId, clusterId, dataDirId };
  // node.json from before data dir ids: draw one now (the cluster has none bound for this node yet).
  const upgraded = { nodeId, clusterId, dataDirId: newDataDirId() };
  writeIdentity(layer, dataDir, upgraded);
  return upgraded;
}

function invalid(message: string): MetaError {
  return new MetaError('INVALID_ARGUMENT', message);
}

function conflictAsInvalid(e: unknown): never {
  if (e instanceof MetaError && e.code === 'CONFLICT') throw invalid(e.message);
  throw e;
}

function ignoreMetaError(e: unknown): void {
  if (!(e instanceof MetaError)) throw e;
}

function toRemote(e: unknown): RemoteError {
  if (e instanceof NotLeaderError) return { code: 'NOT_LEADER', message: e.message, leaderId: e.leaderId };
  const err = e as { code?: unknown; message?: unknown };
  return { code: typeof err.code === 'string' ? err.code : 'INTERNAL', message: String(err.message ?? e), leaderId: null };
}

function remoteError(e: RemoteError): Error {
  if (e.code === 'NOT_LEADER') return new NotLeaderError(e.leaderId, e.message);
  if (e.code === 'OUTCOME_UNKNOWN') return new OutcomeUnknownError(e.message);
  const err = new Error(e.message) as Error & { code: string };
  err.code = e.code;
  return err;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
