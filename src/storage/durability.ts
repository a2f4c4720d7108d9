/**
 * The durability scheduler of one ShardStore: it decides when the log is
 * fsync'd, runs the fsyncs that happen off the store's thread, and knows at
 * every moment how much of the shard is durable. The store (shard-store.ts)
 * holds the log (segments, appends, reads, checkpoints) and asks this class
 * what to make durable and when; docs/FORMAT.md section 8 is the user-facing
 * version of this spec.
 *
 * Policy (FsyncPolicy, types.ts), decided per append batch, never per record:
 *   - 'always': every append fsyncs the active log before it returns.
 *   - 'bytes:N' / 'interval:T': an append fsyncs inline once N bytes are
 *     unsynced / the oldest unsynced append is T old (also checked by tick).
 *     With syncInBackground those bounds are met by background fsyncs
 *     (startBackgroundSync: N bytes, T/2, or BACKGROUND_SYNC_BYTES), and an
 *     append fsyncs inline only past BACKGROUND_SYNC_LAG_FACTOR times the
 *     bound (backpressure on a disk that cannot keep up).
 *   - 'roll': only rolls, checkpoints and close fsync.
 *
 * Background rolls (syncInBackground): the old segment becomes a SealJob
 * (seal-job.ts) whose fsyncs (log, index, directory) and checkpoint run on
 * the thread pool, one job after another in roll order. Until the first
 * pending job is synced, a power loss may cut its old segment and recovery
 * then deletes every later segment, so everything appended since that roll
 * counts toward the bound (sealsDue); past it the next append or tick
 * settles the jobs inline (settleSealsInline).
 *
 * Invariants:
 *   - A checkpoint never names a segment as sealed unless that segment's
 *     seal (log fsync, index fsync, directory fsync) is durable
 *     (assertSealedDurable, called right before any checkpoint is written;
 *     a violation stops the store instead of writing it).
 *   - An fsync failure is never retried: the FsyncGuardLayer under the store
 *     stops it at the first one (fsync-guard.ts). This class then still
 *     answers durableCut(): the segment and byte length up to which every
 *     file's content is covered by a successful fsync, from which the shard
 *     is reopened (recovery.ts cutToDurable).
 *
 * Durable lengths tracked: the active segment's (activeDurableBytes: its
 * committed length at the last successful fsync of its log, inline or
 * background) and each pending seal job's (SealJob.durableBytes).
 */
import { BACKGROUND_SYNC_BYTES, BACKGROUND_SYNC_LAG_FACTOR } from './defaults.js';
import type { FsyncGuardLayer } from './fsync-guard.js';
import { type SealJob, runSealJob } from './seal-job.js';
import type { FsyncPolicy } from './types.js';

/** Where a stopped shard is cut back to: segment baseSeq keeps its first `bytes` bytes, every later segment goes. */
export interface DurableCut {
  baseSeq: number;
  bytes: number;
}

/** What the scheduler needs from the store that owns it. */
export interface DurabilityHost {
  /** The active segment's log path, base seq and committed length. */
  activeLogPath(): string;
  activeBaseSeq(): number;
  activeBytes(): number;
  /** Writes the active index's pending entries (no fsync) before a background fsync; may throw. */
  flushIndexEntries(): void;
  /** A seal job replaced the checkpoint with its snapshot (its new segment active at 0 bytes). */
  backgroundCheckpointWritten(job: SealJob): void;
  /** A seal job's checkpoint could not be written (its seal is durable): the next tick writes one inline. */
  checkpointStale(): void;
  isClosed(): boolean;
}

export class Durability {
  /** Bytes appended to the active segment since its last fsync (inline or completed background). */
  unsyncedBytes = 0;
  /** When the oldest of those was appended (-1: none). */
  oldestUnsyncedAt = -1;
  /** Bytes appended since open (never reset): measures what a pending seal job puts at risk (sealsDue). */
  appendedBytes = 0;
  /** The active segment's committed length covered by its last successful fsync. */
  activeDurableBytes = 0;
  /** Generation of the last checkpoint snapshot taken / written (a background checkpoint never replaces a newer one). */
  checkpointGen = 0;
  checkpointWrittenGen = 0;
  /** Rolls whose seal is not yet durable or whose checkpoint is not yet written, oldest first. */
  readonly seals: SealJob[] = [];
  private sealChain: Promise<void> = Promise.resolve();
  /** The background fsync in flight, of segment bgBase, covering its first bgBytesAtStart bytes. */
  private bgSync: Promise<void> | null = null;
  private bgBase = -1;
  private bgBytesAtStart = 0;
  /** Appended since the background fsync in flight started (still unsynced when it completes). */
  private bytesSinceBgStart = 0;
  private oldestSinceBgStart = -1;
  private bgSyncsDone = 0;

  constructor(
    private readonly layer: FsyncGuardLayer,
    private readonly dir: string,
    private readonly policy: FsyncPolicy,
    private readonly inBackground: boolean,
    private readonly host: DurabilityHost,
  ) {}

  // ---- policy ----

  /** Whether an append of n bytes at `now` must fsync the active log inline before it returns. */
  fsyncDue(n: number, now: number): boolean {
    const f = this.policy;
    // In the background mode the policy's bound is met by startBackgroundSync(); inline only past the lag bound.
    const lag = this.inBackground ? BACKGROUND_SYNC_LAG_FACTOR : 1;
    switch (f.mode) {
      case 'always':
        return true;
      case 'bytes':
        return this.unsyncedBytes + n >= f.bytes * lag;
      case 'interval':
        return this.oldestUnsyncedAt >= 0 ? now - this.oldestUnsyncedAt >= f.ms * lag : f.ms <= 0;
      case 'roll':
        return false;
    }
  }

  /** Whether tick() at `now` must fsync the active log ('interval' only: appends check the other policies). */
  tickSyncDue(now: number): boolean {
    const f = this.policy;
    const lag = this.inBackground ? BACKGROUND_SYNC_LAG_FACTOR : 1;
    return f.mode === 'interval' && this.oldestUnsyncedAt >= 0 && now - this.oldestUnsyncedAt >= f.ms * lag;
  }

  /** Whether anything of the active segment is unsynced. */
  get dirty(): boolean {
    return this.unsyncedBytes > 0 || this.oldestUnsyncedAt >= 0;
  }

  /**
   * Whether pending rolls' old segments must be made durable inline now (an
   * append of n bytes, or a tick with n = 0): the first unsynced job is late
   * (its fsyncs are stuck behind a slow disk), so the loss window holds for
   * sealed data too.
   */
  sealsDue(n: number, now: number): boolean {
    if (this.seals.length === 0) return false;
    // A power loss before the first pending job is synced can cut its old segment's unsynced tail and,
    // with it, every later segment (recovery.ts): every record appended since that roll is at risk too, fsync'd or not.
    const first = this.seals.find((j) => !j.synced);
    if (first === undefined) return false;
    const f = this.policy;
    if (f.mode === 'interval') {
      const since = first.oldestUnsyncedAt >= 0 ? first.oldestUnsyncedAt : this.appendedBytes > first.appendedBytesAtRoll ? first.rolledAt : -1;
      return since >= 0 && now - since >= f.ms * BACKGROUND_SYNC_LAG_FACTOR;
    }
    if (f.mode === 'bytes') {
      const atRisk = first.unsyncedBytes + (this.appendedBytes - first.appendedBytesAtRoll) + n;
      return atRisk >= f.bytes * BACKGROUND_SYNC_LAG_FACTOR;
    }
    return false;
  }

  // ---- bookkeeping ----

  /** An append of n bytes was committed at `now`; `synced`: its inline fsync covered it (activeSynced was called). */
  noteAppended(n: number, now: number, synced: boolean): void {
    this.appendedBytes += n;
    if (synced) return;
    this.unsyncedBytes += n;
    if (this.oldestUnsyncedAt < 0) this.oldestUnsyncedAt = now;
    this.bytesSinceBgStart += n;
    if (this.oldestSinceBgStart < 0) this.oldestSinceBgStart = now;
  }

  /** An inline fsync of the active log succeeded, covering its first durableBytes bytes. */
  activeSynced(durableBytes: number): void {
    this.activeDurableBytes = Math.max(this.activeDurableBytes, durableBytes);
    this.resetUnsynced();
  }

  /** A background fsync or seal job is running (ShardStore.truncateTo waits for none). */
  get busy(): boolean {
    return this.bgSync !== null || this.seals.length > 0;
  }

  /**
   * ShardStore.truncateTo cut the log: the active segment (perhaps an older
   * one again) is durable at its new length, nothing of it is unsynced, and
   * a background fsync that completes later must not count (bgBase reset).
   */
  truncated(activeBytes: number): void {
    this.activeDurableBytes = activeBytes;
    this.bgBase = -1;
    this.resetUnsynced();
  }

  /** The store switched to a new, empty active segment (an inline roll, whose old segment was synced first). */
  newActiveSegment(): void {
    this.activeDurableBytes = 0;
    this.resetUnsynced();
  }

  private resetUnsynced(): void {
    this.unsyncedBytes = 0;
    this.oldestUnsyncedAt = -1;
    this.bytesSinceBgStart = 0;
    this.oldestSinceBgStart = -1;
  }

  // ---- background fsync ----

  /**
   * Starts an fsync of the active segment on another thread when one is due
   * (syncInBackground). Resolves once it settled, never rejects (a failure
   * has stopped the store); null when none was started.
   */
  startBackgroundSync(now: number): Promise<void> | null {
    if (!this.inBackground || this.bgSync !== null || !this.backgroundSyncDue(now)) return null;
    // The index entries so far go out with each background fsync, a few at a time: left for the roll,
    // a 128 MiB segment's 32k entries took 18-23 ms to encode and write there (its only remaining stall).
    try {
      this.host.flushIndexEntries();
    } catch {
      // Not fatal here: the roll or the next call writes them (the log is the truth; recovery rebuilds indexes).
    }
    // Its own descriptor: Linux reports a writeback error once per open file description, so a failure
    // this fsync meets is also reported to the store's descriptor (its next inline fsync fails too) instead
    // of being consumed here while an inline fsync of the same descriptor "succeeds" meanwhile.
    const path = this.host.activeLogPath();
    let fd: number;
    try {
      fd = this.layer.open(path, 'read');
    } catch {
      return null; // a stopped store (or a vanished file): nothing to sync
    }
    this.bgBase = this.host.activeBaseSeq();
    this.bgBytesAtStart = this.host.activeBytes();
    this.bytesSinceBgStart = 0;
    this.oldestSinceBgStart = -1;
    const p = this.layer.fsyncAsync(fd).then(
      () => this.endBackgroundSync(fd, true),
      () => this.endBackgroundSync(fd, false), // the guard has stopped the store; nothing to retry
    );
    this.bgSync = p;
    return p;
  }

  get backgroundSyncStats(): { completed: number; inFlight: boolean } {
    return { completed: this.bgSyncsDone, inFlight: this.bgSync !== null };
  }

  private backgroundSyncDue(now: number): boolean {
    if (!this.dirty) return false;
    if (this.unsyncedBytes >= BACKGROUND_SYNC_BYTES) return true;
    const f = this.policy;
    if (f.mode === 'interval') return this.oldestUnsyncedAt >= 0 && now - this.oldestUnsyncedAt >= f.ms / 2;
    if (f.mode === 'bytes') return this.unsyncedBytes >= f.bytes;
    return false;
  }

  private endBackgroundSync(fd: number, ok: boolean): void {
    this.bgSync = null;
    // (A completion after the stop still counts, except on the file whose fsync failed: durableCut is taken after it.)
    if (ok && this.layer.fsyncCounts(fd)) {
      this.bgSyncsDone++;
      if (this.bgBase === this.host.activeBaseSeq() && !this.host.isClosed()) {
        this.activeDurableBytes = Math.max(this.activeDurableBytes, this.bgBytesAtStart);
        this.unsyncedBytes = Math.min(this.unsyncedBytes, this.bytesSinceBgStart);
        this.oldestUnsyncedAt = this.unsyncedBytes === 0 ? -1 : this.oldestSinceBgStart;
      } else {
        // A roll made it the old segment of a seal job: that job's durable length grows.
        const job = this.seals.find((j) => j.baseSeq === this.bgBase);
        if (job !== undefined) job.durableBytes = Math.max(job.durableBytes, Math.min(this.bgBytesAtStart, job.segmentBytes));
      }
    }
    this.closeQuietly(fd);
  }

  /** Closes a descriptor a background job held; one already gone (a simulated crash dropped every descriptor) is fine. */
  private closeQuietly(fd: number): void {
    try {
      this.layer.close(fd);
    } catch {
      // nothing to release
    }
  }

  // ---- seal jobs ----

  /**
   * Hands the just-rolled old segment to a seal job (the store has switched
   * to the new segment and encoded job.checkpoint). The old segment's
   * unsynced data is the job's now; the new segment starts with none.
   */
  sealInBackground(job: Omit<SealJob, 'gen' | 'oldestUnsyncedAt' | 'unsyncedBytes' | 'appendedBytesAtRoll' | 'durableBytes' | 'synced'>): void {
    const full: SealJob = {
      ...job,
      synced: false,
      durableBytes: Math.min(this.activeDurableBytes, job.segmentBytes),
      gen: ++this.checkpointGen,
      oldestUnsyncedAt: this.oldestUnsyncedAt,
      unsyncedBytes: this.unsyncedBytes,
      appendedBytesAtRoll: this.appendedBytes,
    };
    this.activeDurableBytes = 0;
    this.resetUnsynced();
    this.seals.push(full);
    this.sealChain = this.sealChain.then(() => this.runSeal(full));
  }

  private async runSeal(job: SealJob): Promise<void> {
    try {
      await runSealJob(this.layer, this.dir, job, {
        fsyncCounts: (fd) => this.layer.fsyncCounts(fd),
        newest: () => this.checkpointWrittenGen < job.gen && !this.host.isClosed() && this.layer.stopError === null,
        beforeWrite: () => this.assertSealedDurable(job.gen),
        written: () => {
          this.checkpointWrittenGen = job.gen;
          this.host.backgroundCheckpointWritten(job);
        },
      });
    } catch {
      // A failed fsync (or a violated invariant) has stopped the store: it is reopened from what is durable,
      // this job's descriptors are released by abandon(). Anything else failed after the seal was durable
      // (writing the checkpoint file, e.g. ENOSPC): an inline checkpoint is written by the next tick.
      if (this.layer.stopError !== null) return;
      this.host.checkpointStale();
    }
    const i = this.seals.indexOf(job);
    if (i >= 0) this.seals.splice(i, 1);
    this.closeQuietly(job.logFd);
    this.closeQuietly(job.indexFd);
  }

  /**
   * Makes every pending roll's old segment durable now (before a checkpoint
   * written inline, or for a late seal job); an fsync failure stops the
   * store (the guard throws SHARD_STOPPED). A job counts as synced only once
   * the directory fsync after its log and index fsyncs succeeded.
   */
  settleSealsInline(): void {
    if (this.seals.length === 0 || this.seals.every((j) => j.synced)) return;
    for (const job of this.seals) {
      if (job.synced) continue;
      this.layer.fsync(job.logFd);
      job.durableBytes = job.segmentBytes;
      this.layer.fsync(job.indexFd);
    }
    this.layer.syncDir(this.dir);
    for (const job of this.seals) job.synced = true;
  }

  /**
   * The invariant of finding 4 (issue 13): a checkpoint of generation `gen`
   * names as sealed every segment rolled before it, so each of their seals
   * must be durable. A violation is a bug: the store stops rather than
   * write a checkpoint that recovery would trust without reading.
   */
  assertSealedDurable(gen: number): void {
    const bad = this.seals.find((j) => j.gen <= gen && !j.synced);
    if (bad === undefined) return;
    throw this.layer.stop(
      `writing a checkpoint that names segment ${bad.baseSeq} as sealed`,
      new Error(`invariant violated: that segment's seal (log, index and directory fsyncs) is not durable`),
    );
  }

  /** Resolves once no background fsync or seal job is running. */
  async backgroundIdle(): Promise<void> {
    for (;;) {
      const chain = this.sealChain;
      const sync = this.bgSync;
      await chain;
      if (sync !== null) await sync;
      if (chain === this.sealChain && this.bgSync === null) return;
    }
  }

  /** Descriptors of pending seal jobs (released by the store's abandon after a stop). */
  pendingSealFds(): number[] {
    return this.seals.flatMap((j) => [j.logFd, j.indexFd]);
  }

  // ---- after a stop ----

  /**
   * Where the shard must be cut back to: the oldest segment whose committed
   * bytes are not all covered by a successful fsync (a pending seal job's,
   * else the active one) keeps its durable bytes, and every later segment
   * goes (the log may not have a hole in the middle). With everything
   * covered, the active segment is kept whole (files of a roll that was in
   * progress, past it, still go).
   */
  durableCut(): DurableCut {
    for (const j of this.seals) {
      if (!j.synced && j.durableBytes < j.segmentBytes) return { baseSeq: j.baseSeq, bytes: j.durableBytes };
    }
    return { baseSeq: this.host.activeBaseSeq(), bytes: Math.min(this.activeDurableBytes, this.host.activeBytes()) };
  }
}
