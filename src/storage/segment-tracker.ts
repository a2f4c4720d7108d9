/**
 * Keeps a segment's summary (SegmentMeta) and its sparse index up to date as
 * records are added, whether by append() or by a recovery/rebuild scan. Both
 * paths use this one rule, so an index rebuilt from the log equals the one
 * built while appending.
 */
import { type SegmentMeta, TIME_NONE } from './checkpoint.js';
import { SparseIndex } from './sparse-index.js';

export function emptySegmentMeta(baseSeq: number): SegmentMeta {
  return {
    baseSeq,
    endSeq: baseSeq,
    bytes: 0,
    firstAppendTime: TIME_NONE,
    appendTimeMax: TIME_NONE,
    eventTimeMax: TIME_NONE,
    indexEntries: 0,
  };
}

export class SegmentTracker {
  constructor(
    readonly meta: SegmentMeta,
    readonly index: SparseIndex,
    private readonly indexIntervalBytes: number,
  ) {}

  static fresh(baseSeq: number, indexIntervalBytes: number): SegmentTracker {
    return new SegmentTracker(emptySegmentMeta(baseSeq), new SparseIndex(), indexIntervalBytes);
  }

  /** Accounts for one record of `length` bytes at `position` carrying seq. */
  observe(position: number, length: number, seq: number, appendTime: number, eventTimeMax: number): void {
    const m = this.meta;
    if (m.firstAppendTime === TIME_NONE) m.firstAppendTime = appendTime;
    if (appendTime > m.appendTimeMax) m.appendTimeMax = appendTime;
    if (eventTimeMax > m.eventTimeMax) m.eventTimeMax = eventTimeMax;
    const ix = this.index;
    if (ix.count === 0 || position - ix.lastPosition() >= this.indexIntervalBytes) {
      ix.add(seq - m.baseSeq, position, m.appendTimeMax, m.eventTimeMax);
    }
    m.bytes = position + length;
    m.endSeq = seq + 1;
    m.indexEntries = ix.count;
  }
}
