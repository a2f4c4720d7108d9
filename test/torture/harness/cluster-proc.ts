/**
 * A cluster of real node processes on 127.0.0.1 (issue 14): N nodes, each
 * `nativelog start --node-id I --peers ...` on a fixed free port (so a node
 * restarts where its peers dial it) and its own temp data dir; stopped by
 * pid. Used by test/cluster/cluster-process.test.ts and
 * bench/cluster-failover.ts.
 */
import { connect, type Client } from '../../../src/client/client.js';
import type { ClusterStatus } from '../../../src/client/types.js';
import { NodeProcess } from './node-proc.js';
import { TcpProxy } from './tcp-proxy.js';
import { freePort, tempDir } from './tmp.js';

/** Longest the harness waits for a leader or a catch-up. */
export const CLUSTER_WAIT_MS_MAX = 20_000;

export class ProcCluster {
  readonly nodes = new Map<number, NodeProcess>();
  /** With `proxied`: the proxy node `from` dials node `to` through, keyed `${from}>${to}`. */
  readonly proxies = new Map<string, TcpProxy>();
  private constructor(
    readonly ports: Map<number, number>,
    readonly dirs: Map<number, string>,
    private readonly cleanup: () => void,
  ) {}

  /** proxied: every directed node-to-node link goes through a TcpProxy (partition() cuts them). */
  static async start(n: number, opts: { proxied?: boolean } = {}): Promise<ProcCluster> {
    const ports = new Map<number, number>();
    const dirs = new Map<number, string>();
    const { dir, cleanup } = tempDir('cluster');
    for (let id = 1; id <= n; id++) {
      ports.set(id, await freePort());
      dirs.set(id, `${dir}/n${id}`);
    }
    const c = new ProcCluster(ports, dirs, cleanup);
    if (opts.proxied === true) {
      for (const from of ports.keys()) for (const [to, port] of ports) if (from !== to) c.proxies.set(`${from}>${to}`, await TcpProxy.start(port));
    }
    try {
      await Promise.all([...ports.keys()].map((id) => c.startNode(id)));
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  address(id: number): string {
    return `127.0.0.1:${this.ports.get(id)!}`;
  }

  peersOf(id: number): string {
    const via = (to: number) => this.proxies.get(`${id}>${to}`);
    return [...this.ports.keys()].filter((p) => p !== id).map((p) => `${p}@${via(p) === undefined ? this.address(p) : `127.0.0.1:${via(p)!.port}`}`).join(',');
  }

  /** Cuts every link between `group` and the other nodes, both ways (sockets stay open, bytes are dropped); heal() undoes it. */
  partition(group: number[]): void {
    for (const [key, proxy] of this.proxies) {
      const [from, to] = key.split('>').map(Number) as [number, number];
      if (group.includes(from) !== group.includes(to)) proxy.mode = 'blackhole';
    }
  }

  heal(): void {
    for (const proxy of this.proxies.values()) proxy.mode = 'pass';
  }

  async startNode(id: number): Promise<NodeProcess> {
    const node = await NodeProcess.start(this.dirs.get(id)!, { 'node-id': id, peers: this.peersOf(id) }, this.ports.get(id)!);
    this.nodes.set(id, node);
    return node;
  }

  async kill9(id: number): Promise<void> {
    await this.nodes.get(id)?.kill9();
    this.nodes.delete(id);
  }

  /** A client of one node (hello only: it does not need a leader). */
  client(id: number): Promise<Client> {
    return connect(this.address(id), { timeoutMs: 15_000 });
  }

  async status(id: number): Promise<ClusterStatus> {
    const c = await this.client(id);
    try {
      return await c.clusterStatus();
    } finally {
      await c.close();
    }
  }

  /** Waits until every live node names the same leader (one of the live nodes); returns it. */
  async leader(timeoutMs = CLUSTER_WAIT_MS_MAX): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = await Promise.all([...this.nodes.keys()].map((id) => this.status(id).then((s) => s.leader).catch(() => null)));
      const l = seen[0];
      if (l !== null && l !== undefined && this.nodes.has(l) && seen.every((x) => x === l)) return l;
      if (Date.now() > deadline) throw new Error(`no agreed leader within ${timeoutMs} ms (nodes see ${JSON.stringify(seen)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.nodes.values()].map((n) => n.kill9()));
    this.nodes.clear();
    await Promise.allSettled([...this.proxies.values()].map((p) => p.close()));
    this.cleanup();
  }
}
