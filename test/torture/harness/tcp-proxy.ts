/**
 * A TCP proxy for fault injection on 127.0.0.1 (no root, no iptables): it
 * listens on a port of its own and forwards every connection to a target.
 * Modes:
 *   pass       bytes flow both ways;
 *   blackhole  sockets stay open but every byte is dropped, both ways (what
 *              a network partition looks like to the endpoints: no error,
 *              no close, silence).
 * Switching back to pass lets new bytes through; the dropped ones are gone.
 * Used with node processes whose --peers name the proxy's port, so each
 * directed link between two nodes can be cut on its own.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'blackhole';

export class TcpProxy {
  mode: ProxyMode = 'pass';
  private readonly sockets = new Set<Socket>();
  /** Bytes dropped while blackholed. */
  dropped = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    let self: TcpProxy | undefined;
    const server = createServer((client) => self!.accept(client, targetHost, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    self = new TcpProxy(server, typeof addr === 'object' && addr !== null ? addr.port : 0);
    return self;
  }

  private accept(client: Socket, host: string, port: number): void {
    const upstream = createConnection({ host, port });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    const pipe = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (this.mode === 'blackhole') this.dropped += chunk.length;
        else to.write(chunk);
      });
    pipe(client, upstream);
    pipe(upstream, client);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
