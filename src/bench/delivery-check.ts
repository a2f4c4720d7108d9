/**
 * Proof that what the bench measured was really delivered: every consumed
 * record is matched to the producer and counter in its payload header, so
 * lost, duplicated, foreign, reordered-by-seq and (sampled) corrupted records
 * are counted, and the run fails unless consumed == produced exactly.
 */
import type { ConsumedRecord } from '../client/types.js';
import { PayloadHeaderReader, payloadBodyMatches, type PayloadHeader } from './bench-payload.js';

export interface DeliveryReport {
  ok: boolean;
  /** Records the producers had acked (what must come back). */
  expected: number;
  consumed: number;
  distinct: number;
  missing: number;
  duplicates: number;
  /** Not a bench payload, or a producer/counter never sent. */
  foreign: number;
  wrongLength: number;
  /** Payloads compared byte for byte (every verifyEvery-th record). */
  bodyChecked: number;
  corrupt: number;
  /** A shard's records not dense and increasing from 0. */
  seqGaps: number;
}

export class DeliveryCheck {
  private readonly seen: Uint8Array[];
  private readonly header = new PayloadHeaderReader();
  /** Per shard, the seq expected next (shards are small integers: an array, not a Map). */
  private readonly nextSeq: number[] = [];
  private consumed = 0;
  private distinct = 0;
  private duplicates = 0;
  private foreign = 0;
  private wrongLength = 0;
  private bodyChecked = 0;
  private corrupt = 0;
  private seqGaps = 0;

  constructor(
    private readonly sentPerProducer: number[],
    private readonly template: Uint8Array,
    private readonly verifyEvery: number,
  ) {
    this.seen = sentPerProducer.map((n) => new Uint8Array(n));
  }

  get consumedCount(): number {
    return this.consumed;
  }

  /** Checks one record; returns its bench header (null when it is not ours; valid until the next call). */
  observe(r: ConsumedRecord): PayloadHeader | null {
    const n = ++this.consumed;
    const expectSeq = this.nextSeq[r.shard] ?? 0;
    if (r.seq !== expectSeq) this.seqGaps++;
    this.nextSeq[r.shard] = r.seq + 1;
    if (r.value.length !== this.template.length) this.wrongLength++;
    const h = this.header;
    if (!h.read(r.value) || h.producer >= this.seen.length || !Number.isInteger(h.counter) || h.counter < 0 || h.counter >= this.sentPerProducer[h.producer]!) {
      this.foreign++;
      return null;
    }
    const bits = this.seen[h.producer]!;
    if (bits[h.counter] !== 0) this.duplicates++;
    else {
      bits[h.counter] = 1;
      this.distinct++;
    }
    if (n % this.verifyEvery === 0 || n === 1) {
      this.bodyChecked++;
      if (!payloadBodyMatches(r.value, this.template)) this.corrupt++;
    }
    return h;
  }

  report(expected: number): DeliveryReport {
    const missing = Math.max(0, expected - this.distinct);
    const ok =
      this.consumed === expected && this.distinct === expected && missing === 0 && this.duplicates === 0 && this.foreign === 0 && this.wrongLength === 0 && this.corrupt === 0 && this.seqGaps === 0;
    return {
      ok,
      expected,
      consumed: this.consumed,
      distinct: this.distinct,
      missing,
      duplicates: this.duplicates,
      foreign: this.foreign,
      wrongLength: this.wrongLength,
      bodyChecked: this.bodyChecked,
      corrupt: this.corrupt,
      seqGaps: this.seqGaps,
    };
  }
}
