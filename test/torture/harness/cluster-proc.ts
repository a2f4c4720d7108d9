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
import { freePort, tempDir } from './tmp.js';

/** Longest the harness waits for a leader or a catch-up. */
export const CLUSTER_WAIT_MS_MAX = 20_000;

export class ProcCluster {
  readonly nodes = new Map<number, NodeProcess>();
  private constructor(
    readonly ports: Map<number, number>,
    readonly dirs: Map<number, string>,
    private readonly cleanup: () => void,
  ) {}

  static async start(n: number): Promise<ProcCluster> {
    const ports = new Map<number, number>();
    const dirs = new Map<number, string>();
    const { dir, cleanup } = tempDir('cluster');
    for (let id = 1; id <= n; id++) {
      ports.set(id, await freePort());
      dirs.set(id, `${dir}/n${id}`);
    }
    const c = new ProcCluster(ports, dirs, cleanup);
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
    return [...this.ports.keys()].filter((p) => p !== id).map((p) => `${p}@${this.address(p)}`).join(',');
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
    this.cleanup();
  }
}
