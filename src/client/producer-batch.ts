/**
 * A run of encoded records for one shard, sent as one part of an append
 * frame. Its bytes never change once encoded, so a retry after a reconnect
 * resends exactly the same bytes (same producerId and producerSeq), which the
 * shard recognizes as a duplicate.
 *
 * Per record it makes only the promise send() returns, chained on one
 * promise per batch (no resolve/reject functions, waiter object or closure
 * per record: a record's result is computed by one shared function, called
 * in registration order, which is the records' order), and records are
 * encoded through one DataView over the batch buffer (a RecordWriter), not
 * one per record.
 */
import { RecordWriter, type RecordInput } from '../record/record.js';
import type { SendResult } from './types.js';

export class ProducerBatch {
  readonly buf: Uint8Array;
  /** Encodes into buf through one DataView for the whole batch. */
  private readonly writer: RecordWriter;
  used = 0;
  private records = 0;
  /** Settles with the first seq when acked; every record's promise is chained on it. */
  private readonly acked: Promise<number>;
  private resolveAcked!: (firstSeq: number) => void;
  private rejectAcked!: (e: Error) => void;
  /** Records whose result was computed so far (reactions run in the order add() registered them). */
  private resulted = 0;
  private readonly toResult = (firstSeq: number): SendResult => (this.unacknowledged ? { shard: this.shard, seq: -1, unacknowledged: true } : { shard: this.shard, seq: firstSeq + this.resulted++ });
  /** Set by written(): the batch went out with acks "none" and its seqs are not known. */
  private unacknowledged = false;
  /** The producerId its records were encoded with (0 without idempotence). */
  producerId = 0;
  /** Retries so far. */
  attempts = 0;
  /** Sendable without waiting for more records (linger over, full, or flushed). */
  ready = false;
  private settle!: () => void;
  readonly done: Promise<void> = new Promise((resolve) => (this.settle = resolve));

  constructor(
    readonly shard: number,
    capacity: number,
    /** When its sends fail with TIMEOUT if not acked. */
    readonly deadline: number,
    /** When linger is over. */
    readonly lingerUntil: number,
    /** Position in its shard's send order. */
    readonly ordinal: number = 0,
    /** A buffer of `capacity` bytes to reuse (an acked batch's), else a new one. */
    buf?: Uint8Array,
  ) {
    if (buf !== undefined && buf.length !== capacity) throw new RangeError(`batch buffer has ${buf.length} bytes, not ${capacity}`);
    // Not zeroed: encodeRecordInto writes every byte of each record, and only bytes [0, used) are ever sent.
    this.buf = buf ?? new Uint8Array(Buffer.allocUnsafeSlow(capacity).buffer, 0, capacity);
    this.writer = new RecordWriter(this.buf);
    this.acked = new Promise<number>((resolve, reject) => {
      this.resolveAcked = resolve;
      this.rejectAcked = reject;
    });
  }

  get count(): number {
    return this.records;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }

  fits(len: number): boolean {
    return this.used + len <= this.buf.length;
  }

  /** Encodes one record at the end of the batch (it must fit) and returns its length; add() it next. */
  encode(input: RecordInput): number {
    return this.writer.encode(this.used, input);
  }

  add(len: number): Promise<SendResult> {
    this.used += len;
    this.records++;
    return this.acked.then(this.toResult);
  }

  /** Resolves every record's promise ({ shard, seq: firstSeq + i }, in record order), then done. */
  ack(firstSeq: number): void {
    this.resolveAcked(firstSeq);
    // Registered after the records' reactions: done settles after their promises.
    void this.acked.then(this.settle, this.settle);
  }

  /** acks "none": the frame was written; resolves every record's promise as unacknowledged (seq -1), then done. */
  written(): void {
    this.unacknowledged = true;
    this.ack(-1);
  }

  /** Rejects every record's promise with err, then settles done. */
  fail(err: Error): void {
    this.rejectAcked(err);
    void this.acked.then(this.settle, this.settle);
  }
}
