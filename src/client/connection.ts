/**
 * One pipelined connection to a node: many requests in flight (at most
 * inFlightMax; more wait their turn), responses matched by request id.
 * Connects lazily (hello first), reconnects with exponential backoff across
 * the server list, and retries requests that are safe to retry until their
 * deadline.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { FLAG_ERROR, encodeFrame, unpackHeader, type Frame } from '../protocol/frame.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { CLIENT_FRAME_BYTES_MAX, HEADER_BYTES_MAX, PROTOCOL_VERSIONS } from '../protocol/limits.js';
import { OP, type HelloResponse } from '../protocol/ops.js';
import { asWireError, clientError, fromWire, isRetriable } from './errors.js';
import { formatAddress, type ServerAddress } from './server-address.js';
import { NativeLogError } from './types.js';

export interface ConnectionOptions {
  timeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  inFlightMax: number;
  /**
   * Fail a request with CONNECTION_LOST as soon as one dial fails (and bound
   * the dial by connectTimeoutMs) instead of redialing until its deadline.
   * For connections to one node that a caller chose (a shard's sequencer or
   * replica): when that node is gone the caller must look elsewhere, not
   * wait out its timeout on a dead address.
   */
  failFastDial?: boolean;
  /** Longest a dial may take; default timeoutMs. */
  connectTimeoutMs?: number;
}

export interface Response {
  header: Record<string, unknown>;
  /** Raw record bytes; 8-aligned. */
  body: Uint8Array;
}

export interface RequestOptions {
  body?: Uint8Array[];
  /** Default: the connection's timeoutMs. */
  timeoutMs?: number;
  /** Resend on retriable failures (connection lost, node not ready) until the deadline. Only for idempotent requests. */
  retry?: boolean;
}

interface Pending {
  resolve(r: Response): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  socket: Socket;
}

interface Link {
  socket: Socket;
  hello: HelloResponse;
  version: number;
  /** "host:port" of the server this link reached. */
  address: string;
}

const CLIENT_NAME = 'nativelog-js/0.1.0';
/** TCP keepalive probe delay, so a peer that vanished without a FIN is noticed. */
const KEEPALIVE_MS = 10_000;

export class ClientConnection {
  private link: Link | undefined;
  private linking: Promise<Link> | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly slotWaiters: (() => void)[] = [];
  private nextId = 1;
  private serverIndex = 0;
  private backoffMs: number;
  private closed = false;

  constructor(
    private readonly servers: ServerAddress[],
    readonly opts: ConnectionOptions,
  ) {
    this.backoffMs = opts.reconnectMinMs;
  }

  /** The node's limits from hello (after the first connection). */
  get limits(): HelloResponse['limits'] | undefined {
    return this.link?.hello.limits;
  }

  /** The node id that answered hello on the current link (undefined while not connected). */
  get nodeId(): number | undefined {
    return this.link?.hello.nodeId;
  }

  /** "host:port" of the server the current link reached (undefined while not connected). */
  get address(): string | undefined {
    return this.link?.address;
  }

  /** True when no request is in flight or waiting for a slot (a pool may close it without failing anyone). */
  get idle(): boolean {
    return this.inFlight === 0 && this.pending.size === 0 && this.slotWaiters.length === 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Writes a request and does not wait for its answer (append with
   * acks "none"): resolves once the frame is handed to the socket. The node
   * still answers; no request id is pending for it, so the answer is dropped
   * like any unmatched frame. Fails with CONNECTION_LOST when no link can be
   * had before the deadline or the socket is gone.
   */
  async send(op: number, header: unknown, body: Uint8Array[] | undefined, timeoutMs: number = this.opts.timeoutMs): Promise<void> {
    if (this.closed) throw clientError('CLIENT_CLOSED', 'The client was closed.');
    const link = await this.linkBefore(Date.now() + timeoutMs);
    if (link.socket.destroyed) throw clientError('CONNECTION_LOST', 'The connection to the node closed before the request was sent.');
    const parts = encodeFrame({ version: link.version, flags: 0, op, requestId: this.takeId(), header, body });
    await new Promise<void>((resolve, reject) => {
      link.socket.cork();
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1) link.socket.write(parts[i]!);
        else link.socket.write(parts[i]!, (err) => (err ? reject(clientError('CONNECTION_LOST', `The request could not be written: ${err.message}.`)) : resolve()));
      }
      link.socket.uncork();
    });
  }

  /** Connects now (trying each server once); throws when none answers. */
  async open(): Promise<void> {
    let last: unknown;
    for (let i = 0; i < this.servers.length; i++) {
      try {
        await this.ensureLink();
        return;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  async request(op: number, header: unknown, ro: RequestOptions = {}): Promise<Response> {
    const deadline = Date.now() + (ro.timeoutMs ?? this.opts.timeoutMs);
    let attempt = 0;
    for (;;) {
      try {
        return await this.attempt(op, header, ro.body, deadline);
      } catch (err) {
        if (!(ro.retry === true && isRetriable(err)) || this.closed) throw err;
        const wait = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** attempt++);
        if (Date.now() + wait >= deadline) throw err;
        await sleep(wait);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = clientError('CLIENT_CLOSED', 'The client was closed.');
    this.failAll(err);
    for (const w of this.slotWaiters.splice(0)) w();
    this.link?.socket.destroy();
    this.link = undefined;
  }

  private async attempt(op: number, header: unknown, body: Uint8Array[] | undefined, deadline: number): Promise<Response> {
    if (this.closed) throw clientError('CLIENT_CLOSED', 'The client was closed.');
    await this.slot(deadline);
    try {
      const link = await this.linkBefore(deadline);
      return await this.exchange(link, op, header, body, deadline);
    } finally {
      this.releaseSlot();
    }
  }

  private exchange(link: Link, op: number, header: unknown, body: Uint8Array[] | undefined, deadline: number): Promise<Response> {
    if (link.socket.destroyed) return Promise.reject(clientError('CONNECTION_LOST', 'The connection to the node closed before the request was sent.'));
    const requestId = this.takeId();
    const waitMs = Math.max(0, deadline - Date.now());
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(clientError('TIMEOUT', `No answer from the node within ${waitMs} ms.`));
        // A node that does not answer may be gone without a FIN: drop the link so the next call reconnects.
        link.socket.destroy();
      }, waitMs);
      this.pending.set(requestId, { resolve, reject, timer, socket: link.socket });
      const parts = encodeFrame({ version: link.version, flags: 0, op, requestId, header, body });
      link.socket.cork();
      for (const p of parts) link.socket.write(p);
      link.socket.uncork();
    });
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    return id;
  }

  private inFlight = 0;

  private async slot(deadline: number): Promise<void> {
    while (this.inFlight >= this.opts.inFlightMax) {
      if (this.closed) throw clientError('CLIENT_CLOSED', 'The client was closed.');
      if (Date.now() >= deadline) throw clientError('TIMEOUT', 'Timed out waiting for room in the in-flight window.');
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.inFlight++;
  }

  private releaseSlot(): void {
    this.inFlight--;
    this.slotWaiters.shift()?.();
  }

  /** The current link, or a new one, reconnecting with backoff until the deadline (or failing at once with failFastDial). */
  private async linkBefore(deadline: number): Promise<Link> {
    for (;;) {
      try {
        return await this.ensureLink();
      } catch (err) {
        if (this.closed) throw clientError('CLIENT_CLOSED', 'The client was closed.');
        if (this.opts.failFastDial === true) {
          // Nothing was sent: retriable, and the caller decides where to go next.
          throw err instanceof NativeLogError && err.codeName === 'CONNECTION_LOST' ? err : clientError('CONNECTION_LOST', (err as Error).message);
        }
        const wait = this.backoffMs;
        this.backoffMs = Math.min(this.opts.reconnectMaxMs, this.backoffMs * 2);
        if (Date.now() + wait >= deadline) throw err;
        await sleep(wait);
      }
    }
  }

  private ensureLink(): Promise<Link> {
    if (this.link !== undefined) return Promise.resolve(this.link);
    this.linking ??= this.dial().finally(() => (this.linking = undefined));
    return this.linking;
  }

  private async dial(): Promise<Link> {
    const server = this.servers[this.serverIndex++ % this.servers.length]!;
    const dialMs = this.opts.connectTimeoutMs ?? this.opts.timeoutMs;
    const socket = await openSocket(server, dialMs);
    const decoder = new FrameDecoder({ frameBytesMax: CLIENT_FRAME_BYTES_MAX, headerBytesMax: HEADER_BYTES_MAX });
    const helloId = this.takeId();
    const hello = new Promise<HelloResponse>((resolve, reject) => {
      const timer = setTimeout(() => reject(clientError('TIMEOUT', `No hello answer from ${server.host}:${server.port} within ${dialMs} ms.`)), dialMs);
      this.pending.set(helloId, {
        resolve: (r) => resolve(r.header as unknown as HelloResponse),
        reject,
        timer,
        socket,
      });
    });
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => this.onData(socket, decoder, chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose(socket));
    socket.write(encodeFrame({ version: 1, flags: 0, op: OP.HELLO, requestId: helloId, header: { versions: [...PROTOCOL_VERSIONS], client: CLIENT_NAME } })[0]!);
    try {
      const h = await hello;
      const link = { socket, hello: h, version: h.version, address: formatAddress(server) };
      if (this.closed) throw clientError('CLIENT_CLOSED', 'The client was closed.');
      this.link = link;
      this.backoffMs = this.opts.reconnectMinMs;
      return link;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  private onData(socket: Socket, decoder: FrameDecoder, chunk: Buffer): void {
    decoder.push(chunk);
    for (;;) {
      const r = decoder.next();
      if (r === null) return;
      if ('error' in r) {
        socket.destroy();
        return;
      }
      this.onFrame(r.frame);
    }
  }

  private onFrame(frame: Frame): void {
    const p = this.pending.get(frame.requestId);
    let header: unknown;
    try {
      header = unpackHeader(frame.header);
    } catch {
      header = undefined;
    }
    if (p === undefined) return; // timed out already, or a connection-level notice (request id 0)
    this.pending.delete(frame.requestId);
    clearTimeout(p.timer);
    if ((frame.flags & FLAG_ERROR) !== 0) {
      const wire = asWireError(header);
      p.reject(wire !== undefined ? fromWire(wire) : clientError('BAD_RESPONSE', 'The node sent an unreadable error.'));
    } else if (typeof header !== 'object' || header === null) {
      p.reject(clientError('BAD_RESPONSE', 'The node sent an unreadable response header.'));
    } else {
      p.resolve({ header: header as Record<string, unknown>, body: frame.body });
    }
  }

  private onClose(socket: Socket): void {
    if (this.link?.socket === socket) this.link = undefined;
    this.failAll(clientError('CONNECTION_LOST', 'The connection to the node closed with the request in flight.'), socket);
  }

  /** Fails every pending request (or only those sent on one socket). */
  private failAll(err: NativeLogError, socket?: Socket): void {
    for (const [id, p] of this.pending) {
      if (socket !== undefined && p.socket !== socket) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
  }
}

function openSocket(server: ServerAddress, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: server.host, port: server.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(clientError('TIMEOUT', `Could not connect to ${server.host}:${server.port} within ${timeoutMs} ms.`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(clientError('CONNECTION_LOST', `Cannot connect to ${server.host}:${server.port}: ${err.message}.`));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
