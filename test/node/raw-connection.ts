/**
 * Test helper: a bare socket speaking frames, for sending what a well-behaved
 * client never would.
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { encodeFrame, unpackHeader, type OutFrame } from '../../src/protocol/frame.js';
import { OP } from '../../src/protocol/ops.js';

export interface RawResponse {
  requestId: number;
  op: number;
  flags: number;
  header: Record<string, unknown>;
  body: Uint8Array;
}

export class RawConnection {
  readonly responses: RawResponse[] = [];
  closed = false;
  private waiters: (() => void)[] = [];
  private readonly decoder = new FrameDecoder({ frameBytesMax: 1 << 28, headerBytesMax: 1 << 16 });

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let r = this.decoder.next(); r !== null; r = this.decoder.next()) {
        if ('frame' in r) {
          const f = r.frame;
          this.responses.push({ requestId: f.requestId, op: f.op, flags: f.flags, header: unpackHeader(f.header) as Record<string, unknown>, body: f.body });
        }
      }
      this.notify();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static async open(port: number, hello = true): Promise<RawConnection> {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawConnection(socket);
    if (hello) {
      c.send({ version: 1, flags: 0, op: OP.HELLO, requestId: 0xffff_fff0, header: { versions: [1] } });
      await c.response(0xffff_fff0);
    }
    return c;
  }

  send(f: OutFrame): void {
    for (const p of encodeFrame(f)) this.socket.write(p);
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  request(op: number, requestId: number, header: unknown, body?: Uint8Array[]): Promise<RawResponse> {
    this.send({ version: 1, flags: 0, op, requestId, header, body });
    return this.response(requestId);
  }

  /** The response to requestId; rejects if the connection closes first. */
  async response(requestId: number): Promise<RawResponse> {
    for (;;) {
      const r = this.responses.find((x) => x.requestId === requestId);
      if (r !== undefined) return r;
      if (this.closed) throw new Error(`connection closed before the response to ${requestId}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Resolves once the node has closed the connection. */
  async closedByPeer(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
