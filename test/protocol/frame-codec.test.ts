import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, type DecodeResult } from '../../src/protocol/frame-decoder.js';
import { FRAME_PREFIX_BYTES, encodeFrameBytes, unpackHeader, type Frame, type OutFrame } from '../../src/protocol/frame.js';
import { frameArb, concat, splitAt, streamOf } from './frame-arbitraries.js';

const limits = { frameBytesMax: 1 << 20, headerBytesMax: 4096 };

function drain(d: FrameDecoder): DecodeResult[] {
  const out: DecodeResult[] = [];
  for (let r = d.next(); r !== null; r = d.next()) out.push(r);
  return out;
}

function assertSame(got: Frame, want: OutFrame): void {
  assert.equal(got.version, want.version);
  assert.equal(got.flags, want.flags);
  assert.equal(got.op, want.op);
  assert.equal(got.requestId, want.requestId);
  assert.deepEqual(unpackHeader(got.header), want.header);
  assert.deepEqual(Buffer.from(got.body), Buffer.from(concat(want.body ?? [])));
}

test('frames split at arbitrary points decode to the frames that were encoded, bodies 8-aligned', () => {
  fc.assert(
    fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
      const d = new FrameDecoder(limits);
      const got: DecodeResult[] = [];
      for (const chunk of splitAt(streamOf(frames), cuts)) {
        d.push(chunk);
        got.push(...drain(d));
      }
      assert.equal(got.length, frames.length);
      got.forEach((r, i) => {
        assert.ok('frame' in r);
        assertSame(r.frame, frames[i]!);
        assert.equal(r.frame.body.byteOffset % 8, 0, 'body must start 8-aligned');
      });
      assert.equal(d.bufferedBytes, 0);
    }),
    { numRuns: 300 },
  );
});

test('a frame length above frameBytesMax is reported fatal as soon as its 4 length bytes arrive', () => {
  const d = new FrameDecoder(limits);
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, limits.frameBytesMax + 1, true);
  d.push(prefix);
  const r = d.next();
  assert.ok(r !== null && 'error' in r);
  assert.equal(r.error.problem, 'FRAME_TOO_LARGE');
  assert.equal(r.error.fatal, true);
  d.push(encodeFrameBytes({ version: 1, flags: 0, op: 1, requestId: 1, header: {} }));
  assert.equal(d.next(), null, 'a dead decoder yields nothing more');
});

test('a frame length below the prefix size is a fatal BAD_FRAME', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: FRAME_PREFIX_BYTES - 1 }), (len) => {
      const d = new FrameDecoder(limits);
      const b = new Uint8Array(FRAME_PREFIX_BYTES);
      new DataView(b.buffer).setUint32(0, len, true);
      d.push(b);
      const r = d.next();
      assert.ok(r !== null && 'error' in r);
      assert.equal(r.error.problem, 'BAD_FRAME');
      assert.equal(r.error.fatal, true);
    }),
  );
});

test('an oversized control header is skipped with HEADER_TOO_LARGE and the next frame still decodes', () => {
  const big = encodeFrameBytes({ version: 1, flags: 0, op: 4, requestId: 7, header: { x: 'y'.repeat(limits.headerBytesMax) } });
  const next: OutFrame = { version: 1, flags: 0, op: 4, requestId: 8, header: { ok: true } };
  const d = new FrameDecoder(limits);
  d.push(concat([big, encodeFrameBytes(next)]));
  const [first, second] = drain(d);
  assert.ok(first !== undefined && 'error' in first);
  assert.equal(first.error.problem, 'HEADER_TOO_LARGE');
  assert.equal(first.error.fatal, false);
  assert.equal(first.error.requestId, 7);
  assert.ok(second !== undefined && 'frame' in second);
  assertSame(second.frame, next);
});

test('a header length that overruns its frame is skipped with BAD_FRAME, not read past the frame', () => {
  const f = encodeFrameBytes({ version: 1, flags: 0, op: 4, requestId: 9, header: { a: 1 } });
  new DataView(f.buffer, f.byteOffset).setUint32(12, 1000, true);
  const d = new FrameDecoder(limits);
  d.push(concat([f, encodeFrameBytes({ version: 1, flags: 0, op: 4, requestId: 10, header: {} })]));
  const [first, second] = drain(d);
  assert.ok(first !== undefined && 'error' in first && first.error.problem === 'BAD_FRAME' && !first.error.fatal);
  assert.ok(second !== undefined && 'frame' in second && second.frame.requestId === 10);
});

test('unknown flag bits are rejected per frame', () => {
  const f = encodeFrameBytes({ version: 1, flags: 0b100, op: 4, requestId: 11, header: {} });
  const d = new FrameDecoder(limits);
  d.push(f);
  const r = d.next();
  assert.ok(r !== null && 'error' in r && r.error.problem === 'BAD_FRAME' && r.error.requestId === 11);
});

test('the body offset is 8-aligned for every header length', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 100 }), fc.uint8Array({ maxLength: 64 }), (s, raw) => {
      const body = new Uint8Array((raw.length + 7) & ~7);
      body.set(raw);
      const bytes = encodeFrameBytes({ version: 1, flags: 0, op: 6, requestId: 1, header: { s }, body: [body] });
      const headerLength = new DataView(bytes.buffer).getUint32(12, true);
      const start = (FRAME_PREFIX_BYTES + headerLength + 7) & ~7;
      assert.equal(start % 8, 0);
      assert.equal(bytes.length, start + body.length);
      assert.deepEqual(bytes.subarray(start), body);
      assert.ok(bytes.subarray(FRAME_PREFIX_BYTES + headerLength, start).every((b) => b === 0), 'padding is zero');
    }),
  );
});
