/**
 * A run of encoded records for one shard, sent as one part of an append
 * frame. Its bytes never change once encoded, so a retry after a reconnect
 * resends exactly the same bytes (same producerId and producerSeq), which the
 * shard recognizes as a duplicate.
 *
 * Per record it keeps only the two settle functions of the promise send()
 * returned (no waiter object, no closure: one shared promise executor), and
 * records are encoded through one DataView over the batch buffer (a
 * RecordWriter), not one per record.
 */
import { RecordWriter, type RecordInput } from '../record/record.js';
import type { SendResult } from './types.js';

type Resolve = (r: SendResult) => void;
type Reject = (e: Error) => void;

// The shared executor hands the settle functions of the promise being built out through these.
let lastResolve: Resolve | undefined;
let lastReject: Reject | undefined;
function capture(resolve: Resolve, reject: Reject): void {
  lastResolve = resolve;
  lastReject = reject;
}

export class ProducerBatch {
  readonly buf: Uint8Array;
  /** Encodes into buf through one DataView for the whole batch. */
  private readonly writer: RecordWriter;
  used = 0;
  private readonly resolves: Resolve[] = [];
  private readonly rejects: Reject[] = [];
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
  }

  get count(): number {
    return this.resolves.length;
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
    const p = new Promise<SendResult>(capture);
    this.resolves.push(lastResolve!);
    this.rejects.push(lastReject!);
    lastResolve = undefined;
    lastReject = undefined;
    return p;
  }

  ack(firstSeq: number): void {
    const resolves = this.resolves;
    for (let i = 0; i < resolves.length; i++) resolves[i]!({ shard: this.shard, seq: firstSeq + i });
    this.settle();
  }

  fail(err: Error): void {
    for (const reject of this.rejects) reject(err);
    this.settle();
  }
}
