/**
 * Read access to a shard's sealed segments: a bounded LRU of open file
 * descriptors (OPEN_SEGMENTS_MAX) and of loaded sparse indexes
 * (INDEX_CACHE_BYTES_MAX). An index file that is missing, damaged, or has
 * a different entry count than the segment's summary is rebuilt from the log
 * (the only source of truth) and rewritten atomically.
 */
import { join } from 'node:path';
import { recordAppendTime, recordEventTimeMax } from '../record/record.js';
import type { SegmentMeta } from './checkpoint.js';
import { INDEX_CACHE_BYTES_MAX, OPEN_SEGMENTS_MAX } from './defaults.js';
import { type FileLayer, readWholeFile, writeFileAtomic } from './file-layer.js';
import type { RecordScanner } from './record-scanner.js';
import { indexFileName, logFileName } from './segment-name.js';
import { SegmentTracker } from './segment-tracker.js';
import { type SparseIndex, decodeIndex } from './sparse-index.js';
import { StorageError } from './types.js';

export class SealedSegments {
  private readonly fds = new Map<number, number>();
  private readonly indexes = new Map<number, SparseIndex>();
  private indexBytes = 0;
  /** Indexes rebuilt from the log since open (observable by tests and metrics). */
  indexRebuilds = 0;
  /** Index files read and decoded since open (cache misses; observable by tests and metrics). */
  indexLoads = 0;

  constructor(
    private readonly layer: FileLayer,
    private readonly dir: string,
    private readonly scanner: RecordScanner,
    private readonly indexIntervalBytes: number,
    private readonly indexCacheBytesMax: number = INDEX_CACHE_BYTES_MAX,
  ) {}

  fd(meta: SegmentMeta): number {
    const cached = this.fds.get(meta.baseSeq);
    if (cached !== undefined) {
      this.fds.delete(meta.baseSeq);
      this.fds.set(meta.baseSeq, cached);
      return cached;
    }
    if (this.fds.size >= OPEN_SEGMENTS_MAX) this.closeOne(this.fds.keys().next().value!);
    const fd = this.layer.open(join(this.dir, logFileName(meta.baseSeq)), 'read');
    this.fds.set(meta.baseSeq, fd);
    return fd;
  }

  index(meta: SegmentMeta): SparseIndex {
    const cached = this.indexes.get(meta.baseSeq);
    if (cached !== undefined) {
      this.indexes.delete(meta.baseSeq);
      this.indexes.set(meta.baseSeq, cached);
      return cached;
    }
    const index = this.loadIndex(meta) ?? this.rebuildIndex(meta);
    this.remember(meta.baseSeq, index);
    return index;
  }

  /** Caches an index known good (the one just built by appending, at roll). */
  remember(baseSeq: number, index: SparseIndex): void {
    this.dropIndex(baseSeq);
    const bytes = index.memoryBytes();
    while (this.indexes.size > 0 && this.indexBytes + bytes > this.indexCacheBytesMax) this.dropIndex(this.indexes.keys().next().value!);
    this.indexes.set(baseSeq, index);
    this.indexBytes += bytes;
  }

  /** Memory held by the loaded indexes (<= indexCacheBytesMax unless one index alone is larger). */
  get indexCacheBytes(): number {
    return this.indexBytes;
  }

  private dropIndex(baseSeq: number): void {
    const index = this.indexes.get(baseSeq);
    if (index === undefined) return;
    this.indexes.delete(baseSeq);
    this.indexBytes -= index.memoryBytes();
  }

  /** Forgets a segment (deleted by retention). */
  forget(baseSeq: number): void {
    this.closeOne(baseSeq);
    this.dropIndex(baseSeq);
  }

  closeAll(): void {
    for (const base of [...this.fds.keys()]) this.closeOne(base);
    this.indexes.clear();
    this.indexBytes = 0;
  }

  private closeOne(baseSeq: number): void {
    const fd = this.fds.get(baseSeq);
    if (fd === undefined) return;
    this.fds.delete(baseSeq);
    this.layer.close(fd);
  }

  private loadIndex(meta: SegmentMeta): SparseIndex | null {
    const bytes = readWholeFile(this.layer, join(this.dir, indexFileName(meta.baseSeq)));
    if (bytes === null) return null;
    this.indexLoads++;
    const decoded = decodeIndex(bytes, meta.bytes);
    if (decoded.problem !== null || decoded.index.count !== meta.indexEntries) return null;
    return decoded.index;
  }

  private rebuildIndex(meta: SegmentMeta): SparseIndex {
    const tracker = SegmentTracker.fresh(meta.baseSeq, this.indexIntervalBytes);
    const result = this.scanner.scan(this.fd(meta), 0, meta.bytes, meta.baseSeq, (dv, off, length, position, seq) => {
      tracker.observe(position, length, seq, recordAppendTime(dv, off), recordEventTimeMax(dv, off));
    });
    if (result.problem !== null) {
      throw new StorageError(
        'CORRUPT',
        `${join(this.dir, logFileName(meta.baseSeq))} byte ${result.problem.position} (from seq ${result.nextSeq}): ${result.problem.message}`,
      );
    }
    const bytes = tracker.index.encode(0, tracker.index.count);
    writeFileAtomic(this.layer, this.dir, indexFileName(meta.baseSeq), bytes);
    tracker.index.persisted = tracker.index.count;
    meta.indexEntries = tracker.index.count;
    this.indexRebuilds++;
    return tracker.index;
  }
}
