/**
 * The node the bench talks to: an embedded one in a fresh temp data dir (in
 * a child process by default, or inside this process with nodeProcess
 * 'inline'), an embedded cluster of `nodes` child processes (--nodes > 1),
 * or an existing one given by --server. Reports the node's CPU time (summed
 * over every node process of a cluster) so throughput can be read per CPU
 * second.
 *
 * A cluster's nodes must know each other's ports before they start (--peers
 * names them), so port 0 is not possible: free ports are picked below the
 * kernel's ephemeral range (no client socket is handed one meanwhile) and
 * the whole cluster is started again on fresh ports when one of them was
 * taken in between (CLUSTER_START_ATTEMPTS_MAX).
 *
 * Every node child process started here is registered until it exits, so
 * stopAllNodesNow() (SIGINT, process exit) can kill each by pid and remove
 * its temp data dir, whatever state the run is in.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type NodeConfig } from '../node/config.js';

/** How long an embedded node may take to start or stop. */
export const NODE_START_MS_MAX = 30_000;
export const NODE_STOP_MS_MAX = 30_000;
/** Largest embedded cluster (the MetaStore's Raft voters). */
export const NODES_MAX = 7;
/** Whole-cluster starts tried when a picked port turns out to be taken. */
export const CLUSTER_START_ATTEMPTS_MAX = 4;
/** Random ports tried per node before asking the kernel for any free one. */
const FREE_PORT_TRIES_MAX = 50;

export interface NodeUnderTest {
  /** "host:port" the clients connect to; a cluster's nodes as a comma-separated list. */
  address: string;
  kind: 'child' | 'inline' | 'server';
  /** Node processes started by the bench (0 with --server, 1 inline). */
  nodes: number;
  /** Pids of the node child processes (empty inline and with --server). */
  pids: number[];
  /** Data dir of an embedded node (also where the raw-write limit writes), else null. */
  dataDir: string | null;
  /** The node's fsync policy when known. */
  fsync: string | null;
  /** CPU microseconds used by each node process so far (a cluster: by node id - 1; null when not measurable). */
  cpuMicrosEach(): Promise<number[] | null>;
  stop(): Promise<void>;
}

export interface NodeUnderTestOptions {
  server: string | null;
  /** 1: one node; more: a cluster of that many child processes. */
  nodes: number;
  nodeProcess: 'child' | 'inline';
  fsync: string | null;
  nodeSettings: Record<string, string | number>;
  nodeExecArgv: string[];
  keepData: boolean;
}

export async function startNodeUnderTest(o: NodeUnderTestOptions): Promise<NodeUnderTest> {
  const n = await start(o);
  let stopped: Promise<void> | null = null;
  return { ...n, stop: () => (stopped ??= n.stop()) }; // idempotent
}

async function start(o: NodeUnderTestOptions): Promise<NodeUnderTest> {
  if (o.server !== null) {
    return { address: o.server, kind: 'server', nodes: 0, pids: [], dataDir: null, fsync: null, cpuMicrosEach: async () => null, stop: async () => undefined };
  }
  for (const k of Object.keys(o.nodeSettings)) if (!(k in DEFAULT_CONFIG)) throw new Error(`--node-set ${k}: not a node setting (see src/node/config.ts)`);
  if (o.nodes > 1) return startCluster(o);
  const dataDir = mkdtempSync(join(tmpdir(), 'nativelog-bench-'));
  const config: Partial<NodeConfig> = { ...(o.nodeSettings as Partial<NodeConfig>), dataDir, host: '127.0.0.1', port: 0 };
  if (o.fsync !== null) config.fsync = o.fsync;
  const fsync = config.fsync ?? DEFAULT_CONFIG.fsync;
  const cleanup = (): void => {
    if (!o.keepData) rmSync(dataDir, { recursive: true, force: true });
  };
  if (o.nodeProcess === 'inline') {
    const { startNode } = await import('../node/index.js');
    const node = await startNode({ ...DEFAULT_CONFIG, ...config });
    return {
      address: `${node.host}:${node.port}`,
      kind: 'inline',
      nodes: 1,
      pids: [],
      dataDir,
      fsync,
      cpuMicrosEach: async () => {
        const u = process.cpuUsage();
        return [u.user + u.system];
      },
      stop: async () => {
        await node.close();
        cleanup();
      },
    };
  }
  const child = await startChild(config, o.nodeExecArgv, o.keepData ? null : dataDir).catch((e: unknown) => {
    cleanup();
    throw e;
  });
  return {
    address: child.address,
    kind: 'child',
    nodes: 1,
    pids: [child.pid],
    dataDir,
    fsync,
    cpuMicrosEach: async () => {
      const c = await child.cpuMicros();
      return c === null ? null : [c];
    },
    stop: async () => {
      await child.stop();
      cleanup();
    },
  };
}

/** One node child process (node-process.ts), started and answering. */
interface ChildNode {
  pid: number;
  address: string;
  cpuMicros(): Promise<number | null>;
  /** Closes the node (flush, fsync) and waits for the process to exit; SIGKILL past NODE_STOP_MS_MAX. */
  stop(): Promise<void>;
}

/** Live node child processes and the temp dir each one's data is in (null: keep it), for stopAllNodesNow(). */
const liveChildren = new Map<ChildProcess, string | null>();

/**
 * Kills every node child process still running by pid (SIGKILL) and removes
 * their temp data dirs. Synchronous, so it can run in an 'exit' handler; for
 * SIGINT and for a run that is abandoned.
 */
export function stopAllNodesNow(): void {
  for (const [child, dir] of liveChildren) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
  liveChildren.clear();
}
process.on('exit', stopAllNodesNow);

async function startChild(config: Partial<NodeConfig>, execArgv: string[], removeDir: string | null): Promise<ChildNode> {
  const child = fork(new URL('./node-process.js', import.meta.url), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  liveChildren.set(child, removeDir);
  child.once('exit', () => liveChildren.delete(child));
  let address: string;
  try {
    address = await request<{ address?: string; error?: string }>(child, { cmd: 'start', config }, NODE_START_MS_MAX).then((m) => {
      if (m.address === undefined) throw new Error(`the embedded node did not start: ${m.error ?? 'no address'}`);
      return m.address;
    });
  } catch (e) {
    await killAndWait(child);
    throw e;
  }
  return {
    pid: child.pid!,
    address,
    cpuMicros: async () => {
      const m = await request<{ cpu?: { user: number; system: number } }>(child, { cmd: 'cpu' }, 5000);
      return m.cpu === undefined ? null : m.cpu.user + m.cpu.system;
    },
    stop: async () => {
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      if (child.connected) child.send({ cmd: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), NODE_STOP_MS_MAX);
      await exited;
      clearTimeout(timer);
    },
  };
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * N node processes forming one cluster: node ids 1..N, each on its own
 * free port and data dir (under one temp dir), each given the others as
 * --peers. Retried as a whole on fresh ports when a port was taken.
 */
async function startCluster(o: NodeUnderTestOptions): Promise<NodeUnderTest> {
  const baseDir = mkdtempSync(join(tmpdir(), 'nativelog-bench-cluster-'));
  const cleanup = (): void => {
    if (!o.keepData) rmSync(baseDir, { recursive: true, force: true });
  };
  const fsync = o.fsync ?? (typeof o.nodeSettings.fsync === 'string' ? o.nodeSettings.fsync : DEFAULT_CONFIG.fsync);
  let children: ChildNode[] = [];
  try {
    for (let attempt = 1; ; attempt++) {
      const ports: number[] = [];
      for (let id = 1; id <= o.nodes; id++) ports.push(await freePort(ports));
      const peersOf = (id: number): string =>
        ports
          .map((p, i) => [i + 1, p] as const)
          .filter(([other]) => other !== id)
          .map(([other, p]) => `${other}@127.0.0.1:${p}`)
          .join(',');
      const started = await Promise.allSettled(
        ports.map((port, i) => {
          const id = i + 1;
          const config: Partial<NodeConfig> = { ...(o.nodeSettings as Partial<NodeConfig>), dataDir: join(baseDir, `attempt${attempt}`, `n${id}`), host: '127.0.0.1', port, nodeId: id, peers: peersOf(id) };
          if (o.fsync !== null) config.fsync = o.fsync;
          return startChild(config, o.nodeExecArgv, o.keepData ? null : baseDir);
        }),
      );
      children = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = started.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      if (failed.length === 0) break;
      await Promise.all(children.map((c) => c.stop()));
      children = [];
      if (attempt >= CLUSTER_START_ATTEMPTS_MAX || !failed.every((m) => /EADDRINUSE/.test(m))) {
        throw new Error(`the embedded cluster of ${o.nodes} nodes did not start: ${failed[0]}`);
      }
    }
  } catch (e) {
    await Promise.all(children.map((c) => c.stop()));
    cleanup();
    throw e;
  }
  return {
    address: children.map((c) => c.address).join(','),
    kind: 'child',
    nodes: children.length,
    pids: children.map((c) => c.pid),
    dataDir: baseDir,
    fsync,
    cpuMicrosEach: async () => {
      const each = await Promise.all(children.map((c) => c.cpuMicros()));
      return each.some((x) => x === null) ? null : (each as number[]);
    },
    stop: async () => {
      await Promise.all(children.map((c) => c.stop()));
      cleanup();
    },
  };
}

/** Lowest port of the kernel's ephemeral range (what connect() and listen(0) hand out). */
function ephemeralLow(): number {
  try {
    const n = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isSafeInteger(n) && n > 2000 ? n : 32768;
  } catch {
    return 32768;
  }
}

function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => {
      const a = srv.address();
      const got = typeof a === 'object' && a !== null ? a.port : null;
      srv.close(() => resolve(got));
    });
  });
}

/** A port free on 127.0.0.1 right now, not in `taken`, below the ephemeral range when possible. */
async function freePort(taken: number[]): Promise<number> {
  const low = ephemeralLow();
  for (let i = 0; i < FREE_PORT_TRIES_MAX; i++) {
    const p = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (!taken.includes(p) && (await tryListen(p)) !== null) return p;
  }
  const any = await tryListen(0);
  if (any === null || taken.includes(any)) throw new Error('no free port on 127.0.0.1 for an embedded node');
  return any;
}

function request<T>(child: ChildProcess, msg: unknown, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMsg = (m: unknown): void => {
      done();
      resolve(m as T);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`the embedded node process exited (code ${code})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the embedded node did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMsg);
      child.off('exit', onExit);
    };
    child.on('message', onMsg);
    child.on('exit', onExit);
    child.send(msg as object);
  });
}
