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
 * segment durable itself: ShardStore.settleSealsInline).
 */
import { join } from 'node:path';
import { type FileLayer, writeFully } from './file-layer.js';
import { CHECKPOINT_FILE } from './segment-name.js';

/** Temporary name of a checkpoint written in the background (recovery deletes *.tmp files). */
export const CHECKPOINT_BG_TMP = 'checkpoint.bg.tmp';

export interface SealJob {
  /** Descriptors of the old segment, closed by the store once the job is done. */
  logFd: number;
  indexFd: number;
  /** Base seq of the old segment (for messages). */
  baseSeq: number;
  /** Base seq of the segment the roll opened (active in the snapshot). */
  newBaseSeq: number;
  /** The old segment is durable (set by the job, or by an inline checkpoint first). */
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
  /** Its run failed (an fsync error): it stays pending until an inline fsync of it succeeds. */
  failed: boolean;
}

/**
 * Runs one job. `newest()` says whether the job's snapshot is still newer
 * than the last checkpoint written; `written()` is called once it has
 * replaced the checkpoint file.
 */
export async function runSealJob(layer: FileLayer, dir: string, job: SealJob, newest: () => boolean, written: () => void): Promise<void> {
  if (!job.synced) {
    // (settleSealsInline may set synced while these run; then they only repeat its work.)
    await layer.fsyncAsync(job.logFd);
    await layer.fsyncAsync(job.indexFd);
    await layer.syncDirAsync(dir);
    job.synced = true;
  }
  if (!newest()) return;
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
