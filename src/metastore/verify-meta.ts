/**
 * Offline, read-only check of a data dir's MetaStore (for `nativelog
 * verify`): the snapshot and every command-log entry are checked exactly as
 * open() would, but nothing is written (a torn tail is reported, not cut).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeEntry } from './command-codec.js';
import { scanFrames } from './frame.js';
import { COMMAND_LOG_FILE, META_DIR_NAME, SNAPSHOT_FILE } from './meta-store.js';
import { readSnapshot } from './snapshot.js';
import { MetaError } from './types.js';

export interface MetaVerifyReport {
  /** False when the MetaStore is damaged (open() would fail with META_CORRUPT). */
  ok: boolean;
  /** One sentence per problem found. */
  problems: string[];
  /** Entries in the command log. */
  commands: number;
  /** Bytes of a torn last entry that the next open() will drop (not damage). */
  tornTailBytes: number;
  /** Whether a snapshot exists. */
  snapshot: boolean;
}

async function readLog(path: string): Promise<Uint8Array | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export async function verifyMetaStore(dataDir: string): Promise<MetaVerifyReport> {
  const dir = join(dataDir, META_DIR_NAME);
  const report: MetaVerifyReport = { ok: true, problems: [], commands: 0, tornTailBytes: 0, snapshot: false };
  const problem = (e: unknown) => {
    if (!(e instanceof MetaError)) throw e;
    report.ok = false;
    report.problems.push(e.message);
  };
  try {
    report.snapshot = (await readSnapshot(join(dir, SNAPSHOT_FILE))) !== null;
  } catch (e) {
    problem(e);
  }
  const logPath = join(dir, COMMAND_LOG_FILE);
  const bytes = await readLog(logPath);
  if (bytes === null) return report;
  try {
    const scan = scanFrames(bytes);
    for (const p of scan.payloads) decodeEntry(p.bytes, `byte ${p.offset} of ${logPath}`);
    report.commands = scan.payloads.length;
    report.tornTailBytes = bytes.length - scan.validBytes;
  } catch (e) {
    problem(e);
  }
  return report;
}
