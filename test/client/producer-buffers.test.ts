/**
 * The producer reuses acked batches' buffers for new batches (no fresh
 * pages per batch). A fake connection here holds each append's body until it
 * answers, as a socket write may: the bytes it answers for must still be the
 * ones it was handed (a buffer is reused only after its batch's ack), and
 * every record must arrive exactly once, in producerSeq order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer } from '../../src/client/producer.js';
import type { Client } from '../../src/client/client.js';
import type { RequestOptions, Response } from '../../src/client/connection.js';
import { decodeRecord, forEachRecord } from '../../src/record/record.js';

function fakeClient(seen: { copy: Uint8Array; live: Uint8Array }[]): Client {
  let nextSeq = 0;
  const connection = {
    limits: undefined,
    opts: { timeoutMs: 30_000, reconnectMinMs: 1, reconnectMaxMs: 2, inFlightMax: 256 },
    request(_op: number, _header: unknown, ro: RequestOptions = {}): Promise<Response> {
      const parts = ro.body ?? [];
      const held = parts.map((live) => ({ copy: Uint8Array.from(live), live }));
      return new Promise((resolve) =>
        setTimeout(() => {
          const results = held.map((h) => {
            seen.push(h);
            // Still the bytes handed over (not yet reused for another batch).
            assert.deepEqual(h.live, h.copy);
            const count = forEachRecord(h.live, () => undefined);
            const r = { firstSeq: nextSeq, count };
            nextSeq += count;
            return r;
          });
          resolve({ header: { results }, body: new Uint8Array(0) });
        }, 1),
      );
    },
  };
  return { connection, describeStream: async () => ({ shards: 1, shardInfo: [] }) } as unknown as Client;
}

test('batch buffers are reused only after their ack; every record arrives once, in order, with its bytes intact', async () => {
  const seen: { copy: Uint8Array; live: Uint8Array }[] = [];
  const producer = new Producer(fakeClient(seen), 's', { maxBatchBytes: 4096 });
  const N = 2000;
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    if (i >= 300) await acks[i - 300]; // a window of sends: new batches are made while others are still held by the connection
    acks.push(producer.send({ value: `value-${i}`.padEnd(40 + (i % 50), '.') }));
  }
  const results = (await Promise.all(acks)) as { seq: number }[];
  assert.deepEqual(results.map((r) => r.seq), Array.from({ length: N }, (_, i) => i));
  await producer.close();
  // Decode from the copies taken when each append was handed over.
  const values: string[] = [];
  const seqs: number[] = [];
  for (const s of seen) forEachRecord(s.copy, (off) => {
    const d = decodeRecord(s.copy, off);
    values.push(Buffer.from(d.payload).toString().replace(/\.+$/, ''));
    seqs.push(d.producerSeq);
  });
  assert.deepEqual(values, Array.from({ length: N }, (_, i) => `value-${i}`));
  assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => i));
  // And buffers were in fact reused (fewer distinct ArrayBuffers than batches).
  const buffers = new Set(seen.map((s) => s.live.buffer));
  assert.ok(seen.length > 20, `${seen.length} batches`);
  assert.ok(buffers.size < seen.length, `${buffers.size} buffers for ${seen.length} batches`);
});

test('new batches made while batches are in flight never write into an in-flight batch\'s buffer', async () => {
  const held: { copy: Uint8Array; live: Uint8Array; answer: () => void }[] = [];
  let nextSeq = 0;
  const connection = {
    limits: undefined,
    opts: { timeoutMs: 30_000, reconnectMinMs: 1, reconnectMaxMs: 2, inFlightMax: 256 },
    request(_op: number, _header: unknown, ro: RequestOptions = {}): Promise<Response> {
      const live = ro.body![0]!;
      assert.equal(ro.body!.length, 1);
      return new Promise((resolve) =>
        held.push({
          copy: Uint8Array.from(live),
          live,
          answer: () => {
            const count = forEachRecord(live, () => undefined);
            resolve({ header: { results: [{ firstSeq: nextSeq, count }] }, body: new Uint8Array(0) });
            nextSeq += count;
          },
        }),
      );
    },
  };
  const client = { connection, describeStream: async () => ({ shards: 1, shardInfo: [] }) } as unknown as Client;
  const producer = new Producer(client, 's', { maxBatchBytes: 1024 });
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 1000 && !cond(); i++) await turn();
    assert.ok(cond());
  };
  const value = (i: number): string => `record-${i}`.padEnd(150, '.');
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) acks.push(producer.send({ value: value(i) }));
  await until(() => held.length >= 1);
  await turn();
  assert.equal(held.length, 1); // one in flight until the shard's producerId has an ack
  held[0]!.answer();
  await acks[0];
  await until(() => held.length >= 3);
  const inFlight = held.slice(1);
  assert.ok(inFlight.length >= 2, `${inFlight.length} batches in flight`);
  // New batches while those are in flight: they may reuse only the acked batch's buffer.
  for (let i = 30; i < 60; i++) acks.push(producer.send({ value: value(i) }));
  await turn();
  for (const h of inFlight) assert.deepEqual(h.live, h.copy);
  for (let k = 1; k < held.length || acks.length > 0; k++) {
    await until(() => k < held.length);
    assert.deepEqual(held[k]!.live, held[k]!.copy);
    held[k]!.answer();
    if (nextSeq === 60) break;
  }
  assert.deepEqual(((await Promise.all(acks)) as { seq: number }[]).map((r) => r.seq), Array.from({ length: 60 }, (_, i) => i));
  const got: string[] = [];
  for (const h of held) forEachRecord(h.copy, (off) => got.push(Buffer.from(decodeRecord(h.copy, off).payload).toString()));
  assert.deepEqual(got, Array.from({ length: 60 }, (_, i) => value(i)));
  await producer.close();
});
