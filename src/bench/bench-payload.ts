/**
 * The bench's record payloads. Every payload starts with a 24-byte header
 * the consumer checks on every record, so the bench cannot "win" by losing,
 * duplicating or corrupting data:
 *
 *   0  u32  magic 0x4E4C4231 ("NLB1")
 *   4  u32  producer index
 *   8  f64  per-producer counter (0, 1, 2, ...)
 *  16  f64  intended send time (performance.now() ms in the bench process)
 *
 * The rest is a fixed pseudo-random body (incompressible, the same for every
 * record), so a sampled payload is verified byte for byte with one compare.
 *
 * Payloads live in a slab of reusable slots: a slot's bytes are rewritten
 * only after the send that used it was acked, so the producer does not
 * allocate or copy a whole record per send (only the 24-byte header changes).
 */

export const PAYLOAD_HEADER_BYTES = 24;
export const PAYLOAD_MAGIC = 0x4e4c4231;

export interface PayloadHeader {
  producer: number;
  counter: number;
  intendedMs: number;
}

/** A deterministic incompressible body of `bytes` bytes (xorshift32). */
export function payloadTemplate(bytes: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export class PayloadSlab {
  readonly slots: number;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly values: Uint8Array[];

  constructor(readonly recordBytes: number, slots: number, readonly template: Uint8Array) {
    if (template.length !== recordBytes) throw new RangeError('template length must equal recordBytes');
    this.slots = slots;
    this.buf = new Uint8Array(recordBytes * slots);
    for (let s = 0; s < slots; s++) this.buf.set(template, s * recordBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.values = [];
    for (let s = 0; s < slots; s++) this.values.push(this.buf.subarray(s * recordBytes, (s + 1) * recordBytes));
  }

  /** Stamps the header into slot `slot` and returns the slot's bytes (a view, not a copy). */
  fill(slot: number, producer: number, counter: number, intendedMs: number): Uint8Array {
    const off = slot * this.recordBytes;
    this.view.setUint32(off, PAYLOAD_MAGIC, true);
    this.view.setUint32(off + 4, producer, true);
    this.view.setFloat64(off + 8, counter, true);
    this.view.setFloat64(off + 16, intendedMs, true);
    return this.values[slot]!;
  }
}

/**
 * Reads payload headers without allocating: the 24 header bytes are copied
 * into a scratch buffer and the fields are left on the reader.
 */
export class PayloadHeaderReader implements PayloadHeader {
  producer = 0;
  counter = 0;
  intendedMs = 0;
  private readonly scratch = new Uint8Array(PAYLOAD_HEADER_BYTES);
  private readonly view = new DataView(this.scratch.buffer);

  /** True (fields set) when `value` starts with a bench header. */
  read(value: Uint8Array): boolean {
    if (value.length < PAYLOAD_HEADER_BYTES) return false;
    const scratch = this.scratch;
    for (let i = 0; i < PAYLOAD_HEADER_BYTES; i++) scratch[i] = value[i]!; // no subarray per record
    if (this.view.getUint32(0, true) !== PAYLOAD_MAGIC) return false;
    this.producer = this.view.getUint32(4, true);
    this.counter = this.view.getFloat64(8, true);
    this.intendedMs = this.view.getFloat64(16, true);
    return true;
  }
}

/** Reads the bench header of a consumed payload, or null when it is not one of ours. */
export function readPayloadHeader(value: Uint8Array): PayloadHeader | null {
  if (value.length < PAYLOAD_HEADER_BYTES) return null;
  const v = new DataView(value.buffer, value.byteOffset, PAYLOAD_HEADER_BYTES);
  if (v.getUint32(0, true) !== PAYLOAD_MAGIC) return null;
  return { producer: v.getUint32(4, true), counter: v.getFloat64(8, true), intendedMs: v.getFloat64(16, true) };
}

/** True when the body after the header equals the template byte for byte (and the length matches). */
export function payloadBodyMatches(value: Uint8Array, template: Uint8Array): boolean {
  if (value.length !== template.length) return false;
  return Buffer.from(value.buffer, value.byteOffset + PAYLOAD_HEADER_BYTES, value.length - PAYLOAD_HEADER_BYTES).equals(
    Buffer.from(template.buffer, template.byteOffset + PAYLOAD_HEADER_BYTES, template.length - PAYLOAD_HEADER_BYTES),
  );
}
