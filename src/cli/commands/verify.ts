/**
 * nativelog verify --data-dir DIR: offline check of the MetaStore and of
 * every segment and index under DIR (the node must not be running on it).
 * Exit 0 when everything is intact, EXIT_CORRUPT naming the damaged ranges
 * otherwise.
 */
import { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { verifyMetaStore, type MetaVerifyReport } from '../../metastore/verify-meta.js';
import { usageError } from '../cli-error.js';
import { EXIT_CORRUPT, EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';
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

/** The shard verifier's report, or null when this build has none. */
async function verifyData(dataDir: string): Promise<DataVerifyReport | null> {
  let mod: { verifyDataDir?: (dir: string) => Promise<DataVerifyReport> };
  try {
    mod = (await import(SHARD_VERIFY_MODULE)) as typeof mod;
  } catch {
    return null;
  }
  return typeof mod.verifyDataDir === 'function' ? mod.verifyDataDir(dataDir) : null;
}

function metaLines(m: MetaVerifyReport): string[] {
  const head = `metastore: ${m.ok ? 'ok' : 'DAMAGED'} (${m.commands} logged commands${m.snapshot ? ', snapshot' : ''}${m.tornTailBytes > 0 ? `, torn tail of ${m.tornTailBytes} bytes to drop on next start` : ''})`;
  return [head, ...m.problems.map((p) => `  ${p}`)];
}

/** Damaged ranges as lines, from whatever list the shard verifier gives. */
/** Damaged ranges as lines, from whatever list the shard verifier gives. */
function dataLines(d: DataVerifyReport | null): string[] {
  if (d === null) return ['segments: NOT CHECKED (segment verification is not available in this build)'];
  const damaged = (d.damaged ?? d.problems ?? d.errors) as unknown;
  const list = Array.isArray(damaged) ? damaged : [];
  return [`segments: ${d.ok ? 'ok' : 'DAMAGED'}`, ...list.map((x) => `  ${typeof x === 'string' ? x : JSON.stringify(x)}`)];
}

/** Corruption wins; then "could not check everything"; else ok. */
function verdict(meta: MetaVerifyReport, data: DataVerifyReport | null): { code: number; summary: string } {
  if (!meta.ok || (data !== null && !data.ok)) return { code: EXIT_CORRUPT, summary: 'verify: CORRUPTION FOUND' };
  if (data === null) return { code: EXIT_FAILURE, summary: 'verify: INCOMPLETE' };
  return { code: EXIT_OK, summary: 'verify: ok' };
}

async function verify(o: VerifyOpts): Promise<void> {
  const st = await stat(o.dataDir).catch(() => null);
  if (st === null || !st.isDirectory()) throw usageError(`--data-dir ${o.dataDir} is not a directory.`);
  const progress = startProgress(() => `verify: checking ${o.dataDir}`);
  let meta: MetaVerifyReport;
  let data: DataVerifyReport | null;
  try {
    meta = await verifyMetaStore(o.dataDir);
    data = await verifyData(o.dataDir);
  } finally {
    progress.stop();
  }
  const { code, summary } = verdict(meta, data);
  if (o.json) process.stdout.write(`${JSON.stringify({ ok: code === EXIT_OK, metastore: meta, data })}\n`);
  else process.stdout.write(`${[...metaLines(meta), ...dataLines(data), summary].join('\n')}\n`);
  if (code === EXIT_CORRUPT) process.stderr.write(`Corruption found under ${o.dataDir}; see the damaged ranges above.\n`);
  else if (code !== EXIT_OK) process.stderr.write('Segment verification is not available in this build, so only the MetaStore was checked.\n');
  process.exitCode = code;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description('offline check of every segment, index and the MetaStore; non-zero exit on corruption')
    .requiredOption('--data-dir <dir>', 'data dir of a stopped node')
    .option('--json', 'one JSON object: {"ok", "metastore", "data"}')
    .action(verify);
}
