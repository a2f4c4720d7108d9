/**
 * Test helper (not a test): a seeded message generator and a sequence
 * verifier, usable on either side of a ring (main thread or worker).
 *
 * Message i has a length drawn from a seeded xorshift32 stream in
 * [0, maxBytes], and its bytes are a slice of a seeded pattern at a drawn
 * offset, with i written little-endian over the first 4 bytes when length >= 4.
 * The verifier redraws the same stream, so order, length and every byte are
 * checked.
 */
import { RingConsumer, RingProducer } from '../../src/ring/index.js';

export const PATTERN_BYTES = 1 << 16;

export interface TrafficOptions {
  seed: number;
  count: number;
  maxBytes: number;
  /** Pause pauseMs after every pauseEvery messages (0 = never): makes this side the slow one. */
  pauseEvery?: number;
  pauseMs?: number;
}

export interface TrafficReport {
  messages: number;
  bytes: number;
  mismatches: number;
  firstMismatch: number;
  /** Times this side found the ring full (producer) or empty (consumer) and had to wait. */
  waits: number;
}

export class Xorshift32 {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
}

export function makePattern(seed: number): Uint8Array {
  const rng = new Xorshift32(seed ^ 0x5bd1e995);
  const p = new Uint8Array(PATTERN_BYTES);
  for (let i = 0; i < p.length; i++) p[i] = rng.next() & 0xff;
  return p;
}

export class MessageStream {
  private readonly rng: Xorshift32;
  readonly pattern: Uint8Array;
  length = 0;
  offset = 0;
  constructor(seed: number, private readonly maxBytes: number) {
    if (maxBytes > PATTERN_BYTES) throw new RangeError(`maxBytes ${maxBytes} > ${PATTERN_BYTES}`);
    this.rng = new Xorshift32(seed);
    this.pattern = makePattern(seed);
  }
  /** Draws the next message's length and pattern offset. */
  advance(): void {
    this.length = this.rng.next() % (this.maxBytes + 1);
    this.offset = this.rng.next() % (PATTERN_BYTES - this.length + 1);
  }
  fill(view: Uint8Array, index: number): void {
    view.set(this.pattern.subarray(this.offset, this.offset + this.length));
    if (this.length >= 4) new DataView(view.buffer, view.byteOffset, 4).setUint32(0, index, true);
  }
  matches(view: Uint8Array, index: number): boolean {
    if (view.length !== this.length) return false;
    if (this.length >= 4 && new DataView(view.buffer, view.byteOffset, 4).getUint32(0, true) !== index >>> 0) return false;
    const from = Math.min(4, this.length);
    const got = Buffer.from(view.buffer, view.byteOffset + from, this.length - from);
    return got.equals(this.pattern.subarray(this.offset + from, this.offset + this.length));
  }
}

function newReport(): TrafficReport {
  return { messages: 0, bytes: 0, mismatches: 0, firstMismatch: -1, waits: 0 };
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function pauseSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function produceSync(p: RingProducer, o: TrafficOptions): TrafficReport {
  const s = new MessageStream(o.seed, o.maxBytes);
  const r = newReport();
  for (let i = 0; i < o.count; i++) {
    s.advance();
    let view = p.tryReserve(s.length, i);
    if (view === null) {
      r.waits++;
      view = p.reserveSync(s.length, i)!;
    }
    s.fill(view, i);
    p.commit();
    r.messages++;
    r.bytes += s.length;
    if (o.pauseEvery && (i + 1) % o.pauseEvery === 0) pauseSync(o.pauseMs ?? 1);
  }
  return r;
}

export async function produceAsync(p: RingProducer, o: TrafficOptions): Promise<TrafficReport> {
  const s = new MessageStream(o.seed, o.maxBytes);
  const r = newReport();
  for (let i = 0; i < o.count; i++) {
    s.advance();
    let view = p.tryReserve(s.length, i);
    if (view === null) {
      r.waits++;
      view = (await p.reserveAsync(s.length, i))!;
    }
    s.fill(view, i);
    p.commit();
    r.messages++;
    r.bytes += s.length;
    if (o.pauseEvery && (i + 1) % o.pauseEvery === 0) await new Promise((res) => setTimeout(res, o.pauseMs ?? 1));
  }
  return r;
}

/** How many messages a consumer holds before release() (exercises batched release). */
const RELEASE_EVERY = 32;

function check(s: MessageStream, r: TrafficReport, tag: number, bytes: Uint8Array): void {
  s.advance();
  const i = r.messages;
  if (tag !== i >>> 0 || !s.matches(bytes, i)) {
    r.mismatches++;
    if (r.firstMismatch < 0) r.firstMismatch = i;
  }
  r.messages++;
  r.bytes += bytes.length;
}

export function consumeSync(c: RingConsumer, o: TrafficOptions): TrafficReport {
  const s = new MessageStream(o.seed, o.maxBytes);
  const r = newReport();
  while (r.messages < o.count) {
    const m = c.tryRead();
    if (m === null) {
      c.release();
      r.waits++;
      if (c.waitSync(10_000) !== 'ready') break;
      continue;
    }
    check(s, r, m.tag, m.bytes);
    if (r.messages % RELEASE_EVERY === 0) c.release();
    if (o.pauseEvery && r.messages % o.pauseEvery === 0) pauseSync(o.pauseMs ?? 1);
  }
  c.release();
  return r;
}

export async function consumeAsync(c: RingConsumer, o: TrafficOptions): Promise<TrafficReport> {
  const s = new MessageStream(o.seed, o.maxBytes);
  const r = newReport();
  while (r.messages < o.count) {
    const m = c.tryRead();
    if (m === null) {
      c.release();
      r.waits++;
      if ((await c.waitAsync(10_000)) !== 'ready') break;
      continue;
    }
    check(s, r, m.tag, m.bytes);
    if (r.messages % RELEASE_EVERY === 0) c.release();
    if (o.pauseEvery && r.messages % o.pauseEvery === 0) await new Promise((res) => setTimeout(res, o.pauseMs ?? 1));
  }
  c.release();
  return r;
}
