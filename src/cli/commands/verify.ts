/**
 * nativelog verify --data-dir DIR: offline check of the MetaStore and of
 * every segment and index under DIR (the node must not be running on it).
 * Exit 0 when everything is intact, EXIT_CORRUPT naming the damaged ranges
 * otherwise.
 */
import { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { verifyMetaStore, type MetaVerifyReport } from '../../metastore/verify-meta.js';
import { verifyDataDir, type VerifyReport } from '../../shard/verify-pool.js';
import type { DamagedRange } from '../../storage/verify.js';
import { usageError } from '../cli-error.js';
import { EXIT_CORRUPT, EXIT_OK } from '../exit-codes.js';
import { startProgress } from '../progress.js';

interface VerifyOpts {
  dataDir: string;
  json?: boolean;
}

function metaLines(m: MetaVerifyReport): string[] {
  const torn = m.tornTailBytes > 0 ? `, torn tail of ${m.tornTailBytes} bytes to drop on next start` : '';
  const head = `metastore: ${m.ok ? 'ok' : 'DAMAGED'} (${m.commands} logged commands${m.snapshot ? ', snapshot' : ''}${torn})`;
  return [head, ...m.problems.map((p) => `  ${p}`)];
}

function rangeLine(d: DamagedRange): string {
  const seqs = d.seqFirst === null ? 'seqs unknown' : d.seqFirst === d.seqLast ? `seq ${d.seqFirst}` : `seqs ${d.seqFirst}-${d.seqLast ?? '?'}`;
  return `  ${d.file} bytes ${d.byteStart}-${d.byteEnd} (${seqs}): ${d.message}`;
}

/** Summary, then every damaged range and problem. */
function dataLines(d: VerifyReport): string[] {
  const head = `segments: ${d.ok ? 'ok' : 'DAMAGED'} (${d.shards.length} shards, ${d.segments} segments, ${d.records} records, ${d.bytes} bytes)`;
  return [head, ...d.damaged.map(rangeLine), ...d.problems.map((p) => `  ${p}`)];
}

async function verify(o: VerifyOpts): Promise<void> {
  const st = await stat(o.dataDir).catch(() => null);
  if (st === null || !st.isDirectory()) throw usageError(`--data-dir ${o.dataDir} is not a directory.`);
  const progress = startProgress(() => `verify: checking ${o.dataDir}`);
  let meta: MetaVerifyReport;
  let data: VerifyReport;
  try {
    meta = await verifyMetaStore(o.dataDir);
    data = await verifyDataDir(o.dataDir);
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
    .description('offline check of every segment, index and the MetaStore of a stopped node; non-zero exit on corruption')
    .requiredOption('--data-dir <dir>', 'data dir of a stopped node')
    .option('--json', 'one JSON object: {"ok", "metastore", "data"}')
    .action(verify);
}
