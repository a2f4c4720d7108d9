/**
 * The writing end of a ring (layout in ./ring-layout.ts). One thread only.
 *
 * Zero-copy writes: reserve(n) returns a view of n ring bytes to fill in
 * place; commit() publishes them (optionally fewer than reserved). write()
 * is the copying convenience. A full ring is backpressure: tryReserve returns
 * null, reserveSync/reserveAsync wait; nothing is ever dropped.
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
  ringUsed,
  ringViews,
} from './ring-layout.js';
import { sleepAsync, sleepSync, sliceFor, type RingWaitOutcome } from './ring-wait.js';

const NONE = -1;

export class RingProducer {
  /** Largest payload one message may carry. */
  readonly messageBytesMax: number;
  readonly capacityBytes: number;
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private readonly words: Uint32Array;
  private write: number;
  private reservedIndex = NONE;
  private reservedLength = 0;
  /** Messages were published without waking the consumer. */
  private wakePending = false;

  constructor(sab: SharedArrayBuffer) {
    const v = ringViews(sab);
    this.control = v.control;
    this.data = v.data;
    this.words = v.words;
    this.capacityBytes = v.capacityBytes;
    this.messageBytesMax = ringMessageBytesMax(v.capacityBytes);
    this.write = Atomics.load(v.control, SLOT_WRITE);
  }

  get closed(): boolean {
    return Atomics.load(this.control, SLOT_CLOSED) !== 0;
  }

  /** Bytes free right now (a message needs ringMessageFootprint(n), plus a pad at the wrap). */
  get freeBytes(): number {
    return this.capacityBytes - ringUsed(this.write, Atomics.load(this.control, SLOT_READ), this.capacityBytes);
  }

  /** A view of `length` bytes to fill, or null when the ring is too full now. */
  tryReserve(length: number, tag: number): Uint8Array | null {
    this.checkReservable(length);
    const cap = this.capacityBytes;
    const need = ringMessageFootprint(length);
    let free = cap - ringUsed(this.write, Atomics.load(this.control, SLOT_READ), cap);
    let index = ringIndex(this.write, cap);
    const contiguous = cap - index;
    if (need > contiguous) {
      if (free < contiguous) return null;
      this.words[index >> 2] = RING_PAD_LENGTH;
      this.publish(ringAdvance(this.write, contiguous, cap));
      free -= contiguous;
      index = 0;
    }
    if (free < need) return null;
    this.words[index >> 2] = length;
    this.words[(index >> 2) + 1] = tag >>> 0;
    this.reservedIndex = index;
    this.reservedLength = length;
    const start = index + RING_MESSAGE_HEADER_BYTES;
    return this.data.subarray(start, start + length);
  }

  /**
   * Publishes the open reservation; `length` may shrink it (not grow it).
   * With `wake = false` a sleeping consumer is not woken yet: call wake()
   * after the last message of a burst, so it wakes once for the burst (the
   * ring also wakes it before this producer itself waits for space).
   */
  commit(length: number = this.reservedLength, wake = true): void {
    if (this.reservedIndex === NONE) throw new RingError('NO_RESERVATION', 'commit() without an open reservation');
    if (!Number.isInteger(length) || length < 0 || length > this.reservedLength) {
      throw new RangeError(`commit length ${length} is outside the reservation of ${this.reservedLength} bytes`);
    }
    if (length !== this.reservedLength) this.words[this.reservedIndex >> 2] = length;
    this.reservedIndex = NONE;
    this.publish(ringAdvance(this.write, ringMessageFootprint(length), this.capacityBytes), wake);
  }

  /** Wakes the consumer if it sleeps (after commits made with wake = false). */
  wake(): void {
    this.wakePending = false;
    // Clearing the flag as we notify means one notify per sleep, however many messages follow.
    if (Atomics.compareExchange(this.control, SLOT_CONSUMER_IDLE, 1, 0) === 1) Atomics.notify(this.control, SLOT_WRITE);
  }

  /** Drops the open reservation without publishing it. */
  abort(): void {
    this.reservedIndex = NONE;
  }

  /** Reserve, waiting (blocking this thread, for workers) for space; throws RingError CLOSED, or returns null on timeout. */
  reserveSync(length: number, tag: number, timeoutMs = Infinity): Uint8Array | null {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const view = this.spinReserve(length, tag);
      if (view !== null) return view;
      if (this.closed) throw new RingError('CLOSED', 'ring closed while waiting for space');
      if (this.wakePending) this.wake(); // the consumer must be awake to make room
      const slice = sliceFor(deadline);
      if (slice <= 0) return null;
      sleepSync(this.control, SLOT_READ, SLOT_PRODUCER_IDLE, Atomics.load(this.control, SLOT_READ), slice);
    }
  }

  /** Reserve, waiting asynchronously (Atomics.waitAsync; the event loop keeps running). */
  async reserveAsync(length: number, tag: number, timeoutMs = Infinity): Promise<Uint8Array | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const view = this.spinReserve(length, tag);
      if (view !== null) return view;
      if (this.closed) throw new RingError('CLOSED', 'ring closed while waiting for space');
      if (this.wakePending) this.wake(); // the consumer must be awake to make room
      const slice = sliceFor(deadline);
      if (slice <= 0) return null;
      await sleepAsync(this.control, SLOT_READ, SLOT_PRODUCER_IDLE, Atomics.load(this.control, SLOT_READ), slice);
    }
  }

  /** Copies `bytes` in as one message if it fits now; false when the ring is too full. */
  tryWrite(bytes: Uint8Array, tag: number): boolean {
    const view = this.tryReserve(bytes.length, tag);
    if (view === null) return false;
    view.set(bytes);
    this.commit();
    return true;
  }

  /** Waits until `bytes` would fit (async), without reserving. */
  async waitForSpaceAsync(length: number, timeoutMs = Infinity): Promise<RingWaitOutcome> {
    const view = await this.reserveAsync(length, 0, timeoutMs);
    if (view === null) return 'timed-out';
    this.abort();
    return 'ready';
  }

  /** Marks the ring closed and wakes the consumer. */
  close(): void {
    Atomics.store(this.control, SLOT_CLOSED, 1);
    Atomics.notify(this.control, SLOT_WRITE);
    Atomics.notify(this.control, SLOT_READ);
  }

  private spinReserve(length: number, tag: number): Uint8Array | null {
    for (let i = 0; i < RING_SPIN_MAX; i++) {
      const view = this.tryReserve(length, tag);
      if (view !== null || this.closed) return view;
    }
    return null;
  }

  private checkReservable(length: number): void {
    if (this.reservedIndex !== NONE) throw new RingError('RESERVATION_OPEN', 'commit() or abort() the previous reservation first');
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`message length must be a non-negative integer, got ${length}`);
    if (length > this.messageBytesMax) {
      throw new RingError(
        'MESSAGE_TOO_LARGE',
        `message of ${length} bytes exceeds this ring's limit of ${this.messageBytesMax} bytes (capacity ${this.capacityBytes})`,
      );
    }
    if (this.closed) throw new RingError('CLOSED', 'ring is closed');
  }

  private publish(write: number, wake = true): void {
    this.write = write;
    Atomics.store(this.control, SLOT_WRITE, write);
    if (wake) this.wake();
    else this.wakePending = true;
  }
}
