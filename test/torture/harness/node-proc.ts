/**
 * A real node process: `node dist/src/cli/main.js start --port 0 --data-dir DIR`,
 * started for real and stopped by its pid (kill -9 or SIGTERM). Every pid
 * started here is also killed when the test process exits, whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is dist/test/torture/harness/node-proc.js once built). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const CLI_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** Longest a node may take to print "listening on" (recovery included). */
export const NODE_START_TIMEOUT_MS = 60_000;
/** Longest a SIGTERM'd node may take to flush, fsync and exit. */
export const NODE_STOP_TIMEOUT_MS = 30_000;
/** Starts on a fixed port retried when the port is still (or suddenly) in use. */
const PORT_IN_USE_RETRIES = 5;
/** Lines of the node's stderr kept for failure messages. */
const STDERR_LINES_KEPT = 200;

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Node settings passed as flags (values as the CLI takes them). */
export type NodeFlags = Record<string, string | number>;

export interface NodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class NodeProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly host: string,
    readonly port: number,
    readonly dataDir: string,
    private readonly exited: Promise<NodeExit>,
    /** The node's stdout and stderr lines (the last STDERR_LINES_KEPT). */
    readonly stdoutLines: string[],
    readonly stderrLines: string[],
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** True while the process has not exited. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Starts a node and resolves once it prints "listening on HOST:PORT". On a
   * fixed port (a restart), EADDRINUSE is retried a few times.
   */
  static async start(dataDir: string, flags: NodeFlags = {}, port = 0): Promise<NodeProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await NodeProcess.startOnce(dataDir, flags, port);
      } catch (e) {
        if (port === 0 || attempt >= PORT_IN_USE_RETRIES || !/EADDRINUSE/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }

  private static async startOnce(dataDir: string, flags: NodeFlags, port: number): Promise<NodeProcess> {
    const args = [CLI_MAIN, 'start', '--port', String(port), '--data-dir', dataDir];
    for (const [k, v] of Object.entries(flags)) args.push(`--${k}`, String(v));
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    live.add(child);
    const stdoutLines: string[] = [];
    const stderrLines: string[] = [];
    const exited = new Promise<NodeExit>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      });
    });
    const keep = (into: string[]) => {
      let partial = '';
      return (chunk: Buffer) => {
        const text = partial + chunk.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          into.push(l);
          if (into.length > STDERR_LINES_KEPT) into.shift();
        }
      };
    };
    child.stderr!.on('data', keep(stderrLines));
    const listening = new Promise<{ host: string; port: number }>((resolve, reject) => {
      const onOut = keep(stdoutLines);
      const timer = setTimeout(() => reject(new Error(`node did not print "listening on" within ${NODE_START_TIMEOUT_MS} ms; stderr: ${stderrLines.join(' | ')}`)), NODE_START_TIMEOUT_MS);
      child.stdout!.on('data', (chunk: Buffer) => {
        onOut(chunk);
        for (const l of stdoutLines) {
          const m = /listening on (\S+):(\d+)/.exec(l);
          if (m !== null) {
            clearTimeout(timer);
            resolve({ host: m[1]!, port: Number(m[2]) });
            return;
          }
        }
      });
      void exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`node exited (code ${e.code}, signal ${e.signal}) before listening; stderr: ${stderrLines.join(' | ')}`));
      });
    });
    try {
      const at = await listening;
      return new NodeProcess(child, at.host, at.port, dataDir, exited, stdoutLines, stderrLines);
    } catch (err) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      throw err;
    }
  }

  /** kill -9 by pid; resolves once the process is gone. */
  async kill9(): Promise<NodeExit> {
    if (this.alive) process.kill(this.pid, 'SIGKILL');
    return this.exited;
  }

  /** SIGTERM (flush, fsync, exit 0); kill -9 if it takes longer than NODE_STOP_TIMEOUT_MS. */
  async stop(): Promise<NodeExit> {
    if (!this.alive) return this.exited;
    process.kill(this.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), NODE_STOP_TIMEOUT_MS)));
    const r = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (r === 'late') {
      await this.kill9();
      throw new Error(`node ${this.pid} did not exit within ${NODE_STOP_TIMEOUT_MS} ms of SIGTERM; killed`);
    }
    return r;
  }

  /** Resolves when the process exits (for tests that expect it to stay up: race against this). */
  exit(): Promise<NodeExit> {
    return this.exited;
  }

  /** Resident set size in bytes (/proc/PID/status VmRSS). */
  rssBytes(): number {
    return procStatusKb(this.pid, 'VmRSS') * 1024;
  }

  /** Peak resident set size in bytes since start (/proc/PID/status VmHWM). */
  peakRssBytes(): number {
    return procStatusKb(this.pid, 'VmHWM') * 1024;
  }

  describeFailure(): string {
    return `node pid ${this.pid} on ${this.address} (data dir ${this.dataDir}); stderr tail: ${this.stderrLines.slice(-20).join(' | ')}`;
  }
}

export function procStatusKb(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  if (m === null) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(m[1]);
}
