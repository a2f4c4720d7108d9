/**
 * Runs the nativelog command (dist/src/cli/main.js) as a separate process,
 * the way an operator would, and captures its exit code and output.
 */
import { spawn } from 'node:child_process';
import { CLI_MAIN, REPO_ROOT } from './node-proc.js';

/** Longest one CLI command may run before it is killed (and the test fails). */
export const CLI_TIMEOUT_MS = 60_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { input?: string | Uint8Array; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** `nativelog verify --data-dir DIR --json`: exit code and the parsed report (null when the output is not JSON). */
export async function verifyDataDir(dataDir: string): Promise<{ code: number | null; report: Record<string, unknown> | null; stdout: string; stderr: string }> {
  const r = await runCli(['verify', '--data-dir', dataDir, '--json']);
  let report: Record<string, unknown> | null = null;
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    report = JSON.parse(last) as Record<string, unknown>;
  } catch {
    report = null;
  }
  return { code: r.code, report, stdout: r.stdout, stderr: r.stderr };
}
