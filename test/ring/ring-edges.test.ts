import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RING_CONTROL_BYTES,
  RING_MESSAGE_HEADER_BYTES,
  SLOT_CONSUMER_IDLE,
  RingConsumer,
  RingError,
  RingProducer,
  createRingBuffer,
  ringMessageFootprint,
} from '../../src/ring/index.js';

function pair(capacity: number): { p: RingProducer; c: RingConsumer; sab: SharedArrayBuffer } {
  const sab = createRingBuffer(capacity);
  return { p: new RingProducer(sab), c: new RingConsumer(sab), sab };
}

function filled(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 13) & 0xff;
  return b;
}

test('an empty ring yields no message and reports all capacity free', () => {
  const { p, c } = pair(64);
  assert.equal(c.tryRead(), null);
  assert.equal(c.hasMessage, false);
  assert.equal(p.freeBytes, 64);
});

test('a ring fills to exactly its capacity, refuses one more message, and accepts it after release', () => {
  const { p, c } = pair(64);
  for (let i = 0; i < 4; i++) assert.ok(p.tryWrite(filled(8, i), i), `message ${i} fits`);
  assert.equal(p.freeBytes, 0);
  assert.equal(p.tryWrite(new Uint8Array(0), 9), false, 'a full ring refuses even an empty message');
  const m = c.tryRead()!;
  assert.deepEqual([...m.bytes], [...filled(8, 0)]);
  assert.equal(p.tryWrite(new Uint8Array(0), 9), false, 'read but unreleased space stays taken');
  c.release();
  assert.ok(p.tryWrite(new Uint8Array(0), 9));
});

test('a message larger than the ring limit is refused with MESSAGE_TOO_LARGE, and the limit itself fits', () => {
  const { p, c } = pair(64);
  assert.equal(p.messageBytesMax, 56);
  assert.throws(() => p.tryReserve(57, 0), (e: unknown) => e instanceof RingError && e.code === 'MESSAGE_TOO_LARGE' && /57 bytes/.test(e.message));
  assert.ok(p.tryWrite(filled(56, 3), 1));
  assert.deepEqual([...c.tryRead()!.bytes], [...filled(56, 3)]);
});

test('a message that does not fit before the end wraps behind a pad, and the limit-size message fits from any offset once drained', () => {
  const { p, c } = pair(64);
  assert.ok(p.tryWrite(filled(16, 1), 1)); // occupies 24 bytes
  c.tryRead();
  c.release();
  assert.equal(p.tryWrite(filled(56, 2), 2), false, 'publishes a 40-byte pad, but the 64-byte message needs it skipped first');
  assert.equal(c.tryRead(), null, 'the consumer skips the pad');
  c.release();
  assert.ok(p.tryWrite(filled(56, 2), 2), 'now written from offset 0');
  const m = c.tryRead()!;
  assert.equal(m.tag, 2);
  assert.deepEqual([...m.bytes], [...filled(56, 2)]);
  assert.equal(m.bytes.byteOffset, RING_CONTROL_BYTES + RING_MESSAGE_HEADER_BYTES, 'the wrapped message starts at data offset 0');
});

test('every message starts 8-byte aligned in the buffer', () => {
  const { p, c } = pair(256);
  for (let n = 0; n < 40; n++) {
    assert.ok(p.tryWrite(filled(n, n), n));
    const m = c.tryRead()!;
    assert.equal(m.bytes.byteOffset % 8, 0);
    c.release();
  }
});

test('a wrap at every offset of a small ring delivers every size intact', () => {
  const capacity = 128;
  for (let start = 0; start < capacity; start += 8) {
    for (let size = 0; size <= capacity - 8; size++) {
      const { p, c } = pair(capacity);
      if (start > 0) {
        assert.ok(p.tryWrite(new Uint8Array(start - 8), 0)); // footprint == start
        c.tryRead();
        c.release();
      }
      const payload = filled(size, start + size);
      if (!p.tryWrite(payload, size)) {
        assert.ok(ringMessageFootprint(size) > capacity - start, 'only a message that must wrap can be refused by an empty ring');
        assert.equal(c.tryRead(), null, 'the consumer skips the wrap pad');
        c.release();
        assert.ok(p.tryWrite(payload, size), `size ${size} from offset ${start} fits once the pad is skipped`);
      }
      const m = c.tryRead();
      assert.ok(m !== null, `size ${size} from offset ${start} is readable`);
      assert.equal(m.tag, size);
      assert.deepEqual(Buffer.from(m.bytes), Buffer.from(payload));
      c.release();
      assert.equal(c.tryRead(), null);
      assert.equal(p.freeBytes, capacity);
    }
  }
});

test('reserve fills in place and commit may shrink the message', () => {
  const { p, c } = pair(128);
  const view = p.tryReserve(64, 5)!;
  view.set(filled(10, 1));
  p.commit(10);
  const m = c.tryRead()!;
  assert.equal(m.bytes.length, 10);
  assert.deepEqual([...m.bytes], [...filled(10, 1)]);
  c.release();
  assert.equal(p.freeBytes, 128, 'only the committed footprint was used');
});

test('reserve twice without commit, or commit without reserve, is refused', () => {
  const { p } = pair(128);
  p.tryReserve(8, 0);
  assert.throws(() => p.tryReserve(8, 0), (e: unknown) => e instanceof RingError && e.code === 'RESERVATION_OPEN');
  p.commit();
  assert.throws(() => p.commit(), (e: unknown) => e instanceof RingError && e.code === 'NO_RESERVATION');
  assert.throws(() => (p.tryReserve(16, 0), p.commit(17)), RangeError);
});

test('an unpublished reservation is invisible to the consumer', () => {
  const { p, c } = pair(128);
  p.tryReserve(8, 0);
  assert.equal(c.tryRead(), null);
  p.commit();
  assert.ok(c.tryRead() !== null);
});

test('closing wakes a waiting consumer with "closed" once the ring is drained', async () => {
  const { p, c } = pair(64);
  p.tryWrite(filled(8, 0), 0);
  p.close();
  assert.equal(await c.waitAsync(1000), 'ready', 'published messages are still delivered');
  c.tryRead();
  c.release();
  assert.equal(await c.waitAsync(1000), 'closed');
  assert.throws(() => p.tryReserve(8, 0), (e: unknown) => e instanceof RingError && e.code === 'CLOSED');
});

test('a producer waiting for space is refused with CLOSED when the consumer closes', async () => {
  const { p, c } = pair(64);
  assert.ok(p.tryWrite(filled(56, 0), 0));
  const waiting = p.reserveAsync(8, 1);
  setTimeout(() => c.close(), 5);
  await assert.rejects(waiting, (e: unknown) => e instanceof RingError && e.code === 'CLOSED');
});

test('reserve with a timeout returns null when the ring stays full, and wait times out on an empty ring', async () => {
  const { p, c } = pair(64);
  assert.ok(p.tryWrite(filled(56, 0), 0));
  assert.equal(await p.reserveAsync(8, 1, 5), null);
  assert.equal(p.reserveSync(8, 1, 5), null);
  c.tryRead();
  c.release();
  assert.equal(await c.waitAsync(5), 'timed-out');
  assert.equal(c.waitSync(5), 'timed-out');
});

test('a waiting async producer is woken by release', async () => {
  const { p, c } = pair(64);
  assert.ok(p.tryWrite(filled(56, 0), 0));
  const waiting = p.reserveAsync(56, 1);
  setTimeout(() => (c.tryRead(), c.release()), 5);
  const view = await waiting;
  assert.ok(view !== null && view.length === 56);
});

test('ring capacity is validated: multiple of 8 and within bounds', () => {
  assert.throws(() => createRingBuffer(100), RangeError);
  assert.throws(() => createRingBuffer(8), RangeError);
  assert.throws(() => new RingConsumer(new SharedArrayBuffer(256)), RangeError);
  assert.equal(ringMessageFootprint(1), 16);
});

test('commit without wake leaves a sleeping consumer asleep until wake(), which wakes it once', () => {
  const { p, sab } = pair(128);
  const control = new Int32Array(sab, 0, RING_CONTROL_BYTES / 4);
  Atomics.store(control, SLOT_CONSUMER_IDLE, 1); // as a consumer does just before it sleeps
  assert.ok(p.tryReserve(8, 1) !== null);
  p.commit(8, false);
  assert.equal(Atomics.load(control, SLOT_CONSUMER_IDLE), 1, 'no wake yet');
  p.wake();
  assert.equal(Atomics.load(control, SLOT_CONSUMER_IDLE), 0, 'woken (flag cleared by the waker)');
  assert.ok(p.tryReserve(8, 2) !== null);
  p.commit();
  assert.equal(Atomics.load(control, SLOT_CONSUMER_IDLE), 0);
});

test('a producer about to wait for space first wakes a consumer it left asleep', () => {
  const { p, sab } = pair(64);
  const control = new Int32Array(sab, 0, RING_CONTROL_BYTES / 4);
  Atomics.store(control, SLOT_CONSUMER_IDLE, 1);
  assert.ok(p.tryReserve(56, 1) !== null);
  p.commit(56, false);
  assert.equal(p.reserveSync(8, 2, 1), null, 'full: waits, times out');
  assert.equal(Atomics.load(control, SLOT_CONSUMER_IDLE), 0, 'the consumer was woken before the wait');
});
