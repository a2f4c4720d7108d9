import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RingConsumer, RingProducer, createRingBuffer } from '../../src/ring/index.js';
import { consumeAsync, produceAsync, type TrafficOptions, type TrafficReport } from './ring-traffic.js';

const peerUrl = new URL('./ring-peer-worker.js', import.meta.url);

function runPeer(sab: SharedArrayBuffer, role: 'produce' | 'consume', traffic: TrafficOptions): Promise<TrafficReport> {
  return new Promise((resolve, reject) => {
    const w = new Worker(peerUrl, { workerData: { sab, role, traffic } });
    w.once('message', (r: TrafficReport) => resolve(r));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`peer worker exited with ${code}`));
    });
  });
}

function assertClean(r: TrafficReport, count: number): void {
  assert.equal(r.messages, count, 'every message arrived');
  assert.equal(r.mismatches, 0, `first bad message index ${r.firstMismatch}`);
}

test('one million seeded random-size messages cross main thread -> worker in order and byte-exact', async () => {
  const traffic = { seed: 1234, count: 1_000_000, maxBytes: 256 };
  const sab = createRingBuffer(64 * 1024);
  const consumer = runPeer(sab, 'consume', traffic);
  const sent = await produceAsync(new RingProducer(sab), traffic);
  const got = await consumer;
  assertClean(got, traffic.count);
  assert.equal(got.bytes, sent.bytes);
});

test('seeded messages cross worker -> main thread in order and byte-exact, including sizes near the ring limit', async () => {
  const sab = createRingBuffer(8 * 1024);
  const traffic = { seed: 99, count: 30_000, maxBytes: 8 * 1024 - 8 };
  const producer = runPeer(sab, 'produce', traffic);
  const got = await consumeAsync(new RingConsumer(sab), traffic);
  const sent = await producer;
  assertClean(got, traffic.count);
  assert.equal(got.bytes, sent.bytes);
});

test('a producer faster than its consumer waits on a full ring and loses nothing', async () => {
  const sab = createRingBuffer(4096);
  const count = 20_000;
  const consumer = runPeer(sab, 'consume', { seed: 7, count, maxBytes: 300, pauseEvery: 2_000, pauseMs: 2 });
  const sent = await produceAsync(new RingProducer(sab), { seed: 7, count, maxBytes: 300 });
  const got = await consumer;
  assertClean(got, count);
  assert.ok(sent.waits > 0, 'the producer met a full ring');
});

test('a consumer faster than its producer sleeps on an empty ring, is woken, and loses nothing', async () => {
  const sab = createRingBuffer(4096);
  const count = 20_000;
  const consumer = runPeer(sab, 'consume', { seed: 8, count, maxBytes: 300 });
  await produceAsync(new RingProducer(sab), { seed: 8, count, maxBytes: 300, pauseEvery: 2_000, pauseMs: 2 });
  const got = await consumer;
  assertClean(got, count);
  assert.ok(got.waits > 0, 'the consumer met an empty ring');
});
