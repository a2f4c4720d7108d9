/**
 * The disk work of a roll made in the background mode
 * (ShardStoreOptions.syncInBackground; ShardStore.rollInBackground): make
 * the old segment's log and index durable, make the new segment's directory
 * entries durable, then replace the checkpoint with the snapshot taken at
 * the roll (new segment active at 0 bytes, old one sealed), all with fsyncs
 * on other threads (FileLayer.fsyncAsync / syncDirAsync).
 *
 * The checkpoint is written as CHECKPOINT_BG_TMP, fsync'd, and renamed over
 * the checkpoint only if no newer checkpoint was written meanwhile (an
 * inline one by close or retention, which first makes every pending old
 * segment durable itself: Durability.settleSealsInline). Before it is written,
 * hooks.beforeWrite() asserts that every segment the snapshot names as sealed
 * is durable (docs/FORMAT.md section 8: a checkpoint never names a segment
 * sealed unless its seal is durable; recovery trusts sealed segments without
 * reading them).
 *
 * Any failure ends the job. A failed fsync has stopped the store
 * (fsync-guard.ts), which refuses every later call, so nothing is retried.
 */
import { join } from 'node:path';
import { type FileLayer, writeFully } from './file-layer.js';
import { CHECKPOINT_FILE } from './segment-name.js';

/** Temporary name of a checkpoint written in the background (recovery deletes *.tmp files). */
export const CHECKPOINT_BG_TMP = 'checkpoint.bg.tmp';

export interface SealJob {
  /** Descriptors of the old segment, closed by the store once the job is done (inline settling fsyncs these). */
  logFd: number;
  indexFd: number;
  /** Paths of the old segment's files: the job fsyncs them through descriptors of its own (see syncOwnFd). */
  logPath: string;
  indexPath: string;
  /** Base seq of the old segment. */
  baseSeq: number;
  /** Bytes of the old segment (its length at the roll, final). */
  segmentBytes: number;
  /** Bytes of the old segment known durable: covered by a successful fsync of its log (grows to segmentBytes). */
  durableBytes: number;
  /** Base seq of the segment the roll opened (active in the snapshot). */
  newBaseSeq: number;
  /** The seal is durable: old log and index fsync'd and the directory fsync'd after them (set by the job, or inline first). */
  synced: boolean;
  /** Encoded checkpoint snapshot taken at the roll. */
  checkpoint: Uint8Array;
  /** Checkpoint generation of that snapshot. */
  gen: number;
  /** When the oldest append the old segment had unsynced at the roll was made (-1: none): the loss-window clock of this job. */
  oldestUnsyncedAt: number;
  /** When the roll was made: the clock of the appends after it, which this job's syncDir makes reachable (their file's entry). */
  rolledAt: number;
  /** Bytes the old segment had unsynced at the roll. */
  unsyncedBytes: number;
  /**
   * The store's count of bytes appended since open, at the roll. Until this
   * job is synced, recovery may cut the old segment and delete every later
   * one, so all bytes appended since the roll are at risk with it, fsync'd
   * or not (ShardStore.sealsDue).
   */
  appendedBytesAtRoll: number;
}

export interface SealJobHooks {
  /** Whether a successful fsync of fd may be trusted (not after a failed one on it: FsyncGuardLayer.fsyncCounts). */
  fsyncCounts(fd: number): boolean;
  /** Whether the job's snapshot is still newer than the last checkpoint written. */
  newest(): boolean;
  /** Called right before the snapshot is written; throws (and stops the store) unless every segment it names as sealed is durable. */
  beforeWrite(): void;
  /** The snapshot has replaced the checkpoint file. */
  written(): void;
}

/**
 * fsyncs a file on the thread pool through a descriptor opened for it alone:
 * Linux reports a writeback error once per open file description, so the
 * store's own descriptor still gets it (an inline fsync of it fails too)
 * instead of succeeding while this one consumed the error. Returns whether
 * the success may be trusted.
 */
async function syncOwnFd(layer: FileLayer, path: string, hooks: SealJobHooks): Promise<boolean> {
  const fd = layer.open(path, 'read');
  try {
    await layer.fsyncAsync(fd);
    return hooks.fsyncCounts(fd);
  } finally {
    layer.close(fd);
  }
}

/** Runs one job; rejects when a step fails. */
export async function runSealJob(layer: FileLayer, dir: string, job: SealJob, hooks: SealJobHooks): Promise<void> {
  if (!job.synced) {
    // (settleSealsInline may set synced while these run; then they only repeat its work.)
    if (await syncOwnFd(layer, job.logPath, hooks)) job.durableBytes = job.segmentBytes;
    await syncOwnFd(layer, job.indexPath, hooks);
    await layer.syncDirAsync(dir);
    job.synced = true;
  }
  const { newest, written } = hooks;
  if (!newest()) return;
  hooks.beforeWrite();
  const tmp = join(dir, CHECKPOINT_BG_TMP);
  const fd = layer.open(tmp, 'create');
  try {
    layer.truncate(fd, 0);
    writeFully(layer, fd, job.checkpoint, 0, job.checkpoint.length, 0);
    await layer.fsyncAsync(fd);
  } finally {
    layer.close(fd);
  }
  if (!newest()) {
    layer.unlink(tmp);
    return;
  }
  layer.rename(tmp, join(dir, CHECKPOINT_FILE));
  written();
  await layer.syncDirAsync(dir);
}
