/**
 * nativelog verify --data-dir DIR: offline check of the MetaStore and of
 * every segment and index under DIR (the node must not be running on it).
 * Exit 0 when everything is intact, EXIT_CORRUPT naming the damaged ranges
 * otherwise. With --rebuild-indexes, first rewrites the missing or invalid
 * sparse indexes of sealed segments (piscina pool, src/shard/index-rebuild-pool.ts)
 * and prints what it rebuilt; then verifies as usual.
 *
 * Both forms hold <data-dir>/LOCK while they run (docs/FORMAT.md, "Lock
 * files"): they refuse, naming the pid, while a node owns the data dir, and a
 * node cannot start meanwhile. Read-only verify refuses too instead of
 * warning: a running node's active segment grows under the check and would
 * be reported as a torn tail, a false alarm with a failing exit code.
 */
import { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { LockHeldError, acquireOwnerLock, holderState, readLockHolder, type OwnerLock } from '../../lock/owner-lock.js';
import { verifyMetaStore, type MetaVerifyReport } from '../../metastore/verify-meta.js';
import { rebuildIndexes, type RebuildReport } from '../../shard/index-rebuild-pool.js';
import { verifyDataDir, type VerifyReport } from '../../shard/verify-pool.js';
import { INDEX_INTERVAL_BYTES_DEFAULT } from '../../storage/defaults.js';
import type { DamagedRange } from '../../storage/verify.js';
import { parseIntArg } from '../arg-parsers.js';
import { usageError } from '../cli-error.js';
import { EXIT_CORRUPT, EXIT_OK } from '../exit-codes.js';
import { startProgress } from '../progress.js';

interface VerifyOpts {
  dataDir: string;
  json?: boolean;
  rebuildIndexes?: boolean;
  indexIntervalBytes: number;
}

/** What --rebuild-indexes did: one line per index written, failure and warning. */
function rebuildLines(r: RebuildReport): string[] {
  const head = `indexes: rebuilt ${r.rebuilt.length} of ${r.segments} sealed segments' indexes (${r.kept} valid, ${r.failed.length} failed)`;
  return [
    head,
    ...r.rebuilt.map((x) => `  rebuilt ${x.file}: ${x.entries} entries over ${x.records} records, ${x.bytes} bytes (was: ${x.reason ?? 'valid'})`),
    ...r.failed.map((f) => `  NOT rebuilt ${f.file}: ${f.error}`),
    ...r.warnings.map((w) => `  warning: ${w}`),
  ];
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

const LOCK_HINT = 'verify checks a stopped node only';

/**
 * Takes <data-dir>/LOCK for the run. A read-only check of a data dir this
 * user cannot write (a read-only mount, a backup) runs without the lock if
 * no live process holds it.
 */
function lockForVerify(dataDir: string, writes: boolean): OwnerLock | null {
  try {
    return acquireOwnerLock(dataDir, { what: 'data dir', owner: 'nativelog verify', hint: LOCK_HINT });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (writes || e instanceof LockHeldError || (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM')) throw e;
    const h = readLockHolder(dataDir);
    if (h !== null && holderState(h) !== 'dead') {
      throw new LockHeldError(`Data dir ${dataDir} is owned by process ${h.pid} (${h.owner}); ${LOCK_HINT}.`, dataDir, h);
    }
    return null;
  }
}

async function verify(o: VerifyOpts): Promise<void> {
  const st = await stat(o.dataDir).catch(() => null);
  if (st === null || !st.isDirectory()) throw usageError(`--data-dir ${o.dataDir} is not a directory.`);
  const lock = lockForVerify(o.dataDir, o.rebuildIndexes === true);
  const progress = startProgress(() => `verify: checking ${o.dataDir}`);
  let meta: MetaVerifyReport;
  let data: VerifyReport;
  let rebuild: RebuildReport | null = null;
  try {
    if (o.rebuildIndexes === true) rebuild = await rebuildIndexes(o.dataDir, { onlyMissingOrInvalid: true, indexIntervalBytes: o.indexIntervalBytes });
    meta = await verifyMetaStore(o.dataDir);
    data = await verifyDataDir(o.dataDir);
  } finally {
    progress.stop();
    lock?.release();
  }
  const ok = meta.ok && data.ok && (rebuild?.ok ?? true);
  if (o.json) process.stdout.write(`${JSON.stringify({ ok, metastore: meta, data, ...(rebuild === null ? {} : { rebuild }) })}\n`);
  else {
    const lines = [...(rebuild === null ? [] : rebuildLines(rebuild)), ...metaLines(meta), ...dataLines(data), ok ? 'verify: ok' : 'verify: CORRUPTION FOUND'];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (!ok) process.stderr.write(`Corruption found under ${o.dataDir}; see the damaged ranges above.\n`);
  process.exitCode = ok ? EXIT_OK : EXIT_CORRUPT;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description('offline check of every segment, index and the MetaStore of a stopped node; non-zero exit on corruption')
    .requiredOption('--data-dir <dir>', 'data dir of a stopped node')
    .option('--json', 'one JSON object: {"ok", "metastore", "data"} (and "rebuild" with --rebuild-indexes)')
    .option('--rebuild-indexes', "first rewrite the missing or invalid indexes of sealed segments (offline), printing what was rebuilt")
    .option(
      '--index-interval-bytes <n>',
      "with --rebuild-indexes: bytes between index entries; give the node's --index-interval-bytes",
      (v: string) => parseIntArg('--index-interval-bytes', v, 1),
      INDEX_INTERVAL_BYTES_DEFAULT,
    )
    .action(verify);
}
