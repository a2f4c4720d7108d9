/**
 * A raw TCP connection speaking (or mangling) the wire protocol by hand, for
 * hostile-client tests: send any bytes, collect every frame the node sends
 * back (decoded with the protocol's own FrameDecoder), and learn when the
 * node closes the connection.
 */
import { connect, type Socket } from 'node:net';
import { FLAG_ERROR, encodeFrameBytes, unpackHeader, type Frame } from '../../../src/protocol/frame.js';
import { FrameDecoder } from '../../../src/protocol/frame-decoder.js';
import { CLIENT_FRAME_BYTES_MAX, HEADER_BYTES_MAX } from '../../../src/protocol/limits.js';
import { OP } from '../../../src/protocol/ops.js';

export interface Reply {
  frame: Frame;
  header: Record<string, unknown>;
  error: boolean;
}

export class RawConn {
  readonly replies = new Map<number, Reply[]>();
  /** Frames in arrival order. */
  readonly order: Reply[] = [];
  closed = false;
  /** The bytes from the node could not be decoded as frames. */
  garbled = false;
  private waiters: (() => void)[] = [];
  private readonly decoder = new FrameDecoder({ frameBytesMax: CLIENT_FRAME_BYTES_MAX, headerBytesMax: HEADER_BYTES_MAX });

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (;;) {
        const r = this.decoder.next();
        if (r === null) break;
        if ('error' in r) {
          this.garbled = true;
          break;
        }
        let header: Record<string, unknown> = {};
        try {
          header = unpackHeader(r.frame.header) as Record<string, unknown>;
        } catch {
          this.garbled = true;
        }
        const reply = { frame: r.frame, header, error: (r.frame.flags & FLAG_ERROR) !== 0 };
        const list = this.replies.get(r.frame.requestId) ?? [];
        list.push(reply);
        this.replies.set(r.frame.requestId, list);
        this.order.push(reply);
      }
      this.notify();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static open(host: string, port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, noDelay: true });
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(new RawConn(s));
      });
      s.once('error', reject);
    });
  }

  send(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Half-closes our side (the node sees end of stream). */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Sends hello and waits for its answer. */
  async hello(requestId: number, timeoutMs: number): Promise<Reply> {
    this.send(helloFrame(requestId));
    await this.until(() => this.replies.has(requestId) || this.closed, timeoutMs, `hello answer ${requestId}`);
    const r = this.replies.get(requestId)?.[0];
    if (r === undefined) throw new Error('the node closed the connection instead of answering hello');
    return r;
  }

  /** Resolves once cond holds (checked on every arrival and close); rejects after timeoutMs. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (closed=${this.closed}, ${this.order.length} replies)`));
      }, timeoutMs);
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

export function helloFrame(requestId: number, versions: unknown = [1]): Uint8Array {
  return encodeFrameBytes({ version: 1, flags: 0, op: OP.HELLO, requestId, header: { versions, client: 'torture' } });
}
