/**
 * Start-up reconciliation of shard folders with the MetaStore (which is the
 * source of truth): folders of streams it does not hold are removed, folders
 * of shards it does hold are created. This is what makes stream creation and
 * deletion atomic across a crash.
 *
 * Only folders shaped like our own are touched: <data-dir>/<namespace>/<stream>/<shard>
 * where namespace and stream are valid names and shard a decimal number.
 * Anything else (names starting with "@" such as @meta, files) is left alone.
 */
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamConfig } from '../metastore/types.js';
import { shardDir } from './shard-opener.js';

const NAME = /^[A-Za-z0-9._-]{1,249}$/;
const SHARD = /^(0|[1-9][0-9]{0,8})$/;

function isName(n: string): boolean {
  return NAME.test(n) && n !== '.' && n !== '..';
}

async function dirsIn(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export interface ReconcileReport {
  removed: string[];
  created: string[];
}

export async function reconcileShardFolders(dataDir: string, streams: StreamConfig[]): Promise<ReconcileReport> {
  const report: ReconcileReport = { removed: [], created: [] };
  const byKey = new Map(streams.map((s) => [`${s.namespace}/${s.name}`, s]));
  await mkdir(dataDir, { recursive: true });
  for (const ns of (await dirsIn(dataDir)).filter(isName)) {
    for (const name of (await dirsIn(join(dataDir, ns))).filter(isName)) {
      await removeStale(dataDir, ns, name, byKey.get(`${ns}/${name}`), report);
    }
    await rmdir(join(dataDir, ns)).catch(() => undefined); // only succeeds when empty
  }
  for (const s of streams) {
    for (let shard = 0; shard < s.shards; shard++) {
      const dir = shardDir(dataDir, s.namespace, s.name, shard);
      if ((await mkdir(dir, { recursive: true })) !== undefined) report.created.push(dir);
    }
  }
  return report;
}

async function removeStale(dataDir: string, ns: string, name: string, stream: StreamConfig | undefined, report: ReconcileReport): Promise<void> {
  const streamDir = join(dataDir, ns, name);
  if (stream === undefined) {
    await rm(streamDir, { recursive: true, force: true });
    report.removed.push(streamDir);
    return;
  }
  for (const shard of (await dirsIn(streamDir)).filter((d) => SHARD.test(d))) {
    if (Number(shard) >= stream.shards) {
      await rm(join(streamDir, shard), { recursive: true, force: true });
      report.removed.push(join(streamDir, shard));
    }
  }
}
