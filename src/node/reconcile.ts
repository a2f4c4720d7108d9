/**
 * Start-up reconciliation of shard folders with the MetaStore (which is the
 * source of truth): folders of streams it does not hold (or of another
 * incarnation of a name it holds) are removed, folders of shards it does
 * hold are created. This is what makes stream creation and deletion atomic
 * across a crash.
 *
 * Only folders shaped like our own are touched:
 * <data-dir>/<namespace>/<stream>/<incarnation>/<shard> (legacy streams:
 * <data-dir>/<namespace>/<stream>/<shard>) where namespace and stream are
 * valid names, incarnation 16 hex digits, shard a decimal number. Anything
 * else (names starting with "@" such as @meta, files such as LOCK) is left
 * alone.
 */
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamConfig } from '../metastore/types.js';
import { shardDir } from './shard-opener.js';

const NAME = /^[A-Za-z0-9._-]{1,249}$/;
const INCARNATION = /^[0-9a-f]{16}$/;
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
  /** Shard folders that could not be created (their shards then fail to open). */
  failed: { dir: string; reason: string }[];
}

export async function reconcileShardFolders(dataDir: string, streams: StreamConfig[]): Promise<ReconcileReport> {
  const report: ReconcileReport = { removed: [], created: [], failed: [] };
  const byKey = new Map(streams.map((s) => [`${s.namespace}/${s.name}`, s]));
  await mkdir(dataDir, { recursive: true });
  for (const ns of (await dirsIn(dataDir)).filter(isName)) {
    for (const name of (await dirsIn(join(dataDir, ns))).filter(isName)) {
      await removeStale(join(dataDir, ns, name), byKey.get(`${ns}/${name}`), report);
    }
    await rmdir(join(dataDir, ns)).catch(() => undefined); // only succeeds when empty
  }
  for (const s of streams) {
    for (let shard = 0; shard < s.shards; shard++) {
      const dir = shardDir(dataDir, s, shard);
      try {
        if ((await mkdir(dir, { recursive: true })) !== undefined) report.created.push(dir);
      } catch (err) {
        // One shard's folder (a file in its place, say) must not stop the node: opening it fails
        // next, and the shard is marked failed with the reason.
        report.failed.push({ dir, reason: (err as Error).message });
      }
    }
  }
  return report;
}

async function remove(dir: string, report: ReconcileReport): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  report.removed.push(dir);
}

/** Inside <ns>/<name>: keep the current life's folders only. */
async function removeStale(nameDir: string, stream: StreamConfig | undefined, report: ReconcileReport): Promise<void> {
  if (stream === undefined) return remove(nameDir, report);
  for (const entry of await dirsIn(nameDir)) {
    if (INCARNATION.test(entry)) {
      if (entry !== stream.incarnation) await remove(join(nameDir, entry), report); // a deleted life
      else await removeShardsPast(join(nameDir, entry), stream.shards, report);
    } else if (SHARD.test(entry)) {
      // A legacy (pre-incarnation) shard folder: the current life's only if the stream is legacy.
      if (stream.incarnation !== '' || Number(entry) >= stream.shards) await remove(join(nameDir, entry), report);
    }
  }
}

async function removeShardsPast(dir: string, shards: number, report: ReconcileReport): Promise<void> {
  for (const shard of (await dirsIn(dir)).filter((d) => SHARD.test(d))) {
    if (Number(shard) >= shards) await remove(join(dir, shard), report);
  }
}
