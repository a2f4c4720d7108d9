/**
 * The sequence numbers a producer got acked, as ranges per shard:
 * [{shard, first, last}], sorted by shard then first, adjacent runs merged.
 * Acks mostly arrive in order, so the common case extends the last range.
 */
export interface SeqRange {
  shard: number;
  first: number;
  last: number;
}

export class AckRanges {
  private readonly byShard = new Map<number, SeqRange[]>();
  private total = 0;

  add(shard: number, seq: number): void {
    this.total += 1;
    let list = this.byShard.get(shard);
    if (list === undefined) {
      list = [];
      this.byShard.set(shard, list);
    }
    const tail = list[list.length - 1];
    if (tail !== undefined && seq === tail.last + 1) tail.last = seq;
    else list.push({ shard, first: seq, last: seq });
  }

  get count(): number {
    return this.total;
  }

  /** Sorted, merged ranges. */
  ranges(): SeqRange[] {
    const out: SeqRange[] = [];
    for (const shard of [...this.byShard.keys()].sort((a, b) => a - b)) {
      const sorted = [...this.byShard.get(shard)!].sort((a, b) => a.first - b.first);
      for (const r of sorted) {
        const prev = out[out.length - 1];
        if (prev !== undefined && prev.shard === shard && r.first <= prev.last + 1) prev.last = Math.max(prev.last, r.last);
        else out.push({ ...r });
      }
    }
    return out;
  }
}

/** "shard 0 seq 0-99, shard 1 seq 0-99" */
export function describeRanges(ranges: readonly SeqRange[]): string {
  if (ranges.length === 0) return 'none';
  return ranges.map((r) => `shard ${r.shard} seq ${r.first === r.last ? r.first : `${r.first}-${r.last}`}`).join(', ');
}
