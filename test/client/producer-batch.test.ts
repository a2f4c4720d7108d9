/**
 * ProducerBatch without a waiter object, closure or resolve functions per record: each add()
 * returns its own promise, settled in order by ack() (seq firstSeq + i) or
 * fail(); records are encoded through the batch's one RecordWriter, and a
 * batch's buffer may hold garbage beyond what was encoded (never sent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProducerBatch } from '../../src/client/producer-batch.js';
import { encodeRecord, forEachRecord, decodeRecord } from '../../src/record/record.js';

test('batch bytes are exactly the concatenated records, for several batches filled in turn', () => {
  const batches = [new ProducerBatch(0, 4096, 0, 0), new ProducerBatch(1, 4096, 0, 0, 1), new ProducerBatch(2, 8192, 0, 0, 2)];
  const expected: Uint8Array[][] = [[], [], []];
  for (let i = 0; i < 30; i++) {
    const k = i % 3;
    const b = batches[k]!;
    const input = { payload: new TextEncoder().encode(`record ${i} of batch ${k}`), key: i % 2 === 0 ? new Uint8Array([i]) : undefined, producerId: 42 + k, producerSeq: i };
    const len = b.encode(input);
    void b.add(len);
    expected[k]!.push(encodeRecord(input));
  }
  for (let k = 0; k < 3; k++) {
    const b = batches[k]!;
    const want = Buffer.concat(expected[k]!);
    assert.deepEqual(Buffer.from(b.bytes()), want);
    assert.equal(b.count, 10);
    assert.equal(forEachRecord(b.bytes(), () => undefined), 10);
    b.ack(0);
  }
});

test('ack resolves every send with its own shard and seq, in order', async () => {
  const b = new ProducerBatch(3, 4096, 0, 0);
  const acks = [];
  for (let i = 0; i < 5; i++) acks.push(b.add(b.encode({ payload: new Uint8Array([i]) })));
  let settled = false;
  void b.done.then(() => (settled = true));
  b.ack(1000);
  assert.deepEqual(await Promise.all(acks), [0, 1, 2, 3, 4].map((i) => ({ shard: 3, seq: 1000 + i })));
  await b.done;
  assert.ok(settled);
  assert.equal(decodeRecord(b.bytes(), 0).payload[0], 0);
});

test('fail rejects every send with the error, and settles done', async () => {
  const b = new ProducerBatch(0, 4096, 0, 0);
  const acks = [];
  for (let i = 0; i < 4; i++) acks.push(b.add(b.encode({ payload: new Uint8Array(8) })));
  const err = new Error('gone');
  b.fail(err);
  for (const a of acks) await assert.rejects(a, (e) => e === err);
  await b.done;
});

test("promises of different batches settle independently, each with its own batch's shard and seqs", async () => {
  const a = new ProducerBatch(0, 4096, 0, 0);
  const b = new ProducerBatch(1, 4096, 0, 0);
  const pa = a.add(a.encode({ payload: new Uint8Array(1) }));
  const pb = b.add(b.encode({ payload: new Uint8Array(1) }));
  const pa2 = a.add(a.encode({ payload: new Uint8Array(1) }));
  b.fail(new Error('b failed'));
  a.ack(7);
  assert.deepEqual(await pa, { shard: 0, seq: 7 });
  assert.deepEqual(await pa2, { shard: 0, seq: 8 });
  await assert.rejects(pb, /b failed/);
});

test('done settles after every record promise of the batch (acked or failed)', async () => {
  for (const outcome of ['ack', 'fail'] as const) {
    const b = new ProducerBatch(0, 4096, 0, 0);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      b.add(b.encode({ payload: new Uint8Array([i]) })).then(
        () => order.push(`r${i}`),
        () => order.push(`r${i}`),
      );
    }
    void b.done.then(() => order.push('done'));
    if (outcome === 'ack') b.ack(0);
    else b.fail(new Error('x'));
    await b.done;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['r0', 'r1', 'r2', 'done'], outcome);
  }
});
