/**
 * PeerTransport: this node's links to the other nodes of its cluster
 * (docs/CLUSTER.md, "Peer links").
 *
 *   const t = new PeerTransport({
 *     nodeId: 1, clusterId: null, peers: parsePeers('2@10.0.0.2:7070,3@10.0.0.3:7070', 1),
 *     kinds: { raft: checkRaftBody },           // known message kinds and their shape checks
 *     onMessage: (from, msg) => ...,            // every inbound message that passed the checks
 *     acceptPeer: (remote) => null | 'reason',  // extra identity policy (both directions)
 *     log: (line) => ...,
 *   });
 *   t.send(2, { kind: 'raft', body });          // never blocks, never throws; false = dropped
 *   t.adopt(socket, helloHeader, requestId, bufferedBytes)  // the node hands over a peer hello
 *   t.status()                                  // per-peer link state for `cluster status`
 *   await t.close()
 *
 * Each configured peer has one outbound link (peer-link.ts) that this node
 * dials and only writes to. Messages from a peer arrive on the inbound link
 * it dialed (peer-inbound.ts), adopted from the node's listener after its
 * hello passed the identity checks (peer-hello.ts). A newer inbound link from
 * the same peer replaces the older one. `listen()` runs a peers-only
 * listener for tests and tools; the node instead calls `adopt()` from its
 * own hello handling, so one port serves clients and peers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { wireError, type WireError } from '../protocol/errors.js';
import { FLAG_ERROR, FLAG_RESPONSE, encodeFrame, unpackHeader } from '../protocol/frame.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { HEADER_BYTES_MAX } from '../protocol/limits.js';
import { OP } from '../protocol/ops.js';
import { isNodeId, type NodeId, type PeerAddress } from './peer-address.js';
import { isPeerHello, judgePeerHello, type AcceptPeer, type LocalIdentity, type NodeRole } from './peer-hello.js';
import { InboundLink } from './peer-inbound.js';
import { OutboundLink, type LinkBounds, type OutboundLinkStatus } from './peer-link.js';
import {
  PEER_BACKOFF_MS_MAX,
  PEER_BACKOFF_MS_MIN,
  PEER_CLOSE_LINGER_MS,
  PEER_FRAME_BYTES_MAX,
  PEER_HANDSHAKE_MS_MAX,
  PEER_QUEUE_BYTES_MAX,
  PEER_QUEUE_MESSAGES_MAX,
  PEER_WRITE_STALL_MS_MAX,
} from './peer-limits.js';
import type { KindCheck, PeerMessage } from './peer-message.js';

export interface PeerTransportOptions extends Partial<LinkBounds> {
  nodeId: NodeId;
  /** null while the node has no cluster id yet (set it later with setClusterId). */
  clusterId?: string | null;
  /** The id of this node's data dir, sent in every hello (null or absent: none). */
  dataDirId?: string | null;
  /** This node's roles, sent in every hello (absent: both). */
  roles?: NodeRole[];
  /** The other voters and the addresses this node dials them at. */
  peers: readonly PeerAddress[];
  /** Known message kinds and their body checks; any other kind closes the link that sent it. */
  kinds: Readonly<Record<string, KindCheck>>;
  /** Kinds that carry raw bytes as the frame body (PeerMessage.raw). */
  rawKinds?: readonly string[];
  onMessage: (from: NodeId, msg: PeerMessage) => void;
  acceptPeer?: AcceptPeer;
  log?: (line: string) => void;
}

/** One row of `cluster status` per configured peer: its outbound link's state (OutboundLinkStatus, `state` being this node to the peer) and more. */
export interface PeerLinkStatus extends OutboundLinkStatus {
  id: NodeId;
  address: string;
  /** The outbound link is connected and past hello. */
  connected: boolean;
  /** The peer's link to this node is open. */
  inbound: boolean;
  /** Milliseconds (monotonic) since the peer was last heard from (a message or a hello answer); null if never. */
  lastContactMs: number | null;
}

export class PeerTransport {
  private readonly self: LocalIdentity;
  private readonly bounds: LinkBounds;
  private readonly kinds: ReadonlyMap<string, KindCheck>;
  private readonly rawKinds: ReadonlySet<string>;
  private readonly log: (line: string) => void;
  private readonly outbound = new Map<NodeId, OutboundLink>();
  private readonly inbound = new Map<NodeId, InboundLink>();
  /** performance.now() of the last contact per peer. */
  private readonly contact = new Map<NodeId, number>();
  private readonly pending = new Set<Socket>();
  private readonly servers: Server[] = [];
  private closed = false;
  /** Inbound hellos refused so far (each is logged with its reason). */
  refusedHellos = 0;
  /** Inbound links closed for a bad frame or message (each is logged with its reason). */
  badLinks = 0;
  /** Messages given to send() for a node that is not a configured peer. */
  unknownPeerDrops = 0;

  constructor(private readonly o: PeerTransportOptions) {
    if (!isNodeId(o.nodeId)) throw new RangeError(`nodeId must be a positive integer; got ${String(o.nodeId)}`);
    this.self = { nodeId: o.nodeId, clusterId: o.clusterId ?? null, dataDirId: o.dataDirId ?? null, ...(o.roles === undefined ? {} : { roles: o.roles }) };
    this.bounds = {
      queueMessagesMax: o.queueMessagesMax ?? PEER_QUEUE_MESSAGES_MAX,
      queueBytesMax: o.queueBytesMax ?? PEER_QUEUE_BYTES_MAX,
      frameBytesMax: o.frameBytesMax ?? PEER_FRAME_BYTES_MAX,
      backoffMsMin: o.backoffMsMin ?? PEER_BACKOFF_MS_MIN,
      backoffMsMax: o.backoffMsMax ?? PEER_BACKOFF_MS_MAX,
      handshakeMsMax: o.handshakeMsMax ?? PEER_HANDSHAKE_MS_MAX,
      writeStallMsMax: o.writeStallMsMax ?? PEER_WRITE_STALL_MS_MAX,
    };
    for (const [k, v] of Object.entries(this.bounds)) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer; got ${v}`);
    }
    if (this.bounds.backoffMsMin > this.bounds.backoffMsMax) throw new RangeError('backoffMsMin must not exceed backoffMsMax');
    this.kinds = new Map(Object.entries(o.kinds));
    this.rawKinds = new Set(o.rawKinds ?? []);
    this.log = o.log ?? ((line) => console.error(line));
    for (const p of o.peers) this.addPeer(p);
  }

  get nodeId(): NodeId {
    return this.self.nodeId;
  }

  get clusterId(): string | null {
    return this.self.clusterId;
  }

  /** Sets the cluster id (at bootstrap or join); later hellos carry and check it. */
  setClusterId(id: string | null): void {
    this.self.clusterId = id;
  }

  /** Starts dialing a peer (membership change). Refuses self and a known id. */
  addPeer(peer: PeerAddress): void {
    if (this.closed) throw new Error('the peer transport is closed');
    if (peer.id === this.self.nodeId) throw new RangeError(`node ${peer.id} is this node; it cannot be its own peer`);
    if (this.outbound.has(peer.id)) throw new RangeError(`node ${peer.id} is already a peer`);
    const link = new OutboundLink({
      ...this.bounds,
      peer,
      self: () => this.self,
      policy: this.o.acceptPeer,
      log: this.log,
      onContact: (id) => this.contact.set(id, performance.now()),
    });
    this.outbound.set(peer.id, link);
  }

  /** Stops dialing a peer and closes both its links (its queued messages are discarded). */
  removePeer(id: NodeId): void {
    this.outbound.get(id)?.close();
    this.outbound.delete(id);
    this.inbound.get(id)?.close();
    this.contact.delete(id);
  }

  /**
   * Queues `msg` for node `to`. Never blocks and never throws for network
   * reasons: returns false when the message was dropped (queue bound, too
   * large, unknown peer, transport closed) — Raft retries on its own.
   */
  send(to: NodeId, msg: PeerMessage): boolean {
    const link = this.outbound.get(to);
    if (link === undefined) {
      this.unknownPeerDrops++;
      return false;
    }
    return link.send(msg);
  }

  /**
   * Takes over a socket whose first frame was a hello with role 'peer'.
   * `header` is that hello's decoded control header, `requestId` its request
   * id, and `bufferedBytes` what the caller's decoder holds past the hello
   * (must be 0: a dialer sends nothing before the answer). The caller must
   * stop reading and handling the socket before this call; the transport
   * answers (or refuses and closes) and from then on owns the socket.
   */
  adopt(socket: Socket, header: unknown, requestId: number, bufferedBytes = 0): void {
    socket.on('error', () => undefined);
    const local = `${socket.localAddress ?? '?'}:${socket.localPort ?? '?'}`;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    let verdict = judgePeerHello(header, this.self, local, remote, this.o.acceptPeer);
    if (this.closed) verdict = { refusal: wireError('PEER_REFUSED', `node ${this.self.nodeId} is shutting down`) };
    else if (bufferedBytes > 0 && 'answer' in verdict) {
      verdict = { refusal: wireError('BAD_REQUEST', `the dialer sent ${bufferedBytes} bytes before the hello answer`) };
    }
    if ('refusal' in verdict) return this.refuse(socket, requestId, verdict.refusal, header, remote);
    const peerId = (header as { from: NodeId }).from;
    for (const p of encodeFrame({ version: 1, flags: FLAG_RESPONSE, op: OP.HELLO, requestId, header: verdict.answer })) socket.write(p);
    this.contact.set(peerId, performance.now());
    this.inbound.get(peerId)?.close();
    const link = new InboundLink(socket, {
      peerId,
      selfId: this.self.nodeId,
      version: verdict.answer.version,
      frameBytesMax: this.bounds.frameBytesMax,
      kinds: this.kinds,
      rawKinds: this.rawKinds,
      deliver: (from, msg) => {
        this.contact.set(from, performance.now());
        this.o.onMessage(from, msg);
      },
      onEnd: (l, reason) => {
        if (this.inbound.get(l.peerId) === l) this.inbound.delete(l.peerId);
        if (reason !== null) this.badLinks++;
      },
      log: this.log,
    });
    this.inbound.set(peerId, link);
  }

  /**
   * Listens for peers only on host:port (tests and tools; the node serves
   * peers on its client port through adopt()). Resolves with the bound port.
   */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer((socket) => this.readHello(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
    const a = server.address();
    return typeof a === 'object' && a !== null ? a.port : port;
  }

  /** Per-peer link state, in peer id order. */
  status(): PeerLinkStatus[] {
    const now = performance.now();
    return [...this.outbound.values()]
      .sort((a, b) => a.id - b.id)
      .map((l) => {
        const s = l.status();
        const seen = this.contact.get(l.id);
        return {
          id: l.id,
          address: l.address,
          state: s.state,
          connected: s.state === 'connected',
          inbound: this.inbound.has(l.id),
          lastContactMs: seen === undefined ? null : Math.round(now - seen),
          queued: s.queued,
          queuedBytes: s.queuedBytes,
          dropped: s.dropped,
          reconnects: s.reconnects,
          lastError: s.lastError,
          writeBufferBytes: s.writeBufferBytes,
        };
      });
  }

  /** Closes every link and listener; later sends are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.outbound.values()) l.close();
    for (const l of this.inbound.values()) l.close();
    this.inbound.clear();
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private refuse(socket: Socket, requestId: number, err: WireError, header: unknown, remote: string): void {
    this.refusedHellos++;
    const from = (header as { from?: unknown } | null)?.from;
    this.log(`refused the peer hello of ${isNodeId(from) ? `node ${from}` : 'a peer'} from ${remote}: ${err.message}`);
    socket.removeAllListeners('data');
    socket.pause();
    for (const p of encodeFrame({ version: 1, flags: FLAG_RESPONSE | FLAG_ERROR, op: OP.HELLO, requestId, header: err })) socket.write(p);
    socket.end();
    setTimeout(() => socket.destroy(), PEER_CLOSE_LINGER_MS).unref();
  }

  /** listen()'s connections: read the first frame, hand a peer hello to adopt(), refuse anything else. */
  private readHello(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.closed) return void socket.destroy();
    this.pending.add(socket);
    const decoder = new FrameDecoder({ frameBytesMax: this.bounds.frameBytesMax, headerBytesMax: HEADER_BYTES_MAX });
    const timer = setTimeout(() => socket.destroy(), this.bounds.handshakeMsMax);
    const done = (): void => {
      clearTimeout(timer);
      this.pending.delete(socket);
      socket.removeListener('data', onData);
    };
    socket.on('close', done);
    const onData = (chunk: Buffer): void => {
      decoder.push(chunk);
      const r = decoder.next();
      if (r === null) return;
      done();
      const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      if ('error' in r) return this.refuse(socket, r.error.requestId, wireError(r.error.problem, r.error.message), null, remote);
      let header: unknown = null;
      try {
        header = unpackHeader(r.frame.header);
      } catch {
        // refused below
      }
      if (r.frame.op !== OP.HELLO || !isPeerHello(header)) {
        return this.refuse(socket, r.frame.requestId, wireError('BAD_REQUEST', 'this listener takes peer hellos only'), null, remote);
      }
      this.adopt(socket, header, r.frame.requestId, decoder.bufferedBytes);
    };
    socket.on('data', onData);
  }
}
