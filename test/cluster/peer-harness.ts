/**
 * Helpers for the peer-link tests: transports on 127.0.0.1 ephemeral ports,
 * a raw peer that speaks the frame protocol by hand (to send what a correct
 * transport never would), polling waits, and a forced GC for memory checks.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { NodeId, PeerAddress } from '../../src/cluster/peer-address.js';
import { PeerTransport, type PeerTransportOptions } from '../../src/cluster/peer-transport.js';
import type { PeerMessage } from '../../src/cluster/peer-message.js';
import { encodeFrame, unpackHeader, type Frame, type OutFrame } from '../../src/protocol/frame.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { OP, PEER_OP } from '../../src/protocol/ops.js';

export const kinds = {
  test: (body: unknown): string | null =>
    typeof body === 'object' && body !== null && typeof (body as { n?: unknown }).n === 'number' ? null : 'body.n must be a number',
};

/** Fast timings so reconnect and stall tests stay short. */
export const FAST = { backoffMsMin: 10, backoffMsMax: 100, handshakeMsMax: 500 };

export interface Node {
  id: NodeId;
  t: PeerTransport;
  port: number;
  address: string;
  got: { from: NodeId; msg: PeerMessage }[];
  logs: string[];
}

/** A transport with its own peers-only listener; peers are added later with link(). */
export async function node(id: NodeId, opts: Partial<PeerTransportOptions> = {}, port = 0): Promise<Node> {
  const got: Node['got'] = [];
  const logs: string[] = [];
  const t = new PeerTransport({ nodeId: id, peers: [], kinds, onMessage: (from, msg) => got.push({ from, msg }), log: (l) => logs.push(l), ...FAST, ...opts });
  const bound = await t.listen(port);
  return { id, t, port: bound, address: `127.0.0.1:${bound}`, got, logs };
}

export function peerOf(n: { id: NodeId; port: number }, id = n.id): PeerAddress {
  return { id, host: '127.0.0.1', port: n.port, address: `127.0.0.1:${n.port}` };
}

/** Every node dials every other. */
export function mesh(nodes: Node[]): void {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.t.addPeer(peerOf(b));
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A listening server on an ephemeral port whose connection handler is given. */
export async function server(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number; sockets: Set<Socket>; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    server: srv,
    port: (srv.address() as AddressInfo).port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** A hand-driven connection: writes raw frames, collects decoded frames, knows when it closed. */
export interface RawConn {
  socket: Socket;
  frames: { frame: Frame; header: unknown }[];
  closed: Promise<void>;
  isClosed: () => boolean;
  send: (f: OutFrame) => void;
}

export async function rawConnect(port: number): Promise<RawConn> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise<void>((r, j) => {
    socket.once('connect', r);
    socket.once('error', j);
  });
  const frames: RawConn['frames'] = [];
  const d = new FrameDecoder({ frameBytesMax: 1 << 24, headerBytesMax: 1 << 16 });
  socket.on('data', (c) => {
    d.push(c);
    for (let r = d.next(); r !== null; r = d.next()) if ('frame' in r) frames.push({ frame: r.frame, header: unpackHeader(r.frame.header) });
  });
  let closedFlag = false;
  const closed = new Promise<void>((r) => socket.on('close', () => ((closedFlag = true), r())));
  return { socket, frames, closed, isClosed: () => closedFlag, send: (f) => void socket.write(Buffer.concat(encodeFrame(f))) };
}

export function peerHello(from: NodeId, to: NodeId, extra: Record<string, unknown> = {}): OutFrame {
  return { version: 1, flags: 0, op: OP.HELLO, requestId: 1, header: { versions: [1], role: 'peer', peerVersions: [1], from, to, clusterId: null, ...extra } };
}

export function peerMsg(from: NodeId, to: NodeId, body: unknown, kind = 'test'): OutFrame {
  return { version: 1, flags: 0, op: PEER_OP.MESSAGE, requestId: 2, header: { v: 1, kind, from, to, body } };
}

/** A raw peer past a successful hello. */
export async function rawPeer(port: number, from: NodeId, to: NodeId): Promise<RawConn> {
  const c = await rawConnect(port);
  c.send(peerHello(from, to));
  await waitFor('hello answer', () => c.frames.length > 0 || c.isClosed());
  const h = c.frames[0]?.header as { nodeId?: number } | undefined;
  if (h?.nodeId !== to) throw new Error(`hello not accepted: ${JSON.stringify(h)}`);
  return c;
}

let gcFn: (() => void) | undefined;
/** Forces a full GC (for memory-bound checks). */
export function gc(): void {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}

/**
 * Heap plus ArrayBuffer bytes still reachable: collects, lets V8 release the
 * freed backing stores (that happens after the GC, off the call), collects again.
 */
export async function memoryBytes(): Promise<number> {
  gc();
  await sleep(100);
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
