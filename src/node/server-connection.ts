/**
 * One client connection on the node: decodes frames, starts up to
 * inFlightPerConnectionMax requests at once (then stops reading the socket
 * until one finishes), and writes each response, tagged with its request id,
 * as soon as it is ready (pipelining; responses may come out of order).
 * It also stops reading while the socket's write buffer is full, so a client
 * that does not read its responses cannot grow the node's memory.
 */
import type { Socket } from 'node:net';
import { wireError, type WireError } from '../protocol/errors.js';
import { FLAG_ERROR, FLAG_RESPONSE, encodeFrame, unpackHeader, type Frame } from '../protocol/frame.js';
import { FrameDecoder, type FrameProblem } from '../protocol/frame-decoder.js';
import { HEADER_BYTES_MAX, PROTOCOL_VERSION } from '../protocol/limits.js';
import { OP } from '../protocol/ops.js';
import { dispatch } from './dispatch.js';
import { negotiate } from './hello.js';
import type { NodeContext } from './node-context.js';
import { toWireError } from './protocol-error.js';

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

  constructor(
    private readonly socket: Socket,
    private readonly ctx: NodeContext,
  ) {
    this.decoder = new FrameDecoder({ frameBytesMax: ctx.config.frameBytesMax, headerBytesMax: HEADER_BYTES_MAX });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      this.closed = true;
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
    while (this.hasRoom()) {
      const r = this.decoder.next();
      if (r === null) break;
      if ('error' in r) this.onProblem(r.error);
      else this.onFrame(r.frame);
    }
    if (this.hasRoom()) this.socket.resume();
    else this.socket.pause();
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
    this.inFlight++;
    this.inFlightBytes += bytes;
    dispatch(this.ctx, frame).then(
      (reply) => this.finish(bytes, () => this.send(frame.requestId, frame.op, FLAG_RESPONSE, reply.header, reply.body)),
      (err: unknown) => this.finish(bytes, () => this.sendError(frame.requestId, frame.op, toWireError(err))),
    );
  }

  private onHello(frame: Frame): void {
    let header: unknown;
    try {
      header = unpackHeader(frame.header);
    } catch (err) {
      return this.sendError(frame.requestId, frame.op, wireError('BAD_REQUEST', `The hello header is not valid msgpack: ${(err as Error).message}`));
    }
    try {
      const reply = negotiate(header, this.ctx.config);
      this.version = reply.version;
      this.send(frame.requestId, frame.op, FLAG_RESPONSE, reply);
    } catch (err) {
      this.sendError(frame.requestId, frame.op, toWireError(err));
    }
  }

  private finish(bytes: number, respond: () => void): void {
    this.inFlight--;
    this.inFlightBytes -= bytes;
    respond();
    if (this.inFlight === 0) this.notifyIdle();
    this.pump();
  }

  private sendError(requestId: number, op: number, err: WireError): void {
    this.send(requestId, op, FLAG_RESPONSE | FLAG_ERROR, err);
  }

  private send(requestId: number, op: number, flags: number, header: unknown, body?: Uint8Array[]): void {
    if (this.closed || this.socket.destroyed) return;
    const parts = encodeFrame({ version: this.version || PROTOCOL_VERSION, flags, op, requestId, header, body });
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
    for (const p of parts) this.socket.write(p);
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
