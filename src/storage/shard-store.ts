/**
 * The storage engine of one shard: an append-only run of segment files in one
 * folder, owned by exactly one thread (the shard worker), synchronous. See
 * src/storage/types.ts for the contract and docs/FORMAT.md for the files.
 *
 * append() validates the whole batch (lengths, CRC, producer rules), patches
 * seq/appendTime/epoch in place in the caller's bytes (a view into the
 * worker's ring), and writes the batch with one positioned write; then it
 * updates the in-memory segment summary, sparse index and producer table.
 * Nothing is allocated per record except, for records over
 * CRC_SMALL_BYTES_MAX, the view zlib.crc32 needs.
 *
 * With appendCrcThread, batches of at least PARALLEL_CRC_MIN_BYTES in a
 * SharedArrayBuffer (a shard worker's ring) have their CRCs checked on one helper thread while
 * the batch is written (parallel-crc.ts): structure is checked first, then
 * the batch minus its first 4 bytes (record 0's length) is written, the CRC
 * verdict is awaited, and only then are those 4 bytes written. Until then the
 * file holds zeros there, which recovery treats as a torn tail, so a crash in
 * between leaves nothing of the batch; a failed CRC truncates the batch off
 * and fails the whole append. Records become readable and the append returns
 * only after every CRC passed. A failed write is truncated away before
 * the error is thrown, so nothing half-written is ever served or recovered;
 * a failed fsync stops the store (below). Reads (segment-reader.ts) never go past the last fully
 * written record and serve only records that pass their CRC and serverCrc.
 *
 * Append time is the clock clamped to never go backwards (max(now(), last
 * append time), persisted through restarts), so it is non-decreasing in seq.
 *
 * When to fsync, background fsyncs and seal jobs are the durability
 * scheduler's (durability.ts). Every file call goes through an
 * FsyncGuardLayer (fsync-guard.ts): the first failed fsync stops the store
 * for good (every call then throws SHARD_STOPPED, nothing more is written,
 * fsync'd or read), and the owner reopens the shard with reopen(), which
 * cuts the files back to what the last successful fsyncs covered
 * (Durability.durableCut, recovery.ts cutToDurable) and recovers from there.
 *
 * The owner calls tick() periodically (every 100 ms to 1 s): age roll,
 * interval fsync, checkpoint, retention.
 *
 * Replicated shards (issue 15; docs/FORMAT.md section 14): a replica stores
 * its sequencer's stamped bytes with appendStamped() (validated, compared
 * where they overlap, written as they are), so its log is a byte-identical
 * prefix of the sequencer's; fence() raises a durable fence epoch below
 * which nothing more is appended (epochs never go down along the log);
 * truncateTo() cuts an unacked tail during recovery; baseSeq starts a fresh
 * replica at a later segment; reads take an endSeqMax (the committed end).
 */
import { join } from 'node:path';
import { OFF_EPOCH, OFF_PRODUCER_ID, OFF_PRODUCER_SEQ, RECORD_HEADER_BYTES } from '../record/layout.js';
import { dataViewOf, getU64, recordAppendTime, recordEventTimeMax, recordSeq } from '../record/record.js';
import { appendProblem, crcsPassedEnd, storedRecordProblem, structuralProblem } from './batch-check.js';
import { EPOCH_MAX, readFence, writeFence } from './fence-file.js';
import { PARALLEL_CRC_MIN_BYTES, ParallelCrc } from './parallel-crc.js';
import { type Checkpoint, type SegmentMeta, encodeCheckpoint } from './checkpoint.js';
import { type StoreConfig, resolveConfig } from './config.js';
import { CHECKPOINT_INTERVAL_MS, FREE_CHECK_BYTES, FREE_CHECK_MS, READ_BYTES_MAX, REOPEN_ATTEMPTS_MAX, REOPEN_BACKOFF_MS, SEGMENT_BYTES_LIMIT } from './defaults.js';
import { type DurableCut, Durability } from './durability.js';
import { writeFileAtomic, writeFully } from './file-layer.js';
import { FsyncGuardLayer } from './fsync-guard.js';
import type { SealJob } from './seal-job.js';
import type { ProducerTable } from './producer-state.js';
import { RecordScanner } from './record-scanner.js';
import { cutToDurable, recoverShard } from './recovery.js';
import { SealedSegments } from './sealed-segments.js';
import { SegmentReader } from './segment-reader.js';
import { CHECKPOINT_FILE, CLEAN_SHUTDOWN_FILE, indexFileName, logFileName } from './segment-name.js';
import { SegmentTracker } from './segment-tracker.js';
import { patchServerFieldsFast } from './server-fields.js';
import { INDEX_ENTRY_BYTES } from './sparse-index.js';
import {
  type AppendResult,
  type FenceResult,
  type ReadIntoResult,
  type ReadResult,
  type RecoveryReport,
  type ShardDescription,
  type ShardStoreApi,
  type ShardStoreOptions,
  type StampedAppendResult,
  StorageError,
} from './types.js';

const EMPTY = new Uint8Array(0);
/** Bytes of a record's length field: what the parallel-CRC path writes last. */
const LENGTH_BYTES = 4;



/** How reopen() retries a reopen that fails (each attempt cuts and recovers again). */
export interface ReopenOptions {
  attemptsMax?: number;
  backoffMs?: number;
  /** Waits between attempts (tests inject a fake). */
  sleep?: (ms: number) => Promise<void>;
}

export class ShardStore implements ShardStoreApi {
  /** What open() found (torn tails truncated, indexes rebuilt, bytes scanned). */
  readonly recovery: RecoveryReport;
  private readonly opts: ShardStoreOptions;
  private readonly cfg: StoreConfig;
  private readonly layer: FsyncGuardLayer;
  private readonly durability: Durability;
  /** Set by reopen() once background work settled: where the files are cut back to, and what its first attempt cut. */
  private cut: DurableCut | null = null;
  private cutDone: { removed: string[]; bytesCut: number } | null = null;
  private readonly scanner: RecordScanner;
  private readonly sealedSegs: SealedSegments;
  private readonly producers: ProducerTable;
  private sealed: SegmentMeta[];
  private sealedBytes = 0;
  private active: SegmentTracker;
  private activeFd: number;
  private indexFd: number;
  private indexUnsynced = false;
  private epoch: number;
  /** Appends from an epoch below it are FENCED (fence-file.ts; raised by fence()). */
  private fenceEpoch: number;
  /**
   * Epoch of the last stored record (0: none; null: not looked up yet, done
   * at the first use so that open reads nothing more than recovery needs):
   * epochs never go down along the log.
   */
  private lastEpochKnown: number | null = null;
  /** Records of the last append() that were already stored (a torn batch's prefix it completed); 0 otherwise. */
  lastAppendSkipped = 0;
  private lastAppendTime: number;
  private closed = false;
  /** A failed write could not be truncated away: the tail past active.meta.bytes must be cut before the next append. */
  private tailDirty = false;
  private lastCheckpointAt = 0;
  private checkpointedBytes = -1;
  private checkpointedBase = -1;
  private freeAtCheck = 0;
  private freeCheckedAt = -Infinity;
  private writtenSinceFreeCheck = 0;
  private readonly reader: SegmentReader;
  /** Prefix maximum of sealed segments' eventTimeMax (null = recompute). */
  private eventPrefixMax: Float64Array | null = null;
  private viewBuffer: ArrayBufferLike | null = null;
  private viewU8: Uint8Array = EMPTY;
  private viewDv: DataView = new DataView(new ArrayBuffer(0));
  // Batch facts filled by validateBatch (fields, not an object: the hot path allocates nothing per record).
  private batchCount = 0;
  private batchProducerId = 0;
  private batchProducerSeqFirst = 0;
  private batchProducerSeqLast = 0;
  /** The CRC helper thread, started by the first batch that qualifies (null: none yet). */
  private parallel: ParallelCrc | null = null;
  private parallelUnusable = false;

  private constructor(opts: ShardStoreOptions, epoch: number) {
    this.opts = opts;
    const cfg = resolveConfig(opts);
    this.cfg = cfg;
    const layer = new FsyncGuardLayer(cfg.layer);
    this.layer = layer;
    cfg.layer = layer;
    this.epoch = epoch;
    this.scanner = new RecordScanner(layer, cfg.recordBytesMax);
    const r = recoverShard(layer, cfg.dir, cfg);
    this.recovery = r.report;
    this.sealed = r.sealed;
    this.active = r.active;
    this.activeFd = r.activeFd;
    this.lastAppendTime = r.lastAppendTime;
    this.producers = r.producers;
    this.fenceEpoch = readFence(layer, cfg.dir);
    this.durability = new Durability(layer, cfg.dir, cfg.fsync, cfg.syncInBackground, {
      activeLogPath: () => join(this.cfg.dir, logFileName(this.active.meta.baseSeq)),
      activeBaseSeq: () => this.active.meta.baseSeq,
      activeBytes: () => this.active.meta.bytes,
      flushIndexEntries: () => this.flushIndex(false),
      backgroundCheckpointWritten: (job) => {
        this.lastCheckpointAt = this.cfg.now();
        this.checkpointedBytes = 0;
        this.checkpointedBase = job.newBaseSeq;
      },
      checkpointStale: () => {
        this.checkpointedBytes = -1;
      },
      isClosed: () => this.closed,
    });
    this.sealedSegs = new SealedSegments(layer, cfg.dir, this.scanner, cfg.indexIntervalBytes, cfg.indexCacheBytesMax);
    this.reader = new SegmentReader(layer, this.scanner, cfg.dir, cfg.recordBytesMax, {
      fd: (meta) => (meta === this.active.meta ? this.activeFd : this.sealedSegs.fd(meta)),
      index: (meta) => (meta === this.active.meta ? this.active.index : this.sealedSegs.index(meta)),
    });
    for (const s of this.sealed) this.sealedBytes += s.bytes;
    for (const t of r.rebuiltIndexes) {
      // Sealed by this recovery, so named sealed by the checkpoint below: their logs must be durable first
      // (after a process crash the page cache may still hold bytes that never reached the disk).
      const fd = layer.open(join(cfg.dir, logFileName(t.meta.baseSeq)), 'read');
      try {
        layer.fsync(fd);
      } finally {
        layer.close(fd);
      }
      writeFileAtomic(this.layer, cfg.dir, indexFileName(t.meta.baseSeq), t.index.encode(0, t.index.count));
    }
    this.indexFd = this.layer.open(join(cfg.dir, indexFileName(this.active.meta.baseSeq)), 'create');
    this.layer.truncate(this.indexFd, this.active.index.persisted * INDEX_ENTRY_BYTES);
    this.layer.fsync(this.activeFd);
    this.durability.activeSynced(this.active.meta.bytes);
    this.writeCheckpoint();
    if (r.report.clean) {
      this.layer.unlink(join(cfg.dir, CLEAN_SHUTDOWN_FILE));
      this.layer.syncDir(cfg.dir);
    }
  }

  /** Opens (recovering if needed) or creates the shard in opts.dir. */
  static open(opts: ShardStoreOptions): ShardStore {
    try {
      return new ShardStore(opts, opts.epoch ?? 0);
    } catch (e) {
      // An fsync that fails while opening leaves no store to stop: the open fails (the owner may try again).
      if (e instanceof StorageError && e.code === 'SHARD_STOPPED') {
        throw new StorageError('IO_ERROR', `opening shard ${opts.dir} failed: ${e.message.split(', so the shard stopped')[0]}`);
      }
      throw e;
    }
  }

  /** The error every call throws since an fsync failed (the store must be reopened), or null. */
  get stopped(): StorageError | null {
    return this.layer.stopError;
  }

  /**
   * After the stop: where reopen() cuts the files back to (as known now: a
   * background fsync still in flight may extend it); null while serving.
   */
  get durableCut(): DurableCut | null {
    return this.cut ?? (this.stopped === null ? null : this.durability.durableCut());
  }

  /**
   * Reopens a stopped store from what is durable: waits for its background
   * work to settle, releases its descriptors without writing anything, cuts
   * the files back to the last successful fsyncs (the cut segment keeps its
   * durable bytes; every later segment is deleted) and opens the shard
   * again through recovery. Attempts are bounded (REOPEN_ATTEMPTS_MAX, with
   * a linear backoff of REOPEN_BACKOFF_MS); after the last the error says
   * why. The new store's recovery report starts with what the stop cut.
   */
  async reopen(o: ReopenOptions = {}): Promise<ShardStore> {
    if (this.layer.stopError === null) throw new Error(`shard store ${this.cfg.dir} is not stopped; reopen() is for a store stopped by an fsync failure`);
    // Background fsyncs in flight settle first: one that succeeded covered its bytes (durableCut counts it).
    await this.durability.backgroundIdle();
    const cut = (this.cut ??= this.durability.durableCut());
    this.abandon();
    const attemptsMax = o.attemptsMax ?? REOPEN_ATTEMPTS_MAX;
    const backoffMs = o.backoffMs ?? REOPEN_BACKOFF_MS;
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const raw = this.layer.raw;
    let last: unknown = null;
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      try {
        const done = cutToDurable(raw, this.cfg.dir, cut);
        if (attempt === 1) this.cutDone = done;
        const s = ShardStore.open({ ...this.opts, fileLayer: raw, epoch: this.epoch });
        const { removed, bytesCut } = this.cutDone ?? done;
        s.recovery.truncatedBytes += bytesCut;
        s.recovery.problems.unshift(
          `reopened after ${this.layer.stopReason}: ${logFileName(cut.baseSeq)} cut back to its ${cut.bytes} durable bytes (${bytesCut} bytes cut)` +
            (removed.length > 0 ? ` and the later segments removed (${removed.join(', ')})` : ''),
        );
        return s;
      } catch (e) {
        last = e;
        if (attempt < attemptsMax) await sleep(backoffMs * attempt);
      }
    }
    throw new StorageError(
      'SHARD_STOPPED',
      `shard ${this.cfg.dir} stopped after an fsync failure and could not be reopened in ${attemptsMax} attempts: ${(last as Error).message}`,
    );
  }

  /** Sequencer epoch stamped into records appended from now on. */
  setEpoch(epoch: number): void {
    checkEpoch(epoch);
    this.epoch = epoch;
  }

  /**
   * Raises the fence epoch to max(fence, epoch), durably (fence-file.ts)
   * before it returns, and answers where this replica's log ends. From then
   * on append() by a store epoch below the fence and appendStamped() of an
   * epoch below it fail FENCED: a deposed sequencer can store nothing more
   * here. Lowering the fence is not possible (a lower epoch is a no-op).
   */
  fence(epoch: number): FenceResult {
    this.assertOpen();
    checkEpoch(epoch);
    if (epoch > this.fenceEpoch) {
      this.io('fence write', () => writeFence(this.layer, this.cfg.dir, epoch));
      this.fenceEpoch = epoch;
    }
    return { endSeq: this.active.meta.endSeq, lastEpoch: this.lastEpoch(), fenceEpoch: this.fenceEpoch };
  }

  /** The fence epoch in force (0: never fenced). */
  get fencedBelow(): number {
    return this.fenceEpoch;
  }

  append(bytes: Uint8Array, start = 0, end: number = bytes.length): AppendResult {
    this.assertOpen();
    if (start < 0 || end > bytes.length || start > end) throw new RangeError(`append range [${start}, ${end}) is outside the ${bytes.length}-byte buffer`);
    if (this.tailDirty) this.repairTail();
    const n = end - start;
    if (n > SEGMENT_BYTES_LIMIT) throw new StorageError('RECORD_TOO_LARGE', `batch of ${n} bytes exceeds the ${SEGMENT_BYTES_LIMIT}-byte limit`);
    this.lastAppendSkipped = 0;
    if (this.epoch < this.fenceEpoch || this.epoch < this.lastEpoch()) {
      throw new StorageError(
        'FENCED',
        `this shard's epoch ${this.epoch} is below ` +
          (this.epoch < this.fenceEpoch ? `its fence epoch ${this.fenceEpoch}` : `the epoch ${this.lastEpoch()} of its last record`) +
          `: a later sequencer owns it; nothing was written`,
      );
    }
    const u8 = this.viewOf(bytes);
    const par = this.parallelFor(bytes, n);
    const absStart = bytes.byteOffset + start;
    const absEnd = bytes.byteOffset + end;
    this.validateBatch(absStart, absEnd, par !== null);
    if (this.batchCount === 0) {
      const next = this.active.meta.endSeq;
      return { firstSeq: next, lastSeq: next - 1, count: 0, appendTime: this.lastAppendTime, duplicate: false };
    }
    if (this.batchProducerId !== 0) {
      const dup = this.checkProducer();
      if (dup !== null) return dup;
      if (this.extend !== null) return this.appendRest(bytes, start, end, absStart);
    }
    const now = this.cfg.now();
    this.maybeRollBefore(n, now);
    this.checkFreeSpace(n, now);
    const appendTime = Math.max(now, this.lastAppendTime);
    const firstSeq = this.active.meta.endSeq;
    const dv = this.viewDv;
    for (let pos = absStart, seq = firstSeq; pos < absEnd; seq++) {
      patchServerFieldsFast(u8, dv, pos, seq, appendTime, this.epoch);
      pos += dv.getUint32(pos, true);
    }
    const position = this.active.meta.bytes;
    // The helper starts only now, after the patch: patching while it reads the same header cache lines costs more than it saves.
    if (par !== null && par.start(bytes.buffer as SharedArrayBuffer, dv, absStart, absEnd)) {
      this.writeBatchCheckingInParallel(par, bytes, start, n, position);
    } else {
      if (par !== null) this.validateBatch(absStart, absEnd, false);
      this.writeBatch(bytes, start, n, position);
    }
    const d = this.durability;
    const syncNow = d.fsyncDue(n, now);
    const settleSeals = d.seals.length > 0 && d.sealsDue(n, now);
    if (syncNow || settleSeals) this.fsyncOrRollback(position, n, syncNow, settleSeals);
    this.commitBatch(absStart, absEnd, position, firstSeq, appendTime, n, now, syncNow);
    return { firstSeq, lastSeq: firstSeq + this.batchCount - 1, count: this.batchCount, appendTime, duplicate: false };
  }

  /**
   * Appends records another store already stamped (seq, appendTime, epoch,
   * serverCrc set by the sequencer's append()), byte for byte: how a replica
   * of a replicated shard stores what its sequencer sent, so that its log is
   * a byte-identical prefix of the sequencer's.
   *
   * Everything is checked before anything is written: structure, producer
   * CRC and serverCrc of every record, seqs dense from firstSeq, record
   * epochs at most `epoch` (the WRITER's epoch: a catch-up or a recovery
   * resends records an older sequencer stamped) and never decreasing,
   * append times non-decreasing. Then: a writer epoch below the fence is
   * FENCED, and so is a first new record older than the last stored one
   * (epochs never go down along a log); firstSeq past the
   * end is SEQ_GAP (details.endSeq says where a resend must start); records
   * overlapping the stored end (a resend) must equal the stored ones byte for
   * byte and are skipped (below startSeq, gone by retention, they are skipped
   * unchecked), a difference is DIVERGED. The rest is written as it is, with
   * append()'s durability path (fsync policy, roll, free-space check). The
   * producer table learns its records as recovery would (so this replica
   * dedupes a retry correctly if it becomes the sequencer) but never refuses
   * them: the sequencer decided.
   */
  appendStamped(bytes: Uint8Array, start: number, end: number, firstSeq: number, epoch: number): StampedAppendResult {
    this.assertOpen();
    if (start < 0 || end > bytes.length || start > end) throw new RangeError(`append range [${start}, ${end}) is outside the ${bytes.length}-byte buffer`);
    if (!Number.isSafeInteger(firstSeq) || firstSeq < 0) throw new RangeError(`firstSeq must be a non-negative safe integer, got ${firstSeq}`);
    checkEpoch(epoch);
    if (this.tailDirty) this.repairTail();
    const n = end - start;
    if (n > SEGMENT_BYTES_LIMIT) throw new StorageError('RECORD_TOO_LARGE', `batch of ${n} bytes exceeds the ${SEGMENT_BYTES_LIMIT}-byte limit`);
    this.viewOf(bytes);
    const absStart = bytes.byteOffset + start;
    const absEnd = bytes.byteOffset + end;
    const { count, appendTime, lastRecordEpoch } = this.validateStamped(absStart, absEnd, firstSeq, epoch);
    if (epoch < this.fenceEpoch) {
      throw new StorageError('FENCED', `a batch of writer epoch ${epoch} is refused: this shard is fenced below epoch ${this.fenceEpoch}; nothing was written`);
    }
    const endSeq = this.active.meta.endSeq;
    if (firstSeq > endSeq) {
      throw new StorageError('SEQ_GAP', `a batch starting at seq ${firstSeq} would leave a gap: this shard's endSeq is ${endSeq}; nothing was written`, { endSeq });
    }
    const result: StampedAppendResult = { firstSeq, lastSeq: firstSeq + count - 1, count, skipped: 0, appendTime: count > 0 ? appendTime : this.lastAppendTime };
    if (count === 0) return result;
    let pos = absStart;
    if (firstSeq < endSeq) {
      result.skipped = Math.min(count, endSeq - firstSeq);
      pos = this.checkOverlap(absStart, firstSeq, result.skipped);
      if (result.skipped === count) return result;
    }
    // Epochs never go down along the log: the first record appended may not be older than the last stored one.
    const firstNewEpoch = this.viewDv.getUint32(pos + OFF_EPOCH, true);
    if (firstNewEpoch < this.lastEpoch()) {
      throw new StorageError('FENCED', `a record of epoch ${firstNewEpoch} at seq ${firstSeq + result.skipped} is refused: the last record has epoch ${this.lastEpoch()}; nothing was written`);
    }
    const m = absEnd - pos;
    const now = this.cfg.now();
    this.maybeRollBefore(m, now);
    this.checkFreeSpace(m, now);
    const position = this.active.meta.bytes;
    this.writeBatch(bytes, pos - bytes.byteOffset, m, position);
    const d = this.durability;
    const syncNow = d.fsyncDue(m, now);
    const settleSeals = d.seals.length > 0 && d.sealsDue(m, now);
    if (syncNow || settleSeals) this.fsyncOrRollback(position, m, syncNow, settleSeals);
    this.commitStamped(pos, absEnd, position, firstSeq + result.skipped, lastRecordEpoch, m, now, syncNow);
    return result;
  }

  /**
   * Removes every record with seq >= seq (recovery of a replicated shard
   * cuts a replica's unacked tail): later segments are deleted (newest
   * first), the segment holding seq is cut there and becomes the active one,
   * its index and summary are rebuilt, the producer table forgets what went,
   * and a checkpoint is written; durable (files, index, folder fsync'd)
   * before it returns. seq outside [startSeq, endSeq] is OUT_OF_RANGE.
   * Rare, so simple: it needs the store's background work settled
   * (await backgroundIdle() first; the shard worker does).
   *
   * A crash part-way leaves a prefix of the old log that still holds seq
   * (deleting the newest segment first makes recovery ignore the
   * checkpoint and rescan what is left); the caller, having no answer,
   * truncates again.
   */
  truncateTo(seq: number): void {
    this.assertOpen();
    const start = this.startSeq();
    const end = this.active.meta.endSeq;
    if (!Number.isSafeInteger(seq) || seq < start || seq > end) {
      throw new StorageError('OUT_OF_RANGE', `cannot truncate to seq ${seq}: this shard holds seqs ${start} to ${end} (${end} is the next to be written)`);
    }
    if (this.durability.busy) throw new Error(`truncateTo needs the background fsyncs and rolls of ${this.cfg.dir} settled first (await backgroundIdle())`);
    if (seq === end) return;
    const target = this.segmentFor(seq);
    const wasActive = target === this.active.meta;
    const cutPos = seq === target.baseSeq ? 0 : this.reader.locate(target, seq).position;
    // Read-only first (a damaged segment fails here with nothing changed): the kept part's summary and index.
    const tracker = this.trackerUpTo(target, wasActive ? this.active.index : this.sealedSegs.index(target), cutPos, seq);
    const dir = this.cfg.dir;
    const k = this.sealed.indexOf(target);
    const doomed = wasActive ? [] : this.sealed.slice(k + 1);
    let logFd = this.activeFd;
    let idxFd = this.indexFd;
    if (!wasActive) {
      // Newest first: once the active segment is gone, recovery ignores the checkpoint and rescans what is left.
      this.layer.close(this.activeFd);
      this.layer.close(this.indexFd);
      this.unlinkIfPresent(logFileName(this.active.meta.baseSeq));
      this.unlinkIfPresent(indexFileName(this.active.meta.baseSeq));
      for (const d of doomed.reverse()) {
        this.sealedSegs.forget(d.baseSeq);
        this.unlinkIfPresent(logFileName(d.baseSeq));
        this.unlinkIfPresent(indexFileName(d.baseSeq));
      }
      this.sealedSegs.forget(target.baseSeq);
      logFd = this.io('open segment', () => this.layer.open(join(dir, logFileName(target.baseSeq)), 'create'));
      idxFd = this.io('open index', () => this.layer.open(join(dir, indexFileName(target.baseSeq)), 'create'));
      this.sealed = this.sealed.slice(0, k);
      this.activeFd = logFd;
      this.indexFd = idxFd;
    }
    this.active = tracker;
    this.sealedBytes = this.sealed.reduce((sum, x) => sum + x.bytes, 0);
    this.eventPrefixMax = null;
    this.reader.forgetCursor();
    this.io('truncate', () => {
      this.layer.truncate(logFd, cutPos);
      this.layer.fsync(logFd);
      const ix = tracker.index;
      const encoded = ix.encode(0, ix.count);
      this.layer.truncate(idxFd, 0);
      writeFully(this.layer, idxFd, encoded, 0, encoded.length, 0);
      ix.persisted = ix.count;
      this.layer.fsync(idxFd);
      this.layer.syncDir(dir);
    });
    this.indexUnsynced = false;
    this.tailDirty = false;
    this.durability.truncated(cutPos);
    this.producers.truncateFrom(seq);
    this.freeCheckedAt = -Infinity;
    this.lastEpochKnown = null; // looked up again from the new last record
    this.writeCheckpoint();
  }

  /** The summary and index of segment meta's first cutPos bytes (whose end is seq), from its index and a scan of the last index interval. */
  private trackerUpTo(meta: SegmentMeta, index: import('./sparse-index.js').SparseIndex, cutPos: number, seq: number): SegmentTracker {
    const t = SegmentTracker.fresh(meta.baseSeq, this.cfg.indexIntervalBytes);
    if (cutPos === 0) return t;
    let k = 0;
    while (k < index.count && index.position[k]! < cutPos) k++;
    if (k === 0 || index.position[0] !== 0) throw new StorageError('CORRUPT', `segment ${logFileName(meta.baseSeq)} has no index entry for its first record; cannot truncate it`);
    for (let i = 0; i < k; i++) t.index.add(index.relSeq[i]!, index.position[i]!, index.appendTimeMax[i]!, index.eventTimeMax[i]!);
    const m = t.meta;
    m.firstAppendTime = meta.firstAppendTime;
    m.appendTimeMax = index.appendTimeMax[k - 1]!;
    m.eventTimeMax = index.eventTimeMax[k - 1]!;
    const from = index.position[k - 1]!;
    const fd = meta === this.active.meta ? this.activeFd : this.sealedSegs.fd(meta);
    const r = this.scanner.scan(fd, from, cutPos, meta.baseSeq + index.relSeq[k - 1]!, (dv, off, length, position, s) => {
      t.observe(position, length, s, recordAppendTime(dv, off), recordEventTimeMax(dv, off));
    });
    if (r.problem !== null || r.end !== cutPos || r.nextSeq !== seq) {
      throw new StorageError('CORRUPT', `segment ${logFileName(meta.baseSeq)} cannot be cut at seq ${seq}: ${r.problem?.message ?? `its records end at byte ${r.end}, seq ${r.nextSeq}`}; nothing was changed`);
    }
    return t;
  }

  private lastEpoch(): number {
    return (this.lastEpochKnown ??= this.epochOfLastRecord([]));
  }

  /** Epoch of the last stored record (0 without one); a record that cannot be read is reported in problems and its epoch taken as the fence's. */
  private epochOfLastRecord(problems: string[]): number {
    const end = this.active.meta.endSeq;
    if (end <= this.startSeq()) return 0;
    try {
      const r = this.read(end - 1, RECORD_HEADER_BYTES);
      if (r.count === 1) return dataViewOf(r.bytes).getUint32(OFF_EPOCH, true);
      problems.push(`the last record (seq ${end - 1}) was not found; its epoch is taken as the fence epoch ${this.fenceEpoch}`);
    } catch (e) {
      problems.push(`the last record (seq ${end - 1}) cannot be read (${(e as Error).message}); its epoch is taken as the fence epoch ${this.fenceEpoch}`);
    }
    return this.fenceEpoch;
  }

  /** endSeqMax: see ShardStoreApi.read (records at or past it are never returned). */
  read(fromSeq: number, maxBytes: number, endSeqMax = Infinity): ReadResult {
    this.assertOpen();
    if (fromSeq >= endSeqMax || this.checkRange(fromSeq)) return { bytes: EMPTY, count: 0, firstSeq: fromSeq, nextSeq: fromSeq };
    const loc = this.reader.locate(this.segmentFor(fromSeq), fromSeq);
    const size = Math.min(Math.max(Math.min(maxBytes, READ_BYTES_MAX), RECORD_HEADER_BYTES), loc.meta.bytes - loc.position);
    let buf = new Uint8Array(size);
    let r = this.reader.fill(loc, fromSeq, buf, size, endSeqMax);
    if (r.count === 0 && r.firstRecordBytes > 0) {
      buf = new Uint8Array(r.firstRecordBytes);
      r = this.reader.fill(loc, fromSeq, buf, buf.length, endSeqMax);
    }
    return { bytes: buf.subarray(0, r.byteLength), count: r.count, firstSeq: fromSeq, nextSeq: r.nextSeq };
  }

  readInto(fromSeq: number, target: Uint8Array, maxBytes: number, endSeqMax = Infinity): ReadIntoResult {
    this.assertOpen();
    if (fromSeq >= endSeqMax || this.checkRange(fromSeq)) return { byteLength: 0, count: 0, firstSeq: fromSeq, nextSeq: fromSeq, firstRecordBytes: 0 };
    return this.reader.fill(this.reader.locate(this.segmentFor(fromSeq), fromSeq), fromSeq, target, Math.min(maxBytes, target.length, READ_BYTES_MAX), endSeqMax);
  }

  seqForAppendTime(t: number): number {
    this.assertOpen();
    const i = firstIndexWhere(this.sealed.length, (k) => this.sealed[k]!.appendTimeMax >= t);
    if (i < this.sealed.length) return this.reader.firstAtOrAfter(this.sealed[i]!, t, recordAppendTime, (ix, x) => ix.lastBelowAppendTime(x));
    if (this.active.meta.appendTimeMax >= t) return this.reader.firstAtOrAfter(this.active.meta, t, recordAppendTime, (ix, x) => ix.lastBelowAppendTime(x));
    return this.active.meta.endSeq;
  }

  seqForEventTime(t: number): number {
    this.assertOpen();
    const prefix = this.sealedEventPrefixMax();
    const i = firstIndexWhere(prefix.length, (k) => prefix[k]! >= t);
    if (i < this.sealed.length) return this.reader.firstAtOrAfter(this.sealed[i]!, t, recordEventTimeMax, (ix, x) => ix.lastBelowEventTime(x));
    if (this.active.meta.eventTimeMax >= t) return this.reader.firstAtOrAfter(this.active.meta, t, recordEventTimeMax, (ix, x) => ix.lastBelowEventTime(x));
    return this.active.meta.endSeq;
  }

  describe(): ShardDescription {
    this.assertOpen();
    return {
      startSeq: this.startSeq(),
      endSeq: this.active.meta.endSeq,
      bytes: this.sealedBytes + this.active.meta.bytes,
      segments: this.sealed.length + 1,
    };
  }

  /** Base seqs and summaries of every segment, oldest first (the last is the active one). */
  segments(): SegmentMeta[] {
    return [...this.sealed.map((s) => ({ ...s })), { ...this.active.meta }];
  }

  /** Sealed-segment indexes rebuilt from their logs since open. */
  get indexRebuilds(): number {
    return this.sealedSegs.indexRebuilds;
  }

  /** Sealed-segment index cache: files loaded since open, and the memory the loaded ones hold. */
  get indexCacheStats(): { loads: number; bytes: number } {
    return { loads: this.sealedSegs.indexLoads, bytes: this.sealedSegs.indexCacheBytes };
  }

  enforceRetention(): number {
    this.assertOpen();
    const now = this.cfg.now();
    const { retentionMs, retentionBytes } = this.cfg;
    let doomed = 0;
    let total = this.sealedBytes + this.active.meta.bytes;
    while (doomed < this.sealed.length) {
      const s = this.sealed[doomed]!;
      const expired = retentionMs !== null && s.appendTimeMax < now - retentionMs;
      const oversize = retentionBytes !== null && total > retentionBytes;
      if (!expired && !oversize) break;
      total -= s.bytes;
      doomed++;
    }
    if (doomed === 0) return 0;
    // Files first, oldest first (index, then log): they are sealed and below the new startSeq, and
    // recovery takes a missing prefix of the checkpoint's sealed segments as deleted by retention.
    // On a full disk this is what frees space. A failed unlink stops here with memory matching the
    // files, and the next call (tick) resumes.
    for (let k = 0; k < doomed; k++) {
      const s = this.sealed[0]!;
      this.sealedSegs.forget(s.baseSeq);
      this.unlinkIfPresent(indexFileName(s.baseSeq));
      this.unlinkIfPresent(logFileName(s.baseSeq));
      this.sealed.shift();
      this.sealedBytes -= s.bytes;
      this.eventPrefixMax = null;
    }
    this.freeCheckedAt = -Infinity; // the next append re-reads the free space
    // Then the checkpoint, best effort: the log is the truth, and a failed write (ENOSPC) loses
    // nothing; tick() writes it again (the checkpoint is marked stale).
    try {
      this.layer.syncDir(this.cfg.dir);
      this.writeCheckpoint();
    } catch (e) {
      if (this.stopped !== null) throw e;
      this.checkpointedBytes = -1;
    }
    return doomed;
  }

  setRetention(retentionMs: number | null, retentionBytes: number | null): void {
    this.cfg.retentionMs = retentionMs;
    this.cfg.retentionBytes = retentionBytes;
  }

  tick(): void {
    this.assertOpen();
    // Retention first: on a full disk it frees the space the roll and checkpoint below need (they may throw).
    if (this.cfg.retentionMs !== null || this.cfg.retentionBytes !== null) this.enforceRetention();
    const now = this.cfg.now();
    const m = this.active.meta;
    if (m.bytes > 0 && now - m.firstAppendTime >= this.cfg.segmentMsMax) this.roll();
    const f = this.cfg.fsync;
    if (this.durability.tickSyncDue(now)) this.sync();
    if (this.durability.sealsDue(0, now)) this.durability.settleSealsInline();
    const stale = this.active.meta.bytes !== this.checkpointedBytes || this.active.meta.baseSeq !== this.checkpointedBase;
    // Background mode: the checkpoint moves at rolls only (recovery then scans at most the active segment),
    // except to repair one that failed to be written.
    const due = this.cfg.syncInBackground ? this.checkpointedBytes === -1 : stale && now - this.lastCheckpointAt >= CHECKPOINT_INTERVAL_MS;
    if (f.mode !== 'roll' && due) this.writeCheckpoint();
  }

  sync(): void {
    this.assertOpen();
    if (this.durability.dirty) {
      this.layer.fsync(this.activeFd);
      this.durability.activeSynced(this.active.meta.bytes);
    }
    this.flushIndex(false);
  }

  roll(): void {
    this.assertOpen();
    if (this.active.meta.bytes === 0) return;
    if (this.cfg.syncInBackground) return this.rollInBackground();
    this.sync();
    this.flushIndex(true);
    const [logFd, idxFd] = this.createSegmentFiles(this.active.meta.endSeq, true);
    this.layer.close(this.activeFd);
    this.layer.close(this.indexFd);
    this.switchToNewSegment(logFd, idxFd);
    this.durability.newActiveSegment();
    this.writeCheckpoint();
  }

  /** Creates the (empty) log and index files of the segment starting at base; with syncDir their names are made durable. */
  private createSegmentFiles(base: number, syncDir: boolean): [number, number] {
    const dir = this.cfg.dir;
    const logFd = this.io('create segment', () => this.layer.open(join(dir, logFileName(base)), 'create'));
    let idxFd = -1;
    try {
      idxFd = this.io('create index', () => this.layer.open(join(dir, indexFileName(base)), 'create'));
      this.io('create segment', () => {
        this.layer.truncate(logFd, 0);
        this.layer.truncate(idxFd, 0);
      });
      if (syncDir) this.layer.syncDir(dir);
    } catch (e) {
      this.layer.close(logFd);
      if (idxFd >= 0) this.layer.close(idxFd);
      throw e;
    }
    return [logFd, idxFd];
  }

  /** Seals the active segment in memory and makes the new files (base = its end seq) the active segment. */
  private switchToNewSegment(logFd: number, idxFd: number): void {
    const old = this.active;
    this.sealed.push(old.meta);
    this.sealedBytes += old.meta.bytes;
    this.sealedSegs.remember(old.meta.baseSeq, old.index);
    this.eventPrefixMax = null;
    this.active = SegmentTracker.fresh(old.meta.endSeq, this.cfg.indexIntervalBytes);
    this.activeFd = logFd;
    this.indexFd = idxFd;
  }

  /**
   * Roll without waiting for the disk (background mode): the old segment's
   * index entries are written (not fsync'd), the new segment's files are
   * created (the directory not fsync'd), and the old segment's fsyncs, the
   * directory fsync and the checkpoint naming it sealed run on other threads
   * (seal-job.ts), in roll order; its descriptors close when they are done.
   * Until that checkpoint is written, the last one still names the old
   * segment as active, and recovery treats it and every later segment as
   * possibly torn (recovery.ts).
   */
  private rollInBackground(): void {
    this.flushIndex(false);
    const base = this.active.meta.endSeq;
    const [logFd, idxFd] = this.createSegmentFiles(base, false);
    const old = this.active;
    const oldLogFd = this.activeFd;
    const oldIndexFd = this.indexFd;
    this.switchToNewSegment(logFd, idxFd);
    this.indexUnsynced = false;
    // Snapshot now: the new segment at 0 bytes, the old one sealed, the producers as of this roll.
    const checkpoint = encodeCheckpoint({
      startSeq: this.startSeq(),
      active: { ...this.active.meta },
      sealed: this.sealed,
      lastAppendTime: this.lastAppendTime,
      producers: this.producers.entries(),
    });
    const job: Omit<SealJob, 'gen' | 'oldestUnsyncedAt' | 'unsyncedBytes' | 'appendedBytesAtRoll' | 'durableBytes' | 'synced'> = {
      logFd: oldLogFd,
      indexFd: oldIndexFd,
      logPath: join(this.cfg.dir, logFileName(old.meta.baseSeq)),
      indexPath: join(this.cfg.dir, indexFileName(old.meta.baseSeq)),
      baseSeq: old.meta.baseSeq,
      segmentBytes: old.meta.bytes,
      newBaseSeq: base,
      checkpoint,
      rolledAt: this.cfg.now(),
    };
    this.durability.sealInBackground(job);
  }

  /** Resolves once no background fsync or roll job is running (call before close() to let them finish). */
  backgroundIdle(): Promise<void> {
    return this.durability.backgroundIdle();
  }

  /** sync, checkpoint, clean-shutdown marker, close. A stopped store only releases its descriptors (it writes nothing more). */
  close(): void {
    if (this.closed) return;
    if (this.stopped !== null) return this.abandon();
    try {
      this.writeCheckpoint();
      const marker = join(this.cfg.dir, CLEAN_SHUTDOWN_FILE);
      this.layer.close(this.layer.open(marker, 'create'));
      this.layer.syncDir(this.cfg.dir);
    } finally {
      this.closed = true;
      this.parallel?.close();
      this.sealedSegs.closeAll();
      this.layer.close(this.activeFd);
      this.layer.close(this.indexFd);
    }
  }

  /**
   * Closes the file descriptors without syncing, checkpointing or writing the
   * clean-shutdown marker: the files are left as a kill -9 would leave them
   * (for crash tests and torture runs).
   */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.parallel?.close();
    const fds = [this.activeFd, this.indexFd];
    // A stopped store's pending seal jobs never finish: their descriptors are released here.
    if (this.stopped !== null) fds.push(...this.durability.pendingSealFds());
    for (const fd of fds) {
      try {
        this.layer.close(fd);
      } catch {
        // already gone (a simulated crash dropped every descriptor)
      }
    }
    try {
      this.sealedSegs.closeAll();
    } catch {
      // as above
    }
  }

  // ---- append internals ----

  private viewOf(bytes: Uint8Array): Uint8Array {
    if (bytes.buffer !== this.viewBuffer) {
      this.viewBuffer = bytes.buffer;
      this.viewU8 = new Uint8Array(bytes.buffer);
      this.viewDv = new DataView(bytes.buffer);
    }
    return this.viewU8;
  }

  /** Statistics of the parallel CRC check: batches checked with the helper, units the helper checked, stalls (helper descheduled) and the back-off left after the last one. */
  get appendCrcStats(): { parallelBatches: number; helperUnits: number; stalls: number; backoffMs: number } {
    const p = this.parallel;
    return {
      parallelBatches: p?.batches ?? 0,
      helperUnits: p?.helperUnits ?? 0,
      stalls: p?.stalls ?? 0,
      backoffMs: p === null ? 0 : Math.max(0, p.backoffUntil - performance.now()),
    };
  }

  /** The CRC helper for this batch, or null to check it serially before writing. */
  private parallelFor(bytes: Uint8Array, n: number): ParallelCrc | null {
    if (n < PARALLEL_CRC_MIN_BYTES || !this.cfg.verifyAppendCrc || !this.cfg.appendCrcThread || this.parallelUnusable) return null;
    if (!(bytes.buffer instanceof SharedArrayBuffer)) return null;
    if (this.parallel !== null && !this.parallel.usable) {
      this.parallelUnusable = true;
      return null;
    }
    if (this.parallel !== null && this.parallel.backoffUntil > performance.now()) return null;
    this.parallel ??= new ParallelCrc(this.cfg.recordBytesMax);
    return this.parallel;
  }

  /**
   * Checks every record of the batch before anything is written (with
   * crcChecked: everything but the CRCs, which a ParallelCrc checks); fills
   * the batch* fields.
   */
  private validateBatch(absStart: number, absEnd: number, crcChecked: boolean): void {
    const dv = this.viewDv;
    // Records before crcEnd passed their CRC in one native call (crcsPassedEnd); from crcEnd on (all of them
    // without the addon, else the one that failed and after) each gets the full check, so errors come in order.
    const crcEnd = this.cfg.verifyAppendCrc && !crcChecked ? crcsPassedEnd(this.viewU8, absStart, absEnd) : absEnd;
    let count = 0;
    let producerId = 0;
    let pFirst = 0;
    let pLast = 0;
    for (let pos = absStart; pos < absEnd; count++) {
      const p = pos >= crcEnd
        ? appendProblem(this.viewU8, dv, pos, absEnd, this.cfg.recordBytesMax)
        : structuralProblem(dv, pos, absEnd, this.cfg.recordBytesMax);
      if (typeof p !== 'number') {
        const code = p[0] === 'too-large' ? 'RECORD_TOO_LARGE' : 'BAD_RECORD';
        throw new StorageError(code, `record ${count} of the batch (byte ${pos - absStart}) is rejected: ${p[1]}; nothing was written`);
      }
      const id = getU64(dv, pos + OFF_PRODUCER_ID);
      const ps = dv.getUint32(pos + OFF_PRODUCER_SEQ, true);
      if (count === 0) {
        producerId = id;
        pFirst = ps;
        pLast = ps;
      } else if (id !== producerId) {
        throw new StorageError('BAD_RECORD', `record ${count} of the batch has producerId ${id}, record 0 has ${producerId}; a batch carries one producer`);
      } else if (id !== 0) {
        if (ps !== pLast + 1) throw new StorageError('BAD_RECORD', `record ${count} of the batch has producerSeq ${ps}, expected ${pLast + 1}`);
        pLast = ps;
      }
      pos += p;
    }
    this.batchCount = count;
    this.batchProducerId = producerId;
    this.batchProducerSeqFirst = pFirst;
    this.batchProducerSeqLast = pLast;
  }

  /** Checks a pre-stamped batch (appendStamped): the record count and the last record's append time. */
  private validateStamped(absStart: number, absEnd: number, firstSeq: number, epoch: number): { count: number; appendTime: number; lastRecordEpoch: number } {
    const u8 = this.viewU8;
    const dv = this.viewDv;
    const crcEnd = crcsPassedEnd(u8, absStart, absEnd);
    let count = 0;
    let appendTime = -Infinity;
    let lastRecordEpoch = 0;
    for (let pos = absStart; pos < absEnd; count++) {
      const p = storedRecordProblem(u8, dv, pos, absEnd, this.cfg.recordBytesMax, pos < crcEnd);
      const where = `record ${count} of the stamped batch (byte ${pos - absStart})`;
      if (typeof p !== 'number') {
        throw new StorageError(p[0] === 'too-large' ? 'RECORD_TOO_LARGE' : 'BAD_RECORD', `${where} is rejected: ${p[1]}; nothing was written`);
      }
      const seq = recordSeq(dv, pos);
      if (seq !== firstSeq + count) throw new StorageError('BAD_RECORD', `${where} carries seq ${seq}, expected ${firstSeq + count} (dense from firstSeq); nothing was written`);
      const e = dv.getUint32(pos + OFF_EPOCH, true);
      // Records carry the epoch that stamped them: at most the writer's (a catch-up or recovery resends older ones), never going down.
      if (e > epoch) throw new StorageError('BAD_RECORD', `${where} carries epoch ${e}, above the writer's epoch ${epoch}; nothing was written`);
      if (e < lastRecordEpoch) throw new StorageError('BAD_RECORD', `${where} carries epoch ${e}, below the previous record's ${lastRecordEpoch}; nothing was written`);
      lastRecordEpoch = e;
      const t = recordAppendTime(dv, pos);
      if (t < appendTime) throw new StorageError('BAD_RECORD', `${where} has append time ${t}, before the previous record's ${appendTime}; nothing was written`);
      appendTime = t;
      pos += p;
    }
    return { count, appendTime, lastRecordEpoch };
  }

  /**
   * Compares the batch's first `overlap` records (seqs from firstSeq) with
   * the stored ones, byte for byte (those below startSeq are gone: skipped);
   * DIVERGED at the first difference. Returns where the rest of the batch starts.
   */
  private checkOverlap(absStart: number, firstSeq: number, overlap: number): number {
    const u8 = this.viewU8;
    const dv = this.viewDv;
    const stop = firstSeq + overlap;
    let pos = absStart;
    let seq = firstSeq;
    for (const startSeq = this.startSeq(); seq < stop && seq < startSeq; seq++) pos += dv.getUint32(pos, true);
    let want = 0;
    for (let p = pos, s = seq; s < stop; s++) {
      const length = dv.getUint32(p, true);
      want += length;
      p += length;
    }
    while (seq < stop) {
      const r = this.read(seq, want);
      const rdv = dataViewOf(r.bytes);
      let off = 0;
      for (let k = 0; k < r.count && seq < stop; k++, seq++) {
        const length = dv.getUint32(pos, true);
        const stored = rdv.getUint32(off, true);
        if (stored !== length || !Buffer.from(u8.buffer, pos, length).equals(Buffer.from(r.bytes.buffer, r.bytes.byteOffset + off, length))) {
          throw new StorageError(
            'DIVERGED',
            `the stored record at seq ${seq} (epoch ${rdv.getUint32(off + OFF_EPOCH, true)}, ${stored} bytes) differs from the batch's ` +
              `(epoch ${dv.getUint32(pos + OFF_EPOCH, true)}, ${length} bytes); nothing was written`,
          );
        }
        want -= length;
        pos += length;
        off += stored;
      }
    }
    return pos;
  }

  /** Accounts for a written pre-stamped batch (appendStamped): summaries, index, producer table, clocks. */
  private commitStamped(absStart: number, absEnd: number, position: number, firstSeq: number, epoch: number, n: number, now: number, synced: boolean): void {
    const dv = this.viewDv;
    const tracker = this.active;
    let filePos = position;
    let timeMax = this.lastAppendTime;
    for (let pos = absStart, seq = firstSeq; pos < absEnd; seq++) {
      const length = dv.getUint32(pos, true);
      const t = recordAppendTime(dv, pos);
      tracker.observe(filePos, length, seq, t, recordEventTimeMax(dv, pos));
      const producerId = getU64(dv, pos + OFF_PRODUCER_ID);
      if (producerId !== 0) this.producers.applyRecovered(producerId, dv.getUint32(pos + OFF_PRODUCER_SEQ, true), seq, t);
      if (t > timeMax) timeMax = t;
      pos += length;
      filePos += length;
    }
    this.lastAppendTime = timeMax;
    this.lastEpochKnown = epoch;
    this.writtenSinceFreeCheck += n;
    this.durability.noteAppended(n, now, synced);
  }

  /** Set by checkProducer when the batch completes a torn prefix at the log's tail (ProducerCheck 'extend'). */
  private extend: { skip: number; firstSeq: number } | null = null;

  /**
   * A retried batch whose first `skip` records are already the end of the
   * log (a kill -9 cut the original write; recovery kept its whole records):
   * only the rest is appended, right after them, and the answer covers the
   * whole batch (its seqs are contiguous: nothing came after the prefix).
   */
  private appendRest(bytes: Uint8Array, start: number, end: number, absStart: number): AppendResult {
    const { skip, firstSeq } = this.extend!;
    this.extend = null;
    const count = this.batchCount;
    const dv = this.viewDv;
    let pos = absStart;
    for (let k = 0; k < skip; k++) pos += dv.getUint32(pos, true);
    // Invariant (checked by the producer table against the tail): the prefix ends the log, so the rest lands right after it.
    if (this.active.meta.endSeq !== firstSeq + skip) {
      throw new StorageError('BAD_RECORD', `a torn batch's stored prefix does not end the log (next seq ${this.active.meta.endSeq}, expected ${firstSeq + skip}); nothing was written`);
    }
    const producerId = this.batchProducerId;
    const rest = this.append(bytes, start + (pos - absStart), end);
    this.lastAppendSkipped = skip;
    this.producers.mergeLast(producerId); // a later retry of the whole batch is then a plain duplicate
    return { firstSeq, lastSeq: firstSeq + count - 1, count, appendTime: rest.appendTime, duplicate: false };
  }

  private checkProducer(): AppendResult | null {
    const c = this.producers.check(this.batchProducerId, this.batchProducerSeqFirst, this.batchProducerSeqLast, this.active.meta.endSeq - 1);
    if (c.kind === 'extend') {
      this.extend = { skip: c.skip, firstSeq: c.firstSeq };
      return null;
    }
    if (c.kind === 'duplicate') {
      return { firstSeq: c.firstSeq, lastSeq: c.lastSeq, count: this.batchCount, appendTime: c.appendTime, duplicate: true };
    }
    if (c.kind === 'out-of-order') {
      throw new StorageError(
        'OUT_OF_ORDER_SEQUENCE',
        `producer ${this.batchProducerId} sent producerSeq ${this.batchProducerSeqFirst}..${this.batchProducerSeqLast}, ` +
          `expected producerSeq ${c.lastProducerSeq + 1} (its last batch ended at ${c.lastProducerSeq}); ` +
          `not a retry of a recent batch either`,
      );
    }
    return null;
  }

  private maybeRollBefore(n: number, now: number): void {
    const m = this.active.meta;
    if (m.bytes > 0 && (m.bytes + n > this.cfg.segmentBytesMax || now - m.firstAppendTime >= this.cfg.segmentMsMax)) this.roll();
  }

  private checkFreeSpace(n: number, now: number): void {
    const min = this.cfg.minFreeBytes;
    if (min <= 0) return;
    let estimate = this.freeAtCheck - this.writtenSinceFreeCheck - n;
    if (this.writtenSinceFreeCheck + n >= FREE_CHECK_BYTES || now - this.freeCheckedAt >= FREE_CHECK_MS || estimate < min) {
      this.freeAtCheck = this.io('statfs', () => this.layer.freeBytes(this.cfg.dir));
      this.freeCheckedAt = now;
      this.writtenSinceFreeCheck = 0;
      estimate = this.freeAtCheck - n;
    }
    if (estimate < min) {
      throw new StorageError('DISK_FULL', `appending ${n} bytes would leave ${Math.max(0, estimate)} bytes free in ${this.cfg.dir}, below minFreeBytes ${min}`);
    }
  }

  /**
   * Writes the batch but its first LENGTH_BYTES while par checks the CRCs;
   * with every CRC passed, writes those bytes, else truncates the batch off
   * and throws the serial check's error. The caller's records (already
   * patched) are not readable until commitBatch.
   */
  private writeBatchCheckingInParallel(par: ParallelCrc, bytes: Uint8Array, start: number, n: number, position: number): void {
    const absStart = bytes.byteOffset + start;
    let writeError: unknown = null;
    try {
      writeFully(this.layer, this.activeFd, bytes, start + LENGTH_BYTES, n - LENGTH_BYTES, position + LENGTH_BYTES);
    } catch (e) {
      writeError = e;
    }
    const passed = par.finish(this.viewU8, this.viewDv);
    if (writeError !== null) {
      this.rollbackTo(position);
      throw ioError(writeError, `writing ${n} bytes to ${logFileName(this.active.meta.baseSeq)}`);
    }
    if (!passed) {
      try {
        this.validateBatch(absStart, absStart + n, false);
      } catch (e) {
        this.rollbackTo(position);
        throw e;
      }
    }
    this.writeBatch(bytes, start, LENGTH_BYTES, position);
  }

  private writeBatch(bytes: Uint8Array, start: number, n: number, position: number): void {
    try {
      writeFully(this.layer, this.activeFd, bytes, start, n, position);
    } catch (e) {
      this.rollbackTo(position);
      throw ioError(e, `writing ${n} bytes to ${logFileName(this.active.meta.baseSeq)}`);
    }
  }

  /**
   * Starts an fsync of the active segment on another thread when one is due
   * (options.syncInBackground; see there). Resolves once it settled, never
   * rejects (a failure stops the store: see stopped); null when none was started.
   */
  startBackgroundSync(): Promise<void> | null {
    this.assertOpen();
    return this.durability.startBackgroundSync(this.cfg.now());
  }

  /** Background fsyncs completed, and whether one is in flight. */
  get backgroundSyncStats(): { completed: number; inFlight: boolean } {
    return this.durability.backgroundSyncStats;
  }

  /**
   * The fsyncs an append waits for (the active log; with settleSeals, pending
   * rolls' old segments first). A failed fsync has stopped the store: the
   * batch is left for reopen()'s cut (nothing more is written). Any other
   * failure cuts the batch off.
   */
  private fsyncOrRollback(position: number, n: number, syncActive: boolean, settleSeals: boolean): void {
    try {
      if (settleSeals) this.durability.settleSealsInline();
      if (syncActive) {
        this.layer.fsync(this.activeFd);
        this.durability.activeSynced(position + n);
      }
    } catch (e) {
      if (this.stopped !== null) throw this.stopped;
      this.rollbackTo(position);
      throw ioError(e, `fsync of ${logFileName(this.active.meta.baseSeq)}`);
    }
  }

  /** Cuts a failed write off the file; if even that fails, the next append retries before writing. */
  private rollbackTo(position: number): void {
    try {
      this.layer.truncate(this.activeFd, position);
    } catch {
      this.tailDirty = true;
    }
  }

  private repairTail(): void {
    this.io('truncate of a failed write', () => this.layer.truncate(this.activeFd, this.active.meta.bytes));
    this.tailDirty = false;
  }

  private commitBatch(absStart: number, absEnd: number, position: number, firstSeq: number, appendTime: number, n: number, now: number, synced: boolean): void {
    const dv = this.viewDv;
    const tracker = this.active;
    let filePos = position;
    for (let pos = absStart, seq = firstSeq; pos < absEnd; seq++) {
      const length = dv.getUint32(pos, true);
      tracker.observe(filePos, length, seq, appendTime, recordEventTimeMax(dv, pos));
      pos += length;
      filePos += length;
    }
    this.lastAppendTime = appendTime;
    this.lastEpochKnown = this.epoch;
    this.writtenSinceFreeCheck += n;
    this.durability.noteAppended(n, now, synced);
    if (this.batchProducerId !== 0) {
      this.producers.record(this.batchProducerId, {
        producerSeqFirst: this.batchProducerSeqFirst,
        producerSeqLast: this.batchProducerSeqLast,
        seqFirst: firstSeq,
        appendTime,
      });
    }
  }

  // ---- read internals ----

  /** True when fromSeq is the end (nothing to read); throws OUT_OF_RANGE outside [startSeq, endSeq]. */
  private checkRange(fromSeq: number): boolean {
    const start = this.startSeq();
    const end = this.active.meta.endSeq;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < start || fromSeq > end) {
      throw new StorageError('OUT_OF_RANGE', `seq ${fromSeq} is out of range; this shard holds seqs ${start} to ${end} (${end} is the next to be written)`);
    }
    return fromSeq === end;
  }

  private startSeq(): number {
    return this.sealed.length > 0 ? this.sealed[0]!.baseSeq : this.active.meta.baseSeq;
  }

  private segmentFor(seq: number): SegmentMeta {
    if (seq >= this.active.meta.baseSeq) return this.active.meta;
    const i = firstIndexWhere(this.sealed.length, (k) => this.sealed[k]!.endSeq > seq);
    return this.sealed[i]!;
  }



  private sealedEventPrefixMax(): Float64Array {
    if (this.eventPrefixMax === null) {
      const p = new Float64Array(this.sealed.length);
      let max = -Infinity;
      for (let k = 0; k < p.length; k++) {
        max = Math.max(max, this.sealed[k]!.eventTimeMax);
        p[k] = max;
      }
      this.eventPrefixMax = p;
    }
    return this.eventPrefixMax;
  }

  // ---- durability internals ----

  private flushIndex(fsync: boolean): void {
    const ix = this.active.index;
    if (ix.count > ix.persisted) {
      const bytes = ix.encode(ix.persisted, ix.count);
      this.io('index write', () => writeFully(this.layer, this.indexFd, bytes, 0, bytes.length, ix.persisted * INDEX_ENTRY_BYTES));
      ix.persisted = ix.count;
      this.indexUnsynced = true;
    }
    if (fsync && this.indexUnsynced) {
      this.layer.fsync(this.indexFd);
      this.indexUnsynced = false;
    }
  }

  /** fsyncs log and index, then records the state as durable in the checkpoint file. */
  private writeCheckpoint(): void {
    this.durability.settleSealsInline();
    this.sync();
    this.flushIndex(true);
    const cp: Checkpoint = {
      startSeq: this.startSeq(),
      active: { ...this.active.meta },
      sealed: this.sealed,
      lastAppendTime: this.lastAppendTime,
      producers: this.producers.entries(),
    };
    const gen = ++this.durability.checkpointGen;
    this.durability.assertSealedDurable(gen);
    this.io('checkpoint write', () => writeFileAtomic(this.layer, this.cfg.dir, CHECKPOINT_FILE, encodeCheckpoint(cp)));
    this.durability.checkpointWrittenGen = gen;
    this.lastCheckpointAt = this.cfg.now();
    this.checkpointedBytes = this.active.meta.bytes;
    this.checkpointedBase = this.active.meta.baseSeq;
  }

  private unlinkIfPresent(name: string): void {
    const path = join(this.cfg.dir, name);
    if (this.layer.exists(path)) this.io('unlink', () => this.layer.unlink(path));
  }

  private io<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw ioError(e, what);
    }
  }

  private assertOpen(): void {
    if (this.layer.stopError !== null) throw this.layer.stopError;
    if (this.closed) throw new StorageError('CLOSED', `shard store ${this.cfg.dir} is closed`);
  }
}

/** Epochs are u32 (the record header's field): anything else is a caller's bug. */
function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > EPOCH_MAX) throw new RangeError(`epoch must be an integer in [0, ${EPOCH_MAX}], got ${epoch}`);
}

/** Smallest i in [0, n) for which pred holds (pred false then true); n if none. */
function firstIndexWhere(n: number, pred: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function ioError(e: unknown, what: string): StorageError {
  if (e instanceof StorageError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const message = `${what} failed: ${(e as Error).message}`;
  return new StorageError(code === 'ENOSPC' ? 'DISK_FULL' : 'IO_ERROR', message);
}
