/**
 * Memory layout of a single-producer/single-consumer ring over one
 * SharedArrayBuffer. Everything that indexes the buffer is defined here.
 *
 *   SharedArrayBuffer: [ control: RING_CONTROL_BYTES ][ data: capacityBytes ]
 *
 *   control, as an Int32Array (4-byte slots; the two cursors sit on separate
 *   64-byte cache lines so producer and consumer do not false-share):
 *
 *     slot  owner     name               meaning
 *     ----  --------  -----------------  ------------------------------------------
 *        0  producer  SLOT_WRITE         write cursor, in [0, 2 * capacityBytes)
 *        1  consumer  SLOT_CONSUMER_IDLE 1 while the consumer sleeps on SLOT_WRITE
 *        2  either    SLOT_CLOSED        1 once either side closed the ring
 *        3  creator   SLOT_CAPACITY      capacityBytes (written once, read-only)
 *       16  consumer  SLOT_READ          read cursor, in [0, 2 * capacityBytes)
 *       17  producer  SLOT_PRODUCER_IDLE 1 while the producer sleeps on SLOT_READ
 *
 *   Cursors run over [0, 2 * capacity) (the "mirrored index" scheme), so a
 *   full ring (write - read == capacity) and an empty one (write == read) are
 *   told apart without a wasted slot, and capacity need not be a power of two.
 *   The data index of a cursor is cursor mod capacity.
 *
 *   data: a run of messages, each starting at an 8-aligned data offset:
 *
 *     off  size  field
 *       0     4  length u32  payload bytes, or RING_PAD_LENGTH for a wrap pad
 *       4     4  tag u32     caller's message kind (opaque to the ring)
 *       8     .  payload     `length` bytes, then junk padding to a multiple of 8
 *
 *   Wrap: a message is always contiguous. When the bytes left before the end
 *   of the data area cannot hold the next message, the producer writes a pad
 *   header (length = RING_PAD_LENGTH) there and continues at data offset 0;
 *   the consumer skips a pad by jumping to offset 0 (the pad's bytes count as
 *   used until then, so a message that needs them waits for the consumer,
 *   like any full-ring wait). Because capacity and all
 *   message sizes are multiples of 8, at least 8 bytes (a header) always
 *   remain before the end, so a pad header always fits.
 *
 *   Publication: the producer writes header and payload with plain stores,
 *   then publishes with Atomics.store(SLOT_WRITE); the consumer reads
 *   SLOT_WRITE with Atomics.load before touching the bytes (and symmetrically
 *   for SLOT_READ). Atomics are sequentially consistent, which orders the
 *   plain accesses around them.
 */

export const RING_CONTROL_BYTES = 128;
export const SLOT_WRITE = 0;
export const SLOT_CONSUMER_IDLE = 1;
export const SLOT_CLOSED = 2;
export const SLOT_CAPACITY = 3;
export const SLOT_READ = 16;
export const SLOT_PRODUCER_IDLE = 17;

export const RING_MESSAGE_HEADER_BYTES = 8;
export const RING_ALIGN_BYTES = 8;
/** Header length value marking a wrap pad (skip to data offset 0). */
export const RING_PAD_LENGTH = 0xffff_ffff;

/** Smallest data area: one header plus one 8-byte payload. */
export const RING_CAPACITY_MIN_BYTES = 16;
/** Largest data area; keeps 2 * capacity inside a positive Int32. */
export const RING_CAPACITY_MAX_BYTES = 1 << 30;
/** Times a waiting side re-checks the other's cursor before it sleeps. */
export const RING_SPIN_MAX = 64;

export function ringAlign(n: number): number {
  return (n + (RING_ALIGN_BYTES - 1)) & ~(RING_ALIGN_BYTES - 1);
}

/** Ring bytes one message of `payloadBytes` occupies (header and padding included). */
export function ringMessageFootprint(payloadBytes: number): number {
  return RING_MESSAGE_HEADER_BYTES + ringAlign(payloadBytes);
}

/** Largest payload a ring with this data capacity accepts. */
export function ringMessageBytesMax(capacityBytes: number): number {
  return capacityBytes - RING_MESSAGE_HEADER_BYTES;
}

/** Data capacity needed so that one message of `payloadBytes` fits. */
export function ringCapacityFor(payloadBytes: number): number {
  return ringMessageFootprint(payloadBytes);
}

/** Allocates and initialises the SharedArrayBuffer of a ring with `capacityBytes` of data. */
export function createRingBuffer(capacityBytes: number): SharedArrayBuffer {
  if (!Number.isInteger(capacityBytes) || capacityBytes % RING_ALIGN_BYTES !== 0) {
    throw new RangeError(`ring capacity must be a multiple of ${RING_ALIGN_BYTES} bytes, got ${capacityBytes}`);
  }
  if (capacityBytes < RING_CAPACITY_MIN_BYTES || capacityBytes > RING_CAPACITY_MAX_BYTES) {
    throw new RangeError(
      `ring capacity must be between ${RING_CAPACITY_MIN_BYTES} and ${RING_CAPACITY_MAX_BYTES} bytes, got ${capacityBytes}`,
    );
  }
  const sab = new SharedArrayBuffer(RING_CONTROL_BYTES + capacityBytes);
  new Int32Array(sab, 0, RING_CONTROL_BYTES / 4)[SLOT_CAPACITY] = capacityBytes;
  return sab;
}

/** The typed views both ends share; built from a buffer made by createRingBuffer. */
export interface RingViews {
  control: Int32Array;
  data: Uint8Array;
  /** The data area as u32 words, for message headers. */
  words: Uint32Array;
  capacityBytes: number;
}

export function ringViews(sab: SharedArrayBuffer): RingViews {
  if (!(sab instanceof SharedArrayBuffer)) throw new TypeError('a ring needs a SharedArrayBuffer');
  const control = new Int32Array(sab, 0, RING_CONTROL_BYTES / 4);
  const capacityBytes = Atomics.load(control, SLOT_CAPACITY);
  if (capacityBytes < RING_CAPACITY_MIN_BYTES || RING_CONTROL_BYTES + capacityBytes !== sab.byteLength) {
    throw new RangeError(`buffer is not a ring: capacity slot says ${capacityBytes}, buffer has ${sab.byteLength} bytes`);
  }
  return {
    control,
    data: new Uint8Array(sab, RING_CONTROL_BYTES, capacityBytes),
    words: new Uint32Array(sab, RING_CONTROL_BYTES, capacityBytes / 4),
    capacityBytes,
  };
}

/** Bytes in use between a read and a write cursor. */
export function ringUsed(write: number, read: number, capacityBytes: number): number {
  const d = write - read;
  return d < 0 ? d + 2 * capacityBytes : d;
}

/** Data offset of a cursor. */
export function ringIndex(cursor: number, capacityBytes: number): number {
  return cursor >= capacityBytes ? cursor - capacityBytes : cursor;
}

/** Moves a cursor forward by n bytes. */
export function ringAdvance(cursor: number, n: number, capacityBytes: number): number {
  const next = cursor + n;
  return next >= 2 * capacityBytes ? next - 2 * capacityBytes : next;
}
