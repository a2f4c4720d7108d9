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
 * belongs to; starting it with another --node-id is refused (a data dir
 * holds one node's Raft state: reusing it under another id would make two
 * voters of one disk).
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { Message, RaftConfig } from '../consensus/index.js';
import type { FileLayer } from '../fs/file-layer.js';
import { readWholeFile, writeFileAtomic } from '../fs/file-layer.js';
import type { NodeId } from '../metastore/types.js';
import type { PeerAddress } from './peer-address.js';
import type { PeerMessage } from './peer-message.js';
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
/** Raft timing: heartbeat every 2 ticks, election timeout 10-20 ticks (300-600 ms with CLUSTER_TICK_MS ticks). */
export const RAFT_HEARTBEAT_TICKS = 2;
export const RAFT_ELECTION_TICKS = 10;
/** Commands in one append message, unacknowledged entries per follower, uncommitted proposals, pending reads. */
export const RAFT_APPEND_ENTRIES_MAX = 64;
export const RAFT_IN_FLIGHT_ENTRIES_MAX = 256;
export const RAFT_UNCOMMITTED_ENTRIES_MAX = 1024;
export const RAFT_PENDING_READS_MAX = 1024;

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
}

export interface ClusterStatus {
  nodeId: NodeId;
  leader: NodeId | null;
  term: number;
  role: string;
  commit: number;
  applied: number;
  voters: NodeId[];
  nodes: { id: NodeId; address: string; up: boolean; voter: boolean; lastContactMs: number | null }[];
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

  private constructor(
    private readonly opts: ClusterNodeOptions,
    private readonly disk: RaftDisk,
    durable: ReturnType<typeof RaftDisk.open>['durable'],
    private selfAddress: string,
  ) {
    const id = opts.nodeId;
    this.meta = new ReplicatedMetaStore({ submit: (data, retryUnknown) => this.submit(data, retryUnknown), current: () => this.current() });
    this.transport = new PeerTransport({
      nodeId: id,
      clusterId: null,
      peers: opts.peers,
      kinds: {
        raft: checkRaftMessage,
        forward: (b) => (isObj(b) && isInt(b.id) && b.data instanceof Uint8Array ? null : 'needs id and data bytes'),
        'forward-result': (b) => (isObj(b) && isInt(b.id) && (isObj(b.outcome) || isObj(b.error)) ? null : 'needs id and outcome or error'),
        'read-index': (b) => (isObj(b) && isInt(b.id) ? null : 'needs id'),
        'read-index-result': (b) => (isObj(b) && isInt(b.id) && (isInt(b.index) || isObj(b.error)) ? null : 'needs id and index or error'),
      },
      onMessage: (from, msg) => this.onPeer(from, msg),
      log: opts.log,
    });
    const voters = [id, ...opts.peers.map((p) => p.id)].sort((a, b) => a - b);
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
        onFatal: (err) => {
          this.fatal = err;
          opts.log(`the MetaStore's Raft group stopped on this node: ${err.message}; restart the node to recover from what is durable`);
        },
      },
    );
  }

  /** The address clients and peers reach this node at (known once the node listens). */
  setSelfAddress(address: string): void {
    this.selfAddress = address;
  }

  /** Opens the node's Raft state and starts its clock and links. */
  static open(opts: ClusterNodeOptions, selfAddress: string): ClusterNode {
    checkIdentity(opts.layer, opts.dataDir, opts.nodeId);
    const { disk, durable } = RaftDisk.open(raftDiskDir(opts.dataDir), opts.layer);
    const node = new ClusterNode(opts, disk, durable, selfAddress);
    node.driver.start();
    return node;
  }

  get nodeId(): NodeId {
    return this.opts.nodeId;
  }

  /** The node's listener hands over a connection whose hello says role 'peer'. */
  adoptPeer(...args: Parameters<PeerTransport['adopt']>): void {
    this.transport.adopt(...args);
  }

  status(): ClusterStatus {
    const s = this.driver.status();
    const links = new Map<NodeId, PeerLinkStatus>(this.transport.status().map((l) => [l.id, l]));
    const ids = [...new Set([this.opts.nodeId, ...s.voters, ...links.keys()])].sort((a, b) => a - b);
    return {
      nodeId: this.opts.nodeId,
      leader: s.leaderId === 0 ? null : s.leaderId,
      term: s.term,
      role: s.role,
      commit: s.commit,
      applied: s.applied,
      voters: [...s.voters],
      nodes: ids.map((id) => {
        if (id === this.opts.nodeId) return { id, address: this.selfAddress, up: this.fatal === null, voter: s.voters.includes(id), lastContactMs: 0 };
        const l = links.get(id);
        return { id, address: l?.address ?? '', up: l !== undefined && l.connected && l.inbound, voter: s.voters.includes(id), lastContactMs: l?.lastContactMs ?? null };
      }),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.driver.stop();
    for (const [, p] of this.pending) {
      clearInterval(p.timer);
      p.reject(new NotLeaderError(null, 'the node is stopping'));
    }
    this.pending.clear();
    await this.transport.close();
    this.disk.close();
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

  private rpc(to: NodeId, kind: 'forward' | 'read-index', body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.pending.size >= FORWARDS_PENDING_MAX) return Promise.reject(new NotLeaderError(null, `${FORWARDS_PENDING_MAX} forwarded requests are already waiting`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const started = Date.now();
      // Checked every tick: the answer, or the leader gone (its link down, or another leader known), or the timeout.
      const timer = setInterval(() => {
        const gone = !this.linkUp(to) || this.driver.status().leaderId !== to;
        if (!gone && Date.now() - started < FORWARD_TIMEOUT_MS) return;
        clearInterval(timer);
        this.pending.delete(id);
        const why = gone ? `node ${to} stopped leading or its link went down before it answered` : `node ${to} did not answer within ${FORWARD_TIMEOUT_MS} ms`;
        reject(new OutcomeUnknownError(kind === 'forward' ? `A forwarded command has no answer: ${why}; it may still take effect.` : `A read-index request has no answer: ${why}.`));
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
      case 'read-index':
        this.driver.readIndex().then(
          (index) => this.reply(from, 'read-index-result', { id: b.id, index }),
          (e: unknown) => this.reply(from, 'read-index-result', { id: b.id, error: toRemote(e) }),
        );
        return;
      case 'forward-result':
      case 'read-index-result': {
        const p = this.pending.get(b.id as number);
        if (p === undefined) return; // late answer after a timeout
        this.pending.delete(b.id as number);
        clearInterval(p.timer);
        p.resolve(b);
        return;
      }
    }
  }

  private reply(to: NodeId, kind: string, body: Record<string, unknown>): void {
    this.transport.send(to, { kind, body });
  }
}

function checkIdentity(layer: FileLayer, dataDir: string, nodeId: NodeId): void {
  const dir = join(dataDir, CLUSTER_DIR_NAME);
  layer.mkdirp(dir);
  const bytes = readWholeFile(layer, join(dir, IDENTITY_FILE));
  if (bytes === null) {
    writeFileAtomic(layer, dir, IDENTITY_FILE, new TextEncoder().encode(`${JSON.stringify({ v: 1, nodeId })}\n`));
    return;
  }
  let stored: unknown;
  try {
    stored = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error(`${join(dir, IDENTITY_FILE)} is not valid JSON; the data dir's cluster identity is damaged.`);
  }
  const id = isObj(stored) ? stored.nodeId : undefined;
  if (id !== nodeId) {
    throw new Error(`The data dir ${dataDir} belongs to node ${String(id)}, not node ${nodeId}: start it with --node-id ${String(id)}, or use another --data-dir.`);
  }
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
