/**
 * Test helper: a TCP proxy to a node that, once armed, cuts the connection
 * right after the node answered an append and before the answer reaches the
 * client: the append happened, the client never learns it.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { OP } from '../../src/protocol/ops.js';

export class CuttingProxy {
  /** Append answers to swallow (each cuts its connection). */
  cutsLeft = 0;
  cutsDone = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CuttingProxy> {
    let self: CuttingProxy | undefined;
    const server = createServer((client) => self!.pipe(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new CuttingProxy(server, (server.address() as AddressInfo).port);
    return self;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  private pipe(client: Socket, targetPort: number): void {
    const upstream = connect({ port: targetPort, host: '127.0.0.1' });
    this.sockets.add(client).add(upstream);
    const decoder = new FrameDecoder({ frameBytesMax: 1 << 30, headerBytesMax: 1 << 16 });
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill).on('close', kill);
    upstream.on('error', kill).on('close', kill);
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      // Forward whole frames only, so a cut lands exactly before an append answer.
      decoder.push(d);
      for (let r = decoder.next(); r !== null; r = decoder.next()) {
        if (!('frame' in r)) return kill();
        const f = r.frame;
        if (f.op === OP.APPEND && this.cutsLeft > 0) {
          this.cutsLeft--;
          this.cutsDone++;
          return kill();
        }
        const prefix = Buffer.alloc(16);
        prefix.writeUInt32LE(16 + f.header.length + pad(f.header.length) + f.body.length, 0);
        prefix.writeUInt8(f.version, 4);
        prefix.writeUInt8(f.flags, 5);
        prefix.writeUInt16LE(f.op, 6);
        prefix.writeUInt32LE(f.requestId, 8);
        prefix.writeUInt32LE(f.header.length, 12);
        client.write(Buffer.concat([prefix, f.header, Buffer.alloc(pad(f.header.length)), f.body]));
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function pad(headerLength: number): number {
  return ((16 + headerLength + 7) & ~7) - (16 + headerLength);
}
