/**
 * Test-only in-memory ShardHandleApi: validates records like the storage
 * engine (bad CRC -> BAD_RECORD), patches server fields, drops an idempotent
 * producer's retried batch and returns the original seqs.
 */
import { mkdir, rm } from 'node:fs/promises';
import {
  OFF_PRODUCER_ID,
  OFF_PRODUCER_SEQ,
  dataViewOf,
  forEachRecord,
  getU64,
  patchServerFields,
  recordEventTimeMax,
} from '../../src/record/index.js';
import type { AppendResult, FenceResult, ReadResult, ShardDescription, ShardHandleApi, ShardHandleOptions, StampedAppendResult } from '../../src/shard/types.js';

class CodedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class FakeShardHandle implements ShardHandleApi {
  readonly records: Uint8Array[] = [];
  readonly appendTimes: number[] = [];
  private readonly batches = new Map<number, { pFirst: number; pLast: number; firstSeq: number; appendTime: number }[]>();
  private readonly listeners = new Set<(endSeq: number) => void>();
  closed = false;
  appendCalls = 0;
  readCalls = 0;

  constructor(readonly opts: ShardHandleOptions) {}

  static async open(opts: ShardHandleOptions): Promise<FakeShardHandle> {
    await mkdir(opts.dir, { recursive: true });
    return new FakeShardHandle(opts);
  }

  async append(bytes: Uint8Array): Promise<AppendResult> {
    this.appendCalls++;
    if (this.closed) throw new CodedError('CLOSED', 'closed');
    const offsets: [number, number][] = [];
    try {
      forEachRecord(bytes, (off, len) => offsets.push([off, len]), 0, bytes.length, this.opts.recordBytesMax);
    } catch (err) {
      throw new CodedError((err as { problem?: string }).problem === 'too-large' ? 'RECORD_TOO_LARGE' : 'BAD_RECORD', (err as Error).message);
    }
    const dv = dataViewOf(bytes);
    const pid = offsets.length > 0 ? getU64(dv, offsets[0]![0] + OFF_PRODUCER_ID) : 0;
    const appendTime = Date.now();
    if (pid !== 0) {
      const pFirst = dv.getUint32(offsets[0]![0] + OFF_PRODUCER_SEQ, true);
      const pLast = pFirst + offsets.length - 1;
      const known = this.batches.get(pid) ?? [];
      const dup = known.find((b) => pFirst >= b.pFirst && pLast <= b.pLast);
      if (dup !== undefined) {
        const firstSeq = dup.firstSeq + (pFirst - dup.pFirst);
        return { firstSeq, lastSeq: firstSeq + offsets.length - 1, count: offsets.length, appendTime: dup.appendTime, duplicate: true };
      }
      known.push({ pFirst, pLast, firstSeq: this.records.length, appendTime });
      this.batches.set(pid, known);
    }
    const firstSeq = this.records.length;
    for (const [off, len] of offsets) {
      const rec = bytes.slice(off, off + len);
      patchServerFields(dataViewOf(rec), 0, this.records.length, appendTime, 1);
      this.records.push(rec);
      this.appendTimes.push(appendTime);
    }
    const endSeq = this.records.length;
    queueMicrotask(() => this.listeners.forEach((l) => l(endSeq)));
    return { firstSeq, lastSeq: endSeq - 1, count: offsets.length, appendTime, duplicate: false };
  }

  /** Replicated-shard calls are not modelled by this fake. */
  async appendStamped(): Promise<StampedAppendResult> {
    throw new CodedError('BAD_REQUEST', 'FakeShardHandle does not model appendStamped');
  }
  async fence(): Promise<FenceResult> {
    throw new CodedError('BAD_REQUEST', 'FakeShardHandle does not model fence');
  }
  async truncateTo(): Promise<number> {
    throw new CodedError('BAD_REQUEST', 'FakeShardHandle does not model truncateTo');
  }
  async setEpoch(): Promise<void> {
    throw new CodedError('BAD_REQUEST', 'FakeShardHandle does not model setEpoch');
  }

  async read(fromSeq: number, maxBytes: number): Promise<ReadResult> {
    this.readCalls++;
    if (fromSeq < 0 || fromSeq > this.records.length) throw new CodedError('OUT_OF_RANGE', `out of range [0, ${this.records.length}]`);
    const out: Uint8Array[] = [];
    let n = 0;
    let seq = fromSeq;
    while (seq < this.records.length && (out.length === 0 || n + this.records[seq]!.length <= maxBytes)) {
      out.push(this.records[seq]!);
      n += this.records[seq]!.length;
      seq++;
    }
    const bytes = new Uint8Array(n);
    let pos = 0;
    for (const r of out) {
      bytes.set(r, pos);
      pos += r.length;
    }
    return { bytes, count: out.length, firstSeq: fromSeq, nextSeq: seq };
  }

  async seqForAppendTime(t: number): Promise<number> {
    const i = this.appendTimes.findIndex((a) => a >= t);
    return i < 0 ? this.records.length : i;
  }

  async seqForEventTime(t: number): Promise<number> {
    const i = this.records.findIndex((r) => recordEventTimeMax(dataViewOf(r), 0) >= t);
    return i < 0 ? this.records.length : i;
  }

  async describe(): Promise<ShardDescription> {
    return { startSeq: 0, endSeq: this.records.length, bytes: this.records.reduce((a, r) => a + r.length, 0), segments: 1 };
  }

  async setRetention(): Promise<void> {}

  onAppend(listener: (endSeq: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async destroy(): Promise<void> {
    this.closed = true;
    await rm(this.opts.dir, { recursive: true, force: true });
  }
}
