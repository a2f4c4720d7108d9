/**
 * Test helper: a real `nativelog start` child process on a free loopback port
 * with a temp data dir; stopped by pid (SIGTERM, or SIGKILL for crash tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export interface NodeProcess {
  pid: number;
  port: number;
  address: string;
  dataDir: string;
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'nativelog-e2e-'));
}

export async function removeDataDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function startNodeProcess(dataDir: string, port = 0, extra: string[] = []): Promise<NodeProcess> {
  const child = spawn(process.execPath, [CLI, 'start', '--port', String(port), '--data-dir', dataDir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const actualPort = await listeningPort(child, exited);
  return {
    pid: child.pid!,
    port: actualPort,
    address: `127.0.0.1:${actualPort}`,
    dataDir,
    kill9: async () => {
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    },
    stop: async () => {
      process.kill(child.pid!, 'SIGTERM');
      return exited;
    },
  };
}

function listeningPort(child: ChildProcess, exited: Promise<number | null>): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on [^\s:]+:(\d+)/.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`node exited (${code}) before listening: ${err.trim()}`)));
  });
}
