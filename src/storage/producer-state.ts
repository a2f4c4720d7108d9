/**
 * Idempotent producer state of one shard: for each producerId (u64, != 0) the
 * last PRODUCER_BATCHES_MAX batches it appended, as (first producerSeq, last
 * producerSeq, first seq). Rules for an incoming batch [pFirst, pLast]:
 *   - it lies within a remembered batch: a retry; answered with the original
 *     seqs, nothing is written (duplicate);
 *   - otherwise, pFirst must be exactly the last batch's pLast + 1 (Kafka's
 *     rule): anything else, older or leaving a gap, is OUT_OF_ORDER_SEQUENCE;
 *   - a producer not in the table (its first batch, or forgotten) is accepted
 *     at any producerSeq.
 * At most producersMax producers are tracked; the least recently used is
 * forgotten (its next batch is then accepted as new).
 *
 * producerSeq does not wrap: a producer that exhausts u32 takes a new id.
 * The table is snapshotted into the recovery checkpoint and the batches after
 * the checkpoint are re-applied from the tail scan (see applyRecovered).
 */
import { PRODUCER_BATCHES_MAX, PRODUCERS_MAX } from './defaults.js';

export interface ProducerBatch {
  producerSeqFirst: number;
  producerSeqLast: number;
  seqFirst: number;
  appendTime: number;
}

export type ProducerCheck =
  | { kind: 'new' }
  | { kind: 'duplicate'; firstSeq: number; lastSeq: number; appendTime: number }
  /**
   * A retry of a batch of which only a prefix is stored, at the very end of
   * the log (a kill -9 cut its write between pages; recovery kept the whole
   * records): the first `skip` records are there from seq `firstSeq` on, the
   * rest is to be appended right after them.
   */
  | { kind: 'extend'; skip: number; firstSeq: number }
  | { kind: 'out-of-order'; lastProducerSeq: number };

export class ProducerTable {
  /** Insertion order is recency order: the first key is the least recently used. */
  private readonly producers = new Map<number, ProducerBatch[]>();

  constructor(
    readonly producersMax: number = PRODUCERS_MAX,
    readonly batchesMax: number = PRODUCER_BATCHES_MAX,
  ) {}

  get size(): number {
    return this.producers.size;
  }

  /**
   * tailSeq: the seq of the log's last record (endSeq - 1). A batch lying
   * within a remembered batch is a retry (duplicate). A batch that starts
   * inside the producer's last batch and runs past it, when that batch ends
   * the log, is the retry of a batch a kill cut short: 'extend' (the store
   * appends the rest and then merges the two with mergeLast).
   */
  check(producerId: number, pFirst: number, pLast: number, tailSeq: number): ProducerCheck {
    const batches = this.producers.get(producerId);
    if (batches === undefined || batches.length === 0) return { kind: 'new' };
    for (const b of batches) {
      if (pFirst >= b.producerSeqFirst && pLast <= b.producerSeqLast) {
        const firstSeq = b.seqFirst + (pFirst - b.producerSeqFirst);
        return { kind: 'duplicate', firstSeq, lastSeq: firstSeq + (pLast - pFirst), appendTime: b.appendTime };
      }
    }
    const last = batches[batches.length - 1]!;
    const lastSeq = last.seqFirst + (last.producerSeqLast - last.producerSeqFirst);
    if (pFirst >= last.producerSeqFirst && pFirst <= last.producerSeqLast && pLast > last.producerSeqLast && lastSeq === tailSeq) {
      return { kind: 'extend', skip: last.producerSeqLast - pFirst + 1, firstSeq: last.seqFirst + (pFirst - last.producerSeqFirst) };
    }
    if (pFirst !== last.producerSeqLast + 1) return { kind: 'out-of-order', lastProducerSeq: last.producerSeqLast };
    return { kind: 'new' };
  }

  /** Joins the producer's last two remembered batches (an 'extend' completed the first with the second). */
  mergeLast(producerId: number): void {
    const batches = this.producers.get(producerId);
    if (batches === undefined || batches.length < 2) return;
    const tail = batches.pop()!;
    const prev = batches[batches.length - 1]!;
    batches[batches.length - 1] = { ...prev, producerSeqLast: tail.producerSeqLast };
  }

  /** Remembers an appended batch. */
  record(producerId: number, batch: ProducerBatch): void {
    let batches = this.producers.get(producerId);
    if (batches === undefined) {
      batches = [];
      if (this.producers.size >= this.producersMax) this.evictOldest();
    } else {
      this.producers.delete(producerId);
    }
    this.producers.set(producerId, batches);
    batches.push(batch);
    if (batches.length > this.batchesMax) batches.shift();
  }

  /**
   * Re-applies one record found by the recovery scan. Consecutive records of
   * one producer with consecutive producerSeq and seq and the same append
   * time are one batch (one append() call) and are merged back into it.
   */
  applyRecovered(producerId: number, producerSeq: number, seq: number, appendTime: number): void {
    const batches = this.producers.get(producerId);
    const last = batches?.[batches.length - 1];
    if (
      last !== undefined &&
      last.appendTime === appendTime &&
      last.producerSeqLast + 1 === producerSeq &&
      last.seqFirst + (last.producerSeqLast - last.producerSeqFirst) + 1 === seq
    ) {
      last.producerSeqLast = producerSeq;
      return;
    }
    this.record(producerId, { producerSeqFirst: producerSeq, producerSeqLast: producerSeq, seqFirst: seq, appendTime });
  }

  /**
   * Forgets what a truncation removed (ShardStore.truncateTo): batches whose
   * first seq is >= seq go, a batch that runs past seq is cut at seq - 1, and
   * a producer left with no batch is forgotten (its next batch is new).
   */
  truncateFrom(seq: number): void {
    for (const [id, batches] of [...this.producers.entries()]) {
      const kept: ProducerBatch[] = [];
      for (const b of batches) {
        if (b.seqFirst >= seq) continue;
        const lastSeq = b.seqFirst + (b.producerSeqLast - b.producerSeqFirst);
        kept.push(lastSeq < seq ? b : { ...b, producerSeqLast: b.producerSeqFirst + (seq - 1 - b.seqFirst) });
      }
      if (kept.length === 0) this.producers.delete(id);
      else this.producers.set(id, kept);
    }
  }

  /** Least recently used first. */
  entries(): Array<[number, ProducerBatch[]]> {
    return [...this.producers.entries()];
  }

  restore(entries: Array<[number, ProducerBatch[]]>): void {
    this.producers.clear();
    for (const [id, batches] of entries) {
      for (const b of batches) this.record(id, { ...b });
    }
  }

  private evictOldest(): void {
    const oldest = this.producers.keys().next();
    if (oldest.done !== true) this.producers.delete(oldest.value);
  }
}
