/**
 * nativelog verify --data-dir DIR: offline check of the MetaStore and of
 * every segment and index under DIR (the node must not be running on it).
 * Exit 0 when everything is intact, EXIT_CORRUPT naming the damaged ranges
 * otherwise.
 */
import { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { verifyMetaStore, type MetaVerifyReport } from '../../metastore/verify-meta.js';
import { CliError, usageError } from '../cli-error.js';
import { EXIT_CORRUPT, EXIT_OK } from '../exit-codes.js';
import { startProgress } from '../progress.js';

interface VerifyOpts {
  dataDir: string;
  json?: boolean;
}

/** What the shard verifier reports (src/shard/verify-pool.ts); only these fields are relied on. */
export interface DataVerifyReport {
  ok: boolean;
  [field: string]: unknown;
}

const SHARD_VERIFY_MODULE = '../../shard/verify-pool.js';

async function verifyData(dataDir: string): Promise<DataVerifyReport> {
  let mod: { verifyDataDir?: (dir: string) => Promise<DataVerifyReport> };
  try {
    mod = (await import(SHARD_VERIFY_MODULE)) as typeof mod;
  } catch {
    throw new CliError('Segment verification is not available in this build (src/shard/verify-pool.js is missing).');
  }
  if (typeof mod.verifyDataDir !== 'function') throw new CliError('Segment verification is not available in this build.');
  return mod.verifyDataDir(dataDir);
}

function metaLines(m: MetaVerifyReport): string[] {
  const head = `metastore: ${m.ok ? 'ok' : 'DAMAGED'} (${m.commands} logged commands${m.snapshot ? ', snapshot' : ''}${m.tornTailBytes > 0 ? `, torn tail of ${m.tornTailBytes} bytes to drop on next start` : ''})`;
  return [head, ...m.problems.map((p) => `  ${p}`)];
}

/** Damaged ranges as lines, from whatever list the shard verifier gives. */
function dataLines(d: DataVerifyReport): string[] {
  const damaged = (d.damaged ?? d.problems ?? d.errors) as unknown;
  const list = Array.isArray(damaged) ? damaged : [];
  return [`segments: ${d.ok ? 'ok' : 'DAMAGED'}`, ...list.map((x) => `  ${typeof x === 'string' ? x : JSON.stringify(x)}`)];
}

async function verify(o: VerifyOpts): Promise<void> {
  const st = await stat(o.dataDir).catch(() => null);
  if (st === null || !st.isDirectory()) throw usageError(`--data-dir ${o.dataDir} is not a directory.`);
  const progress = startProgress(() => `verify: checking ${o.dataDir}`);
  let meta: MetaVerifyReport;
  let data: DataVerifyReport;
  try {
    meta = await verifyMetaStore(o.dataDir);
    data = await verifyData(o.dataDir);
  } finally {
    progress.stop();
  }
  const ok = meta.ok && data.ok;
  if (o.json) process.stdout.write(`${JSON.stringify({ ok, metastore: meta, data })}\n`);
  else process.stdout.write(`${[...metaLines(meta), ...dataLines(data), ok ? 'verify: ok' : 'verify: CORRUPTION FOUND'].join('\n')}\n`);
  if (!ok) process.stderr.write(`Corruption found under ${o.dataDir}; see the damaged ranges above.\n`);
  process.exitCode = ok ? EXIT_OK : EXIT_CORRUPT;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description('offline check of every segment, index and the MetaStore; non-zero exit on corruption')
    .requiredOption('--data-dir <dir>', 'data dir of a stopped node')
    .option('--json', 'one JSON object: {"ok", "metastore", "data"}')
    .action(verify);
}
