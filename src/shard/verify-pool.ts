/**
 * `nativelog verify`'s data check: finds every shard folder
 * (<data-dir>/<namespace>/<stream>/<incarnation>/<shard>/ holding segment files or a
 * checkpoint) and verifies all their segments in parallel on a piscina pool
 * of stateless tasks (workers/verify-task.ts), then checks per shard that the
 * segments join up (no seq gap between one segment's last record and the
 * next one's base). Offline only: no node may own the data dir meanwhile.
 */
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { Piscina } from 'piscina';
import type { DamagedRange, SegmentReport } from '../storage/verify.js';
import { CHECKPOINT_FILE, logFileName, segmentBases } from '../storage/segment-name.js';
import type { VerifyTask, VerifyTaskResult } from '../../workers/verify-task.js';

/** Most pool threads, whatever the core count. */
export const VERIFY_THREADS_MAX = 8;

const TASK_URL = new URL('../../workers/verify-task.js', import.meta.url).href;

export interface ShardLocation {
  dir: string;
  namespace: string;
  stream: string;
  /** The stream's incarnation folder ('' for a stream created before incarnations existed). */
  incarnation: string;
  shard: string;
}

export interface ShardVerifySummary extends ShardLocation {
  segments: number;
  records: number;
  bytes: number;
  ok: boolean;
}

export interface VerifyReport {
  ok: boolean;
  dataDir: string;
  shards: ShardVerifySummary[];
  segments: number;
  records: number;
  bytes: number;
  /** Every damaged byte range (and seq gap between segments) found. */
  damaged: DamagedRange[];
  /** Index, checkpoint and unreadable-file problems (rebuildable or not, all reported). */
  problems: string[];
}

function subdirs(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => {
    try {
      return statSync(join(dir, n)).isDirectory();
    } catch {
      return false;
    }
  }).sort();
}

const INCARNATION = /^[0-9a-f]{16}$/;

/**
 * Shard folders holding a segment file or a checkpoint:
 * <namespace>/<stream>/<incarnation>/<shard>, and the legacy
 * <namespace>/<stream>/<shard> of streams created before incarnations.
 */
export function findShardDirs(dataDir: string): ShardLocation[] {
  const out: ShardLocation[] = [];
  const consider = (dir: string, namespace: string, stream: string, incarnation: string, shard: string) => {
    const names = readdirSync(dir);
    if (segmentBases(names).length > 0 || names.includes(CHECKPOINT_FILE)) out.push({ dir, namespace, stream, incarnation, shard });
  };
  for (const namespace of subdirs(dataDir)) {
    for (const stream of subdirs(join(dataDir, namespace))) {
      for (const entry of subdirs(join(dataDir, namespace, stream))) {
        if (!INCARNATION.test(entry)) {
          consider(join(dataDir, namespace, stream, entry), namespace, stream, '', entry);
          continue;
        }
        for (const shard of subdirs(join(dataDir, namespace, stream, entry))) consider(join(dataDir, namespace, stream, entry, shard), namespace, stream, entry, shard);
      }
    }
  }
  return out;
}

export async function verifyDataDir(dataDir: string, opts: { threads?: number } = {}): Promise<VerifyReport> {
  const shards = findShardDirs(dataDir);
  const plan = shards.map((s) => ({ s, segments: segmentBases(readdirSync(s.dir)).map((b) => join(s.dir, logFileName(b))) }));
  const taskCount = plan.reduce((n, p) => n + p.segments.length + 1, 0);
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), VERIFY_THREADS_MAX, taskCount));
  const pool = new Piscina<VerifyTask, VerifyTaskResult>({ filename: TASK_URL, minThreads: 1, maxThreads: threads });
  const report: VerifyReport = { ok: true, dataDir, shards: [], segments: 0, records: 0, bytes: 0, damaged: [], problems: [] };
  try {
    const perShard = plan.map(async ({ s, segments }) => {
      const segs = await Promise.all(segments.map((path) => runSegment(pool, path, report)));
      const cp = await pool.run({ kind: 'checkpoint', path: join(s.dir, CHECKPOINT_FILE) });
      const cpProblem = cp.kind === 'checkpoint' && cp.problem !== null ? `${cp.path}: ${cp.problem}` : null;
      return summarize(s, segs, cpProblem, report);
    });
    report.shards = await Promise.all(perShard);
  } finally {
    await pool.destroy();
  }
  report.ok = report.damaged.length === 0 && report.problems.length === 0;
  return report;
}

async function runSegment(pool: Piscina<VerifyTask, VerifyTaskResult>, path: string, report: VerifyReport): Promise<SegmentReport | null> {
  try {
    const r = await pool.run({ kind: 'segment', path });
    return r.kind === 'segment' ? r.report : null;
  } catch (e) {
    report.problems.push(`${path}: could not be verified: ${(e as Error).message}`);
    return null;
  }
}

function summarize(s: ShardLocation, segs: (SegmentReport | null)[], cpProblem: string | null, report: VerifyReport): ShardVerifySummary {
  const sum: ShardVerifySummary = { ...s, segments: segs.length, records: 0, bytes: 0, ok: true };
  const damagedBefore = report.damaged.length;
  const problemsBefore = report.problems.length;
  if (cpProblem !== null) report.problems.push(cpProblem);
  segs.forEach((seg, k) => {
    if (seg === null) return;
    sum.records += seg.records;
    sum.bytes += seg.bytes;
    report.damaged.push(...seg.damaged);
    if (seg.index?.problem != null) report.problems.push(`${seg.index.file}: ${seg.index.problem}`);
    const next = segs[k + 1];
    if (next != null && seg.damaged.length === 0 && seg.lastSeq !== null && next.baseSeq !== seg.lastSeq + 1) {
      report.damaged.push({
        file: next.file,
        byteStart: 0,
        byteEnd: 0,
        seqFirst: seg.lastSeq + 1,
        seqLast: next.baseSeq === null ? null : next.baseSeq - 1,
        problem: 'segment-gap',
        message: `${basename(next.file)} starts at seq ${next.baseSeq}, but the previous segment ends at ${seg.lastSeq}`,
      });
    }
  });
  report.segments += segs.length;
  report.records += sum.records;
  report.bytes += sum.bytes;
  sum.ok = report.damaged.length === damagedBefore && report.problems.length === problemsBefore;
  return sum;
}
