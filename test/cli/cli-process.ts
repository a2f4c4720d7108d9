/**
 * Helpers for end-to-end CLI tests (not a test file): run `nativelog` as a
 * real process, and start/stop real `nativelog start` nodes on free loopback
 * ports (--port 0; the port is read from the "listening on" line).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
}

/** Runs `nativelog ...args` to completion. */
export function cli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const done = collect(child);
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(opts.input ?? '');
  return done;
}

export function collect(child: ChildProcess): Promise<CliResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

export function lines(b: Buffer): string[] {
  const text = b.toString('utf8');
  return text.length === 0 ? [] : text.replace(/\n$/, '').split('\n');
}

export interface NodeProcess {
  pid: number;
  server: string;
  child: ChildProcess;
  /** Sends `signal` and resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `nativelog start --port 0 --data-dir DIR` and waits for its "listening on" line. */
export function startNode(dataDir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<NodeProcess> {
  const args = [CLI_MAIN, 'start', '--port', '0', '--data-dir', dataDir, ...extra];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let seen = '';
    let errText = '';
    child.stderr!.on('data', (d: Buffer) => (errText += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /listening on (\S+:\d+)/.exec(seen);
      if (m) {
        resolve({
          pid: child.pid!,
          server: m[1]!,
          child,
          stop: (signal = 'SIGTERM') => {
            process.kill(child.pid!, signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`node exited with ${code} before listening: ${errText}`)));
  });
}
