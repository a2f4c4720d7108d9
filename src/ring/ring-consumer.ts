/**
 * The reading end of a ring (layout in ./ring-layout.ts). One thread only.
 *
 * Zero-copy reads: tryRead() returns a view of the next message's payload in
 * ring memory. Views stay valid until release(), which hands every message
 * read so far back to the producer at once (so a consumer may hold a batch of
 * messages, e.g. for group commit, and free them together).
 */
import { RingError } from './ring-error.js';
import {
  RING_MESSAGE_HEADER_BYTES,
  RING_PAD_LENGTH,
  RING_SPIN_MAX,
  SLOT_CLOSED,
  SLOT_CONSUMER_IDLE,
  SLOT_PRODUCER_IDLE,
  SLOT_READ,
  SLOT_WRITE,
  ringAdvance,
  ringIndex,
  ringMessageBytesMax,
  ringMessageFootprint,
  ringViews,
} from './ring-layout.js';
import { sleepAsync, sleepSync, sliceFor, type RingWaitOutcome } from './ring-wait.js';

export interface RingMessage {
  tag: number;
  /** View into ring memory; valid until the consumer's next release(). */
  bytes: Uint8Array;
}

export class RingConsumer {
  readonly capacityBytes: number;
  readonly messageBytesMax: number;
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private readonly words: Uint32Array;
  /** Local cursor: everything before it has been handed out by tryRead. */
  private read: number;
  /** Cursor last published to the producer. */
  private released: number;

  constructor(sab: SharedArrayBuffer) {
    const v = ringViews(sab);
    this.control = v.control;
    this.data = v.data;
    this.words = v.words;
    this.capacityBytes = v.capacityBytes;
    this.messageBytesMax = ringMessageBytesMax(v.capacityBytes);
    this.read = Atomics.load(v.control, SLOT_READ);
    this.released = this.read;
  }

  get closed(): boolean {
    return Atomics.load(this.control, SLOT_CLOSED) !== 0;
  }

  /** True when a message is published and not yet read. */
  get hasMessage(): boolean {
    return Atomics.load(this.control, SLOT_WRITE) !== this.read;
  }

  /** The next message, or null when none is published. */
  tryRead(): RingMessage | null {
    const cap = this.capacityBytes;
    for (;;) {
      if (Atomics.load(this.control, SLOT_WRITE) === this.read) return null;
      const index = ringIndex(this.read, cap);
      const length = this.words[index >> 2]!;
      if (length === RING_PAD_LENGTH) {
        this.read = ringAdvance(this.read, cap - index, cap);
        continue;
      }
      if (length > this.messageBytesMax || index + ringMessageFootprint(length) > cap) {
        throw new RingError('CORRUPT', `ring header at ${index} claims ${length} bytes; capacity is ${cap}`);
      }
      const tag = this.words[(index >> 2) + 1]!;
      const start = index + RING_MESSAGE_HEADER_BYTES;
      this.read = ringAdvance(this.read, ringMessageFootprint(length), cap);
      return { tag, bytes: this.data.subarray(start, start + length) };
    }
  }

  /** Frees every message read so far (their views become invalid) and wakes a waiting producer. */
  release(): void {
    if (this.read === this.released) return;
    this.released = this.read;
    Atomics.store(this.control, SLOT_READ, this.read);
    if (Atomics.compareExchange(this.control, SLOT_PRODUCER_IDLE, 1, 0) === 1) Atomics.notify(this.control, SLOT_READ);
  }

  /** Blocks this thread (a worker) until a message is available, the ring closes, or timeoutMs passes. */
  waitSync(timeoutMs = Infinity): RingWaitOutcome {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const now = this.poll();
      if (now !== null) return now;
      const slice = sliceFor(deadline);
      if (slice <= 0) return 'timed-out';
      sleepSync(this.control, SLOT_WRITE, SLOT_CONSUMER_IDLE, this.read, slice);
    }
  }

  /** Like waitSync, but yields the event loop while waiting (Atomics.waitAsync). */
  async waitAsync(timeoutMs = Infinity): Promise<RingWaitOutcome> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const now = this.poll();
      if (now !== null) return now;
      const slice = sliceFor(deadline);
      if (slice <= 0) return 'timed-out';
      await sleepAsync(this.control, SLOT_WRITE, SLOT_CONSUMER_IDLE, this.read, slice);
    }
  }

  /** Marks the ring closed (the producer's next reserve fails) and wakes it. */
  close(): void {
    Atomics.store(this.control, SLOT_CLOSED, 1);
    Atomics.notify(this.control, SLOT_WRITE);
    Atomics.notify(this.control, SLOT_READ);
  }

  private poll(): RingWaitOutcome | null {
    for (let i = 0; i < RING_SPIN_MAX; i++) {
      if (this.hasMessage) return 'ready';
    }
    return this.closed ? 'closed' : null;
  }
}
