/**
 * One outbound peer link: this node dials one peer, proves its identity with
 * the peer hello, then streams messages to it. The dialer only sends; the
 * acceptor only answers the hello (or, before closing, one error frame).
 * Messages from the peer come on the peer's own outbound link to us.
 *
 * - send() never blocks and never throws: it encodes the message, queues it
 *   (bounded in messages and bytes; past a bound the newest is dropped and
 *   counted) and schedules one flush per event-loop turn.
 * - flush writes queued frames corked (one writev) while the socket is not
 *   asking to drain, and resumes on 'drain' (write-side backpressure).
 * - Failure (refused, closed, connect error, no hello answer within
 *   handshakeMsMax, no drain within writeStallMsMax) destroys the socket and
 *   redials after an exponential backoff with jitter. Queued messages wait
 *   for the next connection; those already handed to a dead socket are lost
 *   (Raft tolerates loss).
 */
import { connect, type Socket } from 'node:net';
import type { WireError } from '../protocol/errors.js';
import { FLAG_ERROR, FLAG_RESPONSE, encodeFrame, unpackHeader, type Frame } from '../protocol/frame.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { HEADER_BYTES_MAX, PROTOCOL_VERSION } from '../protocol/limits.js';
import { OP } from '../protocol/ops.js';
import type { NodeId, PeerAddress } from './peer-address.js';
import { helloRequest, judgePeerHelloAnswer, parsePeerHelloAnswer, refusalSentence, type AcceptPeer, type LocalIdentity } from './peer-hello.js';
import { PEER_KEEPALIVE_MS } from './peer-limits.js';
import { encodePeerMessage, type PeerMessage } from './peer-message.js';
import { PeerQueue } from './peer-queue.js';

/** 'backoff': waiting to redial after a failure; 'closed': removed or transport closed. */
export type LinkState = 'connecting' | 'handshake' | 'connected' | 'backoff' | 'closed';

export interface LinkBounds {
  queueMessagesMax: number;
  queueBytesMax: number;
  frameBytesMax: number;
  backoffMsMin: number;
  backoffMsMax: number;
  handshakeMsMax: number;
  writeStallMsMax: number;
}

export interface OutboundLinkOptions extends LinkBounds {
  peer: PeerAddress;
  /** Read at every dial (the cluster id may be set after start). */
  self: () => LocalIdentity;
  policy: AcceptPeer | undefined;
  log: (line: string) => void;
  /** Called when the peer answers a hello (it counts as contact). */
  onContact: (id: NodeId) => void;
}

export interface OutboundLinkStatus {
  state: LinkState;
  queued: number;
  queuedBytes: number;
  dropped: number;
  reconnects: number;
  lastError: string | null;
  /** Bytes written to the socket that Node has not yet handed to the kernel (at most its high-water mark plus one frame). */
  writeBufferBytes: number;
}

export class OutboundLink {
  private state: LinkState = 'connecting';
  private socket: Socket | null = null;
  private readonly queue: PeerQueue;
  private version = PROTOCOL_VERSION;
  private seq = 0;
  private failures = 0;
  private dropped = 0;
  private reconnects = 0;
  private lastError: string | null = null;
  private flushScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: OutboundLinkOptions) {
    this.queue = new PeerQueue(o.queueMessagesMax, o.queueBytesMax);
    this.dial();
  }

  get id(): NodeId {
    return this.o.peer.id;
  }

  get address(): string {
    return this.o.peer.address;
  }

  status(): OutboundLinkStatus {
    return {
      state: this.state,
      queued: this.queue.length,
      queuedBytes: this.queue.bytes,
      dropped: this.dropped,
      reconnects: this.reconnects,
      lastError: this.lastError,
      writeBufferBytes: this.socket?.writableLength ?? 0,
    };
  }

  /** Queues a message; false when it was dropped (bound reached, too large, unencodable, or the link is closed). Never throws. */
  send(msg: PeerMessage): boolean {
    if (this.state === 'closed') return this.drop(null);
    let parts: Uint8Array[];
    try {
      parts = encodePeerMessage(this.version, ++this.seq, this.o.self().nodeId, this.id, msg);
    } catch (err) {
      return this.drop(`a "${msg.kind}" message could not be encoded: ${(err as Error).message}`);
    }
    let bytes = 0;
    for (const p of parts) bytes += p.length;
    if (bytes > this.o.frameBytesMax) return this.drop(`a "${msg.kind}" message of ${bytes} bytes exceeds the peer frame bound ${this.o.frameBytesMax}`);
    if (!this.queue.push({ parts, bytes })) return this.drop(null);
    this.scheduleFlush();
    return true;
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimers();
    this.queue.clear();
    this.dropSocket();
  }

  private drop(reason: string | null): boolean {
    this.dropped++;
    if (reason !== null && reason !== this.lastError) {
      this.lastError = reason;
      this.o.log(`peer link to node ${this.id} at ${this.address}: ${reason}`);
    }
    return false;
  }

  private dial(): void {
    const { host, port } = this.o.peer;
    this.state = 'connecting';
    const socket = connect({ host, port });
    const decoder = new FrameDecoder({ frameBytesMax: this.o.frameBytesMax, headerBytesMax: HEADER_BYTES_MAX });
    this.socket = socket;
    this.timer = setTimeout(() => this.fail(`no hello answer within ${this.o.handshakeMsMax} ms`), this.o.handshakeMsMax);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      if (this.socket !== socket) return;
      socket.setKeepAlive(true, PEER_KEEPALIVE_MS);
      this.state = 'handshake';
      const hello = helloRequest(this.o.self(), this.id);
      // A hello frame always carries version 1 (docs/PROTOCOL.md).
      for (const p of encodeFrame({ version: 1, flags: 0, op: OP.HELLO, requestId: 1, header: hello })) socket.write(p);
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      decoder.push(chunk);
      for (let r = decoder.next(); r !== null && this.socket === socket; r = decoder.next()) {
        if ('error' in r) return this.fail(`bad frame from the peer: ${r.error.message}`);
        this.onFrame(r.frame);
      }
    });
    socket.on('drain', () => {
      if (this.socket !== socket) return;
      this.clearStall();
      this.flush();
    });
    socket.on('error', (err: Error) => {
      if (this.socket === socket) this.fail(err.message);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.fail(this.state === 'connected' ? 'the peer closed the link' : 'the peer closed the connection during hello');
    });
  }

  private onFrame(frame: Frame): void {
    let header: unknown;
    try {
      header = unpackHeader(frame.header);
    } catch (err) {
      return this.fail(`the peer sent a frame whose header is not msgpack: ${(err as Error).message}`);
    }
    if ((frame.flags & FLAG_ERROR) !== 0) {
      const err = header as Partial<WireError>;
      const wire: WireError = { code: Number(err.code), name: String(err.name), message: String(err.message), details: err.details };
      return this.fail(this.state === 'handshake' ? refusalSentence(wire, this.address, this.id) : `node ${this.id} closed the link: ${wire.message}`);
    }
    if (this.state !== 'handshake' || frame.op !== OP.HELLO || frame.flags !== FLAG_RESPONSE) {
      return this.fail(`unexpected frame (op ${frame.op}, flags ${frame.flags}) from the peer`);
    }
    let why: string | null;
    try {
      const answer = parsePeerHelloAnswer(header);
      why = judgePeerHelloAnswer(answer, this.o.self(), this.id, this.address, this.o.policy);
      if (why === null) this.version = answer.version;
    } catch (err) {
      why = `bad hello answer from ${this.address}: ${(err as Error).message}`;
    }
    if (why !== null) return this.fail(why);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.state = 'connected';
    this.failures = 0;
    if (this.lastError !== null) this.o.log(`peer link to node ${this.id} at ${this.address} is up again`);
    this.o.onContact(this.id);
    this.flush();
  }

  private fail(reason: string): void {
    if (this.state === 'closed' || this.state === 'backoff') return;
    const wasConnected = this.state === 'connected';
    this.clearTimers();
    this.dropSocket();
    if (reason !== this.lastError || wasConnected) this.o.log(`peer link to node ${this.id} at ${this.address}: ${reason}`);
    this.lastError = reason;
    this.state = 'backoff';
    const base = Math.min(this.o.backoffMsMax, this.o.backoffMsMin * 2 ** Math.min(this.failures, 30));
    this.failures++;
    const delay = Math.max(this.o.backoffMsMin, Math.round(base / 2 + (Math.random() * base) / 2));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reconnects++;
      this.dial();
    }, delay);
  }

  private dropSocket(): void {
    const s = this.socket;
    this.socket = null;
    if (s !== null) s.destroy();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.state !== 'connected') return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes queued frames as one corked batch while the socket takes them. */
  private flush(): void {
    const s = this.socket;
    if (this.state !== 'connected' || s === null || s.writableNeedDrain) return;
    s.cork();
    while (!s.writableNeedDrain) {
      const f = this.queue.shift();
      if (f === undefined) break;
      for (const p of f.parts) s.write(p);
    }
    s.uncork();
    if (s.writableNeedDrain && this.stallTimer === null) {
      this.stallTimer = setTimeout(() => {
        this.stallTimer = null;
        this.fail(`no write progress for ${this.o.writeStallMsMax} ms (the peer does not read)`);
      }, this.o.writeStallMsMax);
    }
  }

  private clearStall(): void {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.clearStall();
  }
}
