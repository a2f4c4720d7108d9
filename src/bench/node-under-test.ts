/**
 * The node the bench talks to: an embedded one in a fresh temp data dir (in
 * a child process by default, or inside this process with nodeProcess
 * 'inline'), or an existing one given by --server. Reports the node's CPU
 * time so throughput can be read per CPU second.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type NodeConfig } from '../node/config.js';

/** How long an embedded node may take to start or stop. */
export const NODE_START_MS_MAX = 30_000;
export const NODE_STOP_MS_MAX = 30_000;

export interface NodeUnderTest {
  /** "host:port" the clients connect to. */
  address: string;
  kind: 'child' | 'inline' | 'server';
  /** Data dir of an embedded node (also where the raw-write limit writes), else null. */
  dataDir: string | null;
  /** The node's fsync policy when known. */
  fsync: string | null;
  /** CPU microseconds used by the node process so far (null when not measurable). */
  cpuMicros(): Promise<number | null>;
  stop(): Promise<void>;
}

export interface NodeUnderTestOptions {
  server: string | null;
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
    return { address: o.server, kind: 'server', dataDir: null, fsync: null, cpuMicros: async () => null, stop: async () => undefined };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'nativelog-bench-'));
  const config: Partial<NodeConfig> = { ...(o.nodeSettings as Partial<NodeConfig>), dataDir, host: '127.0.0.1', port: 0 };
  if (o.fsync !== null) config.fsync = o.fsync;
  for (const k of Object.keys(o.nodeSettings)) if (!(k in DEFAULT_CONFIG)) throw new Error(`--node-set ${k}: not a node setting (see src/node/config.ts)`);
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
      dataDir,
      fsync,
      cpuMicros: async () => {
        const u = process.cpuUsage();
        return u.user + u.system;
      },
      stop: async () => {
        await node.close();
        cleanup();
      },
    };
  }
  const child = fork(new URL('./node-process.js', import.meta.url), [], { execArgv: o.nodeExecArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let address: string;
  try {
    address = await request<{ address?: string; error?: string }>(child, { cmd: 'start', config }, NODE_START_MS_MAX).then((m) => {
      if (m.address === undefined) throw new Error(`the embedded node did not start: ${m.error ?? 'no address'}`);
      return m.address;
    });
  } catch (e) {
    child.kill('SIGKILL');
    cleanup();
    throw e;
  }
  return {
    address,
    kind: 'child',
    dataDir,
    fsync,
    cpuMicros: async () => {
      const m = await request<{ cpu?: { user: number; system: number } }>(child, { cmd: 'cpu' }, 5000);
      return m.cpu === undefined ? null : m.cpu.user + m.cpu.system;
    },
    stop: async () => {
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      child.send({ cmd: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), NODE_STOP_MS_MAX);
      await exited;
      clearTimeout(timer);
      cleanup();
    },
  };
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
