/**
 * fast-check arbitraries of malformed frames (docs/PROTOCOL.md frame layout:
 * frameLength u32, version u8, flags u8, op u16, requestId u32, headerLength
 * u32, msgpack header, pad to 8, body), each with the answer the node owes:
 *
 *   non-fatal (the connection stays open, one answer per frame):
 *     unknown ops, unknown flag bits, header length past the frame end,
 *     header length over HEADER_BYTES_MAX, invalid msgpack, fields of the
 *     wrong type, a version other than the negotiated one, unknown streams
 *     and shards, out-of-range seqs, appends whose parts do not cover the
 *     body, appends of records with a wrong CRC, a wrong length, a cut tail
 *     (per-part BAD_RECORD / RECORD_TOO_LARGE, nothing written), random junk;
 *   fatal (an error answer, then the node closes):
 *     frame length over frameBytesMax, frame length below the 16-byte
 *     prefix, any request before hello;
 *   truncated (we end the stream mid-frame): the node closes.
 */
import fc from 'fast-check';
import { encodeRecord } from '../../../src/record/record.js';
import { packHeader } from '../../../src/protocol/frame.js';
import { HEADER_BYTES_MAX } from '../../../src/protocol/limits.js';
import { OP } from '../../../src/protocol/ops.js';

export type Expect =
  | { kind: 'error'; names: readonly string[] | null }
  | { kind: 'append-error'; names: readonly string[] };

export interface HostileFrame {
  family: string;
  expect: Expect;
  make(requestId: number): Uint8Array;
}

export type FatalKind = 'oversized' | 'undersized' | 'truncated';

export interface FatalFrame {
  family: FatalKind;
  /** Error name owed before the close (null: only the close). */
  errorName: string | null;
  make(requestId: number): Uint8Array;
}

/** The stream hostile appends target; it must still be empty at the end. */
export const HOSTILE_STREAM = 'hostile';
export const HOSTILE_NS = 'torture';

interface RawParts {
  frameLength?: number;
  version?: number;
  flags?: number;
  op: number;
  headerLength?: number;
  header: Uint8Array;
  body?: Uint8Array;
}

/** A frame with any field forced to any value (lengths computed unless given). */
export function rawFrame(p: RawParts, requestId: number): Uint8Array {
  const hl = p.header.length;
  const start = (16 + hl + 7) & ~7;
  const body = p.body ?? new Uint8Array(0);
  const bytes = new Uint8Array(start + body.length);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, p.frameLength ?? bytes.length, true);
  dv.setUint8(4, p.version ?? 1);
  dv.setUint8(5, p.flags ?? 0);
  dv.setUint16(6, p.op, true);
  dv.setUint32(8, requestId >>> 0, true);
  dv.setUint32(12, p.headerLength ?? hl, true);
  bytes.set(p.header, 16);
  bytes.set(body, start);
  return bytes;
}

const KNOWN_OPS = Object.values(OP) as number[];
const REQUEST_OPS = KNOWN_OPS.filter((o) => o !== OP.HELLO);
const h = (v: unknown) => packHeader(v);
const err = (...names: string[]): Expect => ({ kind: 'error', names });

const unknownOp = fc.integer({ min: 0, max: 0xffff }).filter((op) => !KNOWN_OPS.includes(op)).map((op): HostileFrame => ({
  family: 'unknown-op', expect: err('UNKNOWN_OP'), make: (id) => rawFrame({ op, header: h({}) }, id),
}));

const badFlags = fc.tuple(fc.integer({ min: 4, max: 255 }), fc.constantFrom(...REQUEST_OPS)).map(([flags, op]): HostileFrame => ({
  family: 'unknown-flags', expect: err('BAD_FRAME'), make: (id) => rawFrame({ op, flags, header: h({ namespace: HOSTILE_NS, name: HOSTILE_STREAM }) }, id),
}));

const headerOverrun = fc.tuple(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: HEADER_BYTES_MAX - 64 }), fc.constantFrom(...REQUEST_OPS)).map(([k, extra, op]): HostileFrame => ({
  family: 'header-overrun',
  expect: err('BAD_FRAME'),
  make: (id) => rawFrame({ op, header: new Uint8Array(k), headerLength: k + extra, frameLength: 16 + k }, id).subarray(0, 16 + k),
}));

const headerTooLarge = fc.tuple(fc.integer({ min: HEADER_BYTES_MAX + 1, max: 0xffff_ffff }), fc.integer({ min: 0, max: 32 })).map(([hl, k]): HostileFrame => ({
  family: 'header-too-large',
  expect: err('HEADER_TOO_LARGE'),
  make: (id) => rawFrame({ op: OP.LIST_STREAMS, header: new Uint8Array(k), headerLength: hl, frameLength: 16 + k }, id).subarray(0, 16 + k),
}));

const badMsgpack = fc.tuple(fc.constantFrom(...REQUEST_OPS), fc.uint8Array({ minLength: 1, maxLength: 24 })).map(([op, trailing]): HostileFrame => ({
  family: 'bad-msgpack',
  expect: err('BAD_REQUEST'),
  make: (id) => {
    const valid = h({ namespace: HOSTILE_NS, name: HOSTILE_STREAM });
    const hdr = new Uint8Array(valid.length + trailing.length);
    hdr.set(valid);
    hdr.set(trailing, valid.length); // a whole value followed by more bytes is not one msgpack value
    return rawFrame({ op, header: hdr }, id);
  },
}));

const nonString = fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.constant({ x: 1 }), fc.double());
const wrongTypes = fc.oneof(
  fc.tuple(fc.constantFrom(OP.CREATE_STREAM, OP.DELETE_STREAM, OP.DESCRIBE_STREAM, OP.APPEND, OP.FETCH, OP.SEQ_FOR_TIME), nonString).map(([op, name]): HostileFrame => ({
    family: 'wrong-type-name', expect: err('BAD_REQUEST'), make: (id) => rawFrame({ op, header: h({ namespace: HOSTILE_NS, name }) }, id),
  })),
  fc.tuple(fc.constantFrom(...REQUEST_OPS), fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.array(fc.integer(), { maxLength: 3 }), fc.constant(null))).map(([op, header]): HostileFrame => ({
    family: 'header-not-a-map', expect: err('BAD_REQUEST'), make: (id) => rawFrame({ op, header: h(header) }, id),
  })),
  fc.tuple(fc.oneof(fc.string({ maxLength: 4 }), fc.double().filter((d) => !Number.isInteger(d)), fc.constant(-1), fc.constant(2 ** 60)), fc.constantFrom('shard', 'fromSeq', 'maxBytes', 'maxWaitMs')).map(([bad, field]): HostileFrame => ({
    family: 'fetch-bad-field',
    expect: err('BAD_REQUEST'),
    make: (id) => rawFrame({ op: OP.FETCH, header: h({ namespace: HOSTILE_NS, name: HOSTILE_STREAM, shard: 0, fromSeq: 0, maxBytes: 1024, maxWaitMs: 0, [field]: bad }) }, id),
  })),
);

const wrongVersion = fc.integer({ min: 0, max: 255 }).filter((v) => v !== 1).map((version): HostileFrame => ({
  family: 'wrong-version', expect: err('UNSUPPORTED_VERSION'), make: (id) => rawFrame({ op: OP.LIST_STREAMS, version, header: h({}) }, id),
}));

const unknownThings = fc.oneof(
  fc.tuple(fc.constantFrom(OP.DESCRIBE_STREAM, OP.FETCH, OP.APPEND, OP.DELETE_STREAM), fc.stringMatching(/^[a-z]{1,12}$/)).map(([op, s]): HostileFrame => ({
    family: 'unknown-stream',
    expect: err('UNKNOWN_STREAM'),
    make: (id) => rawFrame({ op, header: h({ namespace: HOSTILE_NS, name: `nope-${s}`, shard: 0, fromSeq: 0, maxBytes: 1024, maxWaitMs: 0, parts: [] }) }, id),
  })),
  fc.integer({ min: 1, max: 1_000_000 }).map((shard): HostileFrame => ({
    family: 'unknown-shard',
    expect: err('UNKNOWN_SHARD'),
    make: (id) => rawFrame({ op: OP.FETCH, header: h({ namespace: HOSTILE_NS, name: HOSTILE_STREAM, shard, fromSeq: 0, maxBytes: 1024, maxWaitMs: 0 }) }, id),
  })),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map((fromSeq): HostileFrame => ({
    family: 'seq-out-of-range',
    expect: err('OUT_OF_RANGE'),
    make: (id) => rawFrame({ op: OP.FETCH, header: h({ namespace: HOSTILE_NS, name: HOSTILE_STREAM, shard: 0, fromSeq, maxBytes: 1024, maxWaitMs: 0 }) }, id),
  })),
);

const goodRecord = fc.uint8Array({ maxLength: 200 }).map((payload) => encodeRecord({ payload }));

/** A valid record made invalid: a flipped bit in CRC-covered bytes, a bad length, or a cut tail. */
const badRecord = fc.tuple(goodRecord, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.constantFrom('flip', 'length', 'cut'), fc.nat()).map(([rec, at, bit, how, n]) => {
  const r = rec.slice();
  const dv = new DataView(r.buffer);
  if (how === 'flip') {
    const covered = [0, 1, 2, 3, 4, 5, 6, 7, ...Array.from({ length: r.length - 32 }, (_, i) => 32 + i)];
    const pos = covered[at % covered.length]!;
    r[pos]! ^= 1 << bit;
    return r;
  }
  if (how === 'length') {
    const choices = [n % 80, r.length + 1 + (n % 7), r.length + 8 * (1 + (n % 1000)), 0xffff_fff8, r.length - 8];
    dv.setUint32(0, choices[n % choices.length]! >>> 0, true);
    return r;
  }
  return r.subarray(0, Math.max(8, (r.length - 8 - (n % (r.length - 8))) & ~7));
});

const badAppend = fc.array(fc.tuple(fc.array(goodRecord, { maxLength: 3 }), badRecord, fc.array(goodRecord, { maxLength: 2 })), { minLength: 1, maxLength: 3 }).map((parts): HostileFrame => ({
  family: 'append-bad-records',
  expect: { kind: 'append-error', names: ['BAD_RECORD', 'RECORD_TOO_LARGE'] },
  make: (id) => {
    const bodies = parts.map(([before, bad, after]) => concat([...before, bad, ...after]));
    const body = concat(bodies.map(pad8));
    return rawFrame({ op: OP.APPEND, header: h({ namespace: HOSTILE_NS, name: HOSTILE_STREAM, parts: bodies.map((b) => ({ shard: 0, bytes: pad8(b).length })) }), body }, id);
  },
}));

const partsMismatch = fc.tuple(goodRecord, fc.integer({ min: 1, max: 64 })).map(([rec, d]): HostileFrame => ({
  family: 'append-parts-mismatch',
  expect: err('BAD_REQUEST'),
  make: (id) => rawFrame({ op: OP.APPEND, header: h({ namespace: HOSTILE_NS, name: HOSTILE_STREAM, parts: [{ shard: 0, bytes: rec.length + d * 8 }] }), body: rec }, id),
}));

/** Random prefix fields and bytes, with an op no request uses (so no junk can ever be a valid request). */
const junk = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 9, max: 0xffff }), fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 400 })).map(
  ([version, flags, op, header, headerLength]): HostileFrame => ({
    family: 'junk', expect: { kind: 'error', names: null }, make: (id) => rawFrame({ op, version, flags, header, headerLength: Math.min(headerLength, header.length + 64) }, id),
  }),
);

export const nonFatalFrame: fc.Arbitrary<HostileFrame> = fc.oneof(
  unknownOp, badFlags, headerOverrun, headerTooLarge, badMsgpack, wrongTypes, wrongVersion, unknownThings, badAppend, partsMismatch, junk,
);

export function fatalFrame(frameBytesMax: number): fc.Arbitrary<FatalFrame> {
  return fc.oneof(
    fc.integer({ min: frameBytesMax + 1, max: 0xffff_ffff }).map((len): FatalFrame => ({
      family: 'oversized', errorName: 'FRAME_TOO_LARGE', make: (id) => rawFrame({ op: OP.APPEND, header: h({}), frameLength: len }, id),
    })),
    fc.integer({ min: 0, max: 15 }).map((len): FatalFrame => ({
      family: 'undersized', errorName: 'BAD_FRAME', make: (id) => rawFrame({ op: OP.FETCH, header: h({}), frameLength: len }, id),
    })),
    fc.tuple(fc.constantFrom(...REQUEST_OPS), fc.integer({ min: 1, max: 15 })).map(([op, keep]): FatalFrame => ({
      family: 'truncated', errorName: null, make: (id) => rawFrame({ op, header: h({ namespace: HOSTILE_NS, name: HOSTILE_STREAM }) }, id).subarray(0, keep),
    })),
  );
}

/** A request sent before hello: HELLO_REQUIRED, then the node closes. */
export const preHelloFrame = fc.constantFrom(...REQUEST_OPS, 0, 999).map((op) => (id: number) => rawFrame({ op, header: h({}) }, id));

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function pad8(b: Uint8Array): Uint8Array {
  if (b.length % 8 === 0) return b;
  const out = new Uint8Array((b.length + 7) & ~7);
  out.set(b);
  return out;
}
