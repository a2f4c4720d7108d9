/**
 * One client connection on the node: decodes frames, starts up to
 * inFlightPerConnectionMax requests at once (then stops reading the socket
 * until one finishes), and writes each response, tagged with its request id,
 * as soon as it is ready (pipelining; responses may come out of order).
 * It also stops reading while the socket's write buffer is full.
 *
 * Every byte it holds for its client is counted in the node's memory budget
 * (memory-budget.ts) through its ClientAccount: a request frame from the
 * moment its length prefix is seen (the whole length is reserved before the
 * body is read, and a frame is only started while the budget has room, so a
 * started frame can always be finished) until its answer is handed to the
 * socket (a fetch's frame only until its header is parsed: nothing keeps it
 * after that, and long-polls must not starve the appends they wait for); an answer from the fetch's reservation until the socket's write
 * callback. Without room it pauses the socket and is woken when room comes
 * back; requests already read always finish.
 */
import type { Socket } from 'node:net';
import { wireError, type WireError } from '../protocol/errors.js';
import { FLAG_ERROR, FLAG_RESPONSE, encodeFrame, unpackHeader, type Frame } from '../protocol/frame.js';
import { FrameDecoder, type FrameProblem } from '../protocol/frame-decoder.js';
import { HEADER_BYTES_MAX, PROTOCOL_VERSION } from '../protocol/limits.js';
import { OP } from '../protocol/ops.js';
import { dispatch } from './dispatch.js';
import { negotiate } from './hello.js';
import { isPeerHello } from '../cluster/peer-hello.js';
import type { NodeContext } from './node-context.js';
import { toWireError } from './protocol-error.js';
import type { AnswerLease, ClientAccount } from './memory-budget.js';

/** TCP keepalive probe delay, so a client that vanished without a FIN is dropped. */
const KEEPALIVE_MS = 10_000;

export class ServerConnection {
  private readonly decoder: FrameDecoder;
  private inFlight = 0;
  private inFlightBytes = 0;
  private version = 0;
  private closed = false;
  private reading = true;
  private idleWaiters: (() => void)[] = [];
  /** The socket is corked until the end of this event-loop turn (responses coalesced into one writev). */
  private corked = false;
  /** This connection's share of the node's memory budget. */
  private readonly account: ClientAccount;
  /** Bytes reserved for the frame being read (its prefix seen, its body not all here), 0 when none. */
  private admitted = 0;
  /** Request frame bytes in flight counted in the budget (inFlightBytes less the fetches'). */
  private heldRequestBytes = 0;
  /** Answer bytes handed to the socket whose write callback has not come yet. */
  private unflushed = 0;
  private readonly wake = () => this.pump();
  /** The socket was handed to the cluster's peer transport (a peer hello): this connection is done with it. */
  private handedOff = false;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: NodeContext,
    /** Called once if the connection turns out to be a peer link and leaves the node's client connections. */
    private readonly onHandOff: () => void = () => undefined,
  ) {
    this.decoder = new FrameDecoder({ frameBytesMax: ctx.config.frameBytesMax, headerBytesMax: HEADER_BYTES_MAX });
    this.account = ctx.memory.account();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      if (this.handedOff) return;
      this.closed = true;
      this.releaseOnClose();
      this.notifyIdle();
    });
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Stops starting new requests (shutdown); in-flight ones finish. */
  stopReading(): void {
    this.reading = false;
    this.socket.pause();
  }

  /** Resolves once no request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  end(): void {
    this.closed = true;
    this.socket.end();
    this.socket.destroySoon();
  }

  /** Room for one more request: under the count and bytes bounds, and the client is reading its answers. */
  private hasRoom(): boolean {
    const { inFlightPerConnectionMax, inFlightBytesPerConnectionMax } = this.ctx.config;
    return (
      this.reading &&
      !this.closed &&
      this.inFlight < inFlightPerConnectionMax &&
      (this.inFlight === 0 || this.inFlightBytes < inFlightBytesPerConnectionMax) &&
      !this.socket.writableNeedDrain
    );
  }

  private pump(): void {
    if (this.handedOff) return;
    while (this.hasRoom()) {
      if (this.admitted === 0) {
        // A new frame: start it only with room in the budget, and reserve all of it.
        const claimed = this.decoder.nextFrameBytes;
        if (claimed === null || !this.account.mayStart()) break;
        this.admitted = Math.max(1, Math.min(claimed, this.ctx.config.frameBytesMax));
      }
      const r = this.decoder.next();
      if (r === null) break; // the admitted frame is not all here yet
      this.admitted = 0;
      if ('error' in r) this.onProblem(r.error);
      else this.onFrame(r.frame);
    }
    if (this.handedOff) return; // the peer transport owns the socket now: neither pause nor resume it
    this.syncRequestBytes();
    // Read on while the frame begun is not all here (its bytes are reserved); a new one needs room.
    const read = this.hasRoom() && (this.admitted > 0 || this.account.mayStart());
    if (read) this.socket.resume();
    else this.socket.pause();
    if (!read && this.hasRoom()) this.ctx.memory.waitForRoom(this.wake);
  }

  /** Request bytes held: the frames in flight plus what the decoder holds (at least the reservation of the frame begun). */
  private syncRequestBytes(): void {
    const pending = this.closed ? 0 : Math.max(this.decoder.bufferedBytes, this.admitted);
    this.account.setRequestBytes(this.heldRequestBytes + pending);
  }

  /** The socket is gone: its unflushed answers and undecoded bytes are dropped, answers waiting for room are cancelled. */
  private releaseOnClose(): void {
    this.admitted = 0;
    this.account.addAnswers(-this.unflushed);
    this.unflushed = 0;
    this.syncRequestBytes();
    this.account.close();
  }

  private onProblem(p: FrameProblem): void {
    this.sendError(p.requestId, p.op, wireError(p.problem, p.message, p.details));
    if (p.fatal) this.end();
  }

  private onFrame(frame: Frame): void {
    if (frame.flags !== 0) {
      return this.sendError(frame.requestId, frame.op, wireError('BAD_FRAME', `A request must have flags 0; got ${frame.flags}.`));
    }
    if (frame.op === OP.HELLO) return this.onHello(frame);
    if (this.version === 0) {
      this.sendError(frame.requestId, frame.op, wireError('HELLO_REQUIRED', 'Send hello before any other request.'));
      return this.end();
    }
    if (frame.version !== this.version) {
      this.sendError(frame.requestId, frame.op, wireError('UNSUPPORTED_VERSION', `Frame version ${frame.version}; this connection speaks ${this.version}.`));
      return;
    }
    const bytes = frame.header.length + frame.body.length;
    const { requestId, op } = frame;
    this.inFlight++;
    this.inFlightBytes += bytes;
    const answer = dispatch(this.ctx, frame, this.account);
    // A fetch keeps only its parsed header from here on (nothing references
    // its frame), so its frame stops counting against the budget: a long-poll
    // must not hold room that the append it waits for needs.
    const held = op === OP.FETCH ? 0 : bytes;
    this.heldRequestBytes += held;
    answer.then(
      (reply) => this.finish(bytes, held, () => this.send(requestId, op, FLAG_RESPONSE, reply.header, reply.body, reply.lease)),
      (err: unknown) => this.finish(bytes, held, () => this.sendError(requestId, op, toWireError(err))),
    );
  }

  private onHello(frame: Frame): void {
    let header: unknown;
    try {
      header = unpackHeader(frame.header);
    } catch (err) {
      return this.sendError(frame.requestId, frame.op, wireError('BAD_REQUEST', `The hello header is not valid msgpack: ${(err as Error).message}`));
    }
    if (isPeerHello(header)) return this.handOffToPeers(frame, header);
    try {
      const reply = negotiate(header, this.ctx.config);
      this.version = reply.version;
      this.send(frame.requestId, frame.op, FLAG_RESPONSE, reply);
    } catch (err) {
      this.sendError(frame.requestId, frame.op, toWireError(err));
    }
  }

  /**
   * A peer's hello (role 'peer'): one port serves clients and peers. The
   * socket goes to the cluster's peer transport, which answers the hello (or
   * refuses it and closes); this connection stops reading and writing it. A
   * node without --peers refuses with one sentence.
   */
  private handOffToPeers(frame: Frame, header: unknown): void {
    const cluster = this.ctx.cluster;
    if (cluster === undefined || this.version !== 0 || this.inFlight > 0) {
      this.sendError(frame.requestId, frame.op, wireError('PEER_REFUSED', cluster === undefined ? 'This node is not in a cluster (it runs without --peers), so it takes no peer links.' : 'A peer hello must be the first frame of its connection.'));
      return this.end();
    }
    this.handedOff = true;
    this.closed = true;
    this.socket.pause();
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('drain');
    const buffered = this.decoder.bufferedBytes;
    this.releaseOnClose();
    this.onHandOff();
    cluster.adoptPeer(this.socket, header, frame.requestId, buffered);
  }

  private finish(bytes: number, held: number, respond: () => void): void {
    this.inFlight--;
    this.inFlightBytes -= bytes;
    this.heldRequestBytes -= held;
    respond();
    if (this.inFlight === 0) this.notifyIdle();
    this.pump();
  }

  private sendError(requestId: number, op: number, err: WireError): void {
    this.send(requestId, op, FLAG_RESPONSE | FLAG_ERROR, err);
  }

  private send(requestId: number, op: number, flags: number, header: unknown, body?: Uint8Array[], lease?: AnswerLease): void {
    if (this.closed || this.socket.destroyed) {
      lease?.release();
      return;
    }
    const parts = encodeFrame({ version: this.version || PROTOCOL_VERSION, flags, op, requestId, header, body });
    // The answer is held (its real size, in place of the fetch's reservation)
    // until the socket has handed it to the kernel.
    let bytes = 0;
    for (const p of parts) bytes += p.length;
    this.unflushed += bytes;
    this.account.addAnswers(bytes);
    lease?.release();
    // Every response of this event-loop turn goes out in one writev: cork
    // once, uncork after the turn's I/O callbacks (setImmediate).
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) this.socket.write(parts[i]!);
    this.socket.write(parts[last]!, () => this.flushed(bytes));
  }

  /** A write callback (success or error): the answer's bytes are no longer held, unless close already dropped them all. */
  private flushed(bytes: number): void {
    if (this.closed) return;
    this.unflushed -= bytes;
    this.account.addAnswers(-bytes);
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
