/**
 * A run of encoded records for one shard, sent as one part of an append
 * frame. Its bytes never change once encoded, so a retry after a reconnect
 * resends exactly the same bytes (same producerId and producerSeq), which the
 * shard recognizes as a duplicate.
 */
import type { SendResult } from './types.js';

interface Waiter {
  resolve(r: SendResult): void;
  reject(e: Error): void;
}

export class ProducerBatch {
  readonly buf: Uint8Array;
  used = 0;
  private readonly waiters: Waiter[] = [];
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
  ) {
    this.buf = new Uint8Array(capacity);
  }

  get count(): number {
    return this.waiters.length;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }

  fits(len: number): boolean {
    return this.used + len <= this.buf.length;
  }

  add(len: number): Promise<SendResult> {
    this.used += len;
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  ack(firstSeq: number): void {
    this.waiters.forEach((w, i) => w.resolve({ shard: this.shard, seq: firstSeq + i }));
    this.settle();
  }

  fail(err: Error): void {
    for (const w of this.waiters) w.reject(err);
    this.settle();
  }
}
