/**
 * fast-check generators of valid frames and helpers to split byte streams.
 */
import fc from 'fast-check';
import { encodeFrameBytes, type OutFrame } from '../../src/protocol/frame.js';

export const headerArb = fc.dictionary(
  // msgpackr drops a "__proto__" key on decode (prototype pollution guard), so it cannot round-trip.
  fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__'),
  fc.oneof(fc.integer(), fc.string({ maxLength: 40 }), fc.boolean(), fc.constant(null), fc.array(fc.integer({ min: 0, max: 1e9 }), { maxLength: 5 })),
  { maxKeys: 6, noNullPrototype: true },
);

/** Bodies are runs of 8-byte-aligned bytes, like record runs. */
export const bodyArb = fc.array(fc.uint8Array({ minLength: 0, maxLength: 200 }).map((b) => {
  const out = new Uint8Array((b.length + 7) & ~7);
  out.set(b);
  return out;
}), { maxLength: 3 });

export const frameArb: fc.Arbitrary<OutFrame> = fc.record({
  version: fc.constant(1),
  flags: fc.integer({ min: 0, max: 3 }),
  op: fc.integer({ min: 0, max: 0xffff }),
  requestId: fc.integer({ min: 0, max: 0xffff_ffff }),
  header: headerArb,
  body: bodyArb,
});

export function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function streamOf(frames: OutFrame[]): Uint8Array {
  return concat(frames.map(encodeFrameBytes));
}

/** Splits bytes at the given cut points (any values; taken modulo the length, sorted). */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    if (p > prev) out.push(bytes.slice(prev, p));
    prev = Math.max(prev, p);
  }
  out.push(bytes.slice(prev));
  return out;
}
