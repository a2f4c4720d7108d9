import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RingConsumer, RingProducer, createRingBuffer, ringMessageFootprint } from '../../src/ring/index.js';

type Op = { kind: 'write'; size: number; shrinkTo: number | null } | { kind: 'read' } | { kind: 'release' };

const opArb = (capacity: number): fc.Arbitrary<Op> =>
  fc.oneof(
    fc
      .record({ size: fc.integer({ min: 0, max: capacity - 8 }), shrink: fc.option(fc.nat(), { nil: null }) })
      .map(({ size, shrink }): Op => ({ kind: 'write', size, shrinkTo: shrink === null ? null : shrink % (size + 1) })),
    fc.constant<Op>({ kind: 'read' }),
    fc.constant<Op>({ kind: 'release' }),
  );

const scenarioArb = fc
  .integer({ min: 2, max: 48 })
  .chain((words) => fc.record({ capacity: fc.constant(words * 8), ops: fc.array(opArb(words * 8), { maxLength: 200 }) }));

function payloadFor(id: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (id * 31 + i * 7) & 0xff;
  return b;
}

test('property: any interleaving of writes, reads and releases delivers exactly the accepted messages, in order, byte-exact and 8-aligned', () => {
  fc.assert(
    fc.property(scenarioArb, ({ capacity, ops }) => {
      const sab = createRingBuffer(capacity);
      const p = new RingProducer(sab);
      const c = new RingConsumer(sab);
      const accepted: Uint8Array[] = [];
      let delivered = 0;
      let nextId = 0;
      let index = 0;
      const readOne = (): boolean => {
        const m = c.tryRead();
        if (m === null) return false;
        assert.equal(m.tag, delivered, 'FIFO order');
        assert.deepEqual(Buffer.from(m.bytes), Buffer.from(accepted[delivered]!));
        assert.equal(m.bytes.byteOffset % 8, 0);
        delivered++;
        return true;
      };
      for (const op of ops) {
        if (op.kind === 'write') {
          // Model of the documented wrap rule: a message is contiguous; when it
          // does not fit before the end, a pad fills the rest (if there is room
          // for the pad) and the message goes to offset 0.
          const free = p.freeBytes;
          const need = ringMessageFootprint(op.size);
          const contiguous = capacity - index;
          const wraps = need > contiguous;
          const pads = wraps && free >= contiguous;
          const expectAccept = wraps ? pads && free - contiguous >= need : free >= need;
          const id = nextId;
          const view = p.tryReserve(op.size, id);
          if (pads) index = 0;
          assert.equal(view !== null, expectAccept, `accepted iff there is room (free ${free}, need ${need}, contiguous ${contiguous})`);
          if (view === null) continue;
          index = (index + ringMessageFootprint(op.shrinkTo ?? op.size)) % capacity;
          const len = op.shrinkTo ?? op.size;
          view.set(payloadFor(id, len));
          p.commit(len);
          accepted.push(payloadFor(id, len));
          nextId++;
        } else if (op.kind === 'read') {
          readOne();
        } else {
          c.release();
        }
        assert.ok(p.freeBytes >= 0 && p.freeBytes <= capacity);
      }
      while (readOne());
      c.release();
      assert.equal(delivered, accepted.length, 'every accepted message is delivered');
      assert.equal(p.freeBytes, capacity, 'a drained ring is all free');
    }),
    { numRuns: 300, seed: 20261125 },
  );
});

test('property: an empty ring accepts any message up to messageBytesMax, at any cursor position, after at most one pad skip', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 64 }), fc.nat(), fc.nat(), (words, startSeed, sizeSeed) => {
      const capacity = words * 8;
      const sab = createRingBuffer(capacity);
      const p = new RingProducer(sab);
      const c = new RingConsumer(sab);
      const start = (startSeed % words) * 8;
      if (start > 0) {
        p.tryWrite(new Uint8Array(start - 8), 0);
        c.tryRead();
        c.release();
      }
      const size = sizeSeed % (p.messageBytesMax + 1);
      let ok = p.tryWrite(payloadFor(1, size), 1);
      if (!ok) {
        assert.equal(c.tryRead(), null);
        c.release();
        ok = p.tryWrite(payloadFor(1, size), 1);
      }
      assert.ok(ok);
      assert.deepEqual(Buffer.from(c.tryRead()!.bytes), Buffer.from(payloadFor(1, size)));
    }),
    { numRuns: 500, seed: 7 },
  );
});
