/**
 * End to end against a real `nativelog start` process: round trip of 100k
 * records over 4 shards, seeks by append and event time on the real indexes,
 * 50 concurrent clients, long-poll following.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Client } from '../../src/client/index.js';
import { indexOfPayload, payloadFor } from './payloads.js';
import { makeDataDir, removeDataDir, startNodeProcess, type NodeProcess } from './node-process.js';

let node: NodeProcess;
let client: Client;

before(async () => {
  node = await startNodeProcess(await makeDataDir());
  client = await connect(node.address);
});

after(async () => {
  await client.close();
  const code = await node.stop();
  assert.equal(code, 0, 'SIGTERM exits 0');
  await removeDataDir(node.dataDir);
});

test('100k records over 4 shards come back byte-equal, each shard dense and in order', { timeout: 120_000 }, async () => {
  const N = 100_000;
  await client.createStream('bulk', { shards: 4 });
  const p = client.producer('bulk', { lingerMs: 2 });
  const acks = await Promise.all(Array.from({ length: N }, (_, i) => p.send({ value: payloadFor(i) })));
  const where = new Map<string, number>(acks.map((a, i) => [`${a.shard}/${a.seq}`, i]));
  assert.equal(where.size, N, 'every ack is a distinct (shard, seq)');
  const d = await client.describeStream('bulk');
  assert.equal(d.shardInfo.reduce((a, s) => a + s.endSeq!, 0), N);
  assert.ok(d.shardInfo.every((s) => s.endSeq! > 0), 'records spread over every shard');
  const nextSeq = [0, 0, 0, 0];
  let n = 0;
  for await (const r of client.consumer('bulk', { maxBytes: 256 * 1024 })) {
    assert.equal(r.seq, nextSeq[r.shard], 'dense and in order per shard');
    nextSeq[r.shard]!++;
    const i = where.get(`${r.shard}/${r.seq}`);
    assert.ok(i !== undefined);
    assert.equal(indexOfPayload(r.value), i);
    assert.ok(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).equals(payloadFor(i)), `payload of record ${i} differs`);
    n++;
  }
  assert.equal(n, N);
});

async function nextMillisecond(): Promise<number> {
  const t0 = Date.now();
  while (Date.now() <= t0) await new Promise((resolve) => setTimeout(resolve, 1));
  return Date.now();
}

test('seek by append time starts at the first record appended at or after T', async () => {
  await client.createStream('atime');
  const p = client.producer('atime', { shard: 0 });
  for (let i = 0; i < 50; i++) await p.send({ value: `early-${i}` });
  const t = await nextMillisecond();
  const { seq: firstLate } = await p.send({ value: 'late-0' });
  for (let i = 1; i < 50; i++) await p.send({ value: `late-${i}` });
  assert.equal(await client.seqForTime('atime', 0, 'append', t), firstLate);
  const got: string[] = [];
  for await (const r of client.consumer('atime', { from: { appendTime: t } })) got.push(Buffer.from(r.value).toString());
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `late-${i}`));
});

test('seek by event time with out-of-order event times starts at the lowest seq whose event time is >= T', async () => {
  await client.createStream('etime');
  const p = client.producer('etime', { shard: 0 });
  const times = Array.from({ length: 300 }, (_, i) => 1_700_000_000_000 + ((i * 7919) % 1000) * 1000);
  await Promise.all(times.map((eventTime, i) => p.send({ value: String(i), eventTime })));
  for (const t of [times[0]!, 1_700_000_500_000, 1_700_000_999_000, 1_700_001_000_000, 0]) {
    const want = times.findIndex((x) => x >= t);
    const seq = await client.seqForTime('etime', 0, 'event', t);
    assert.equal(seq, want < 0 ? times.length : want, `T=${t}`);
    const got: number[] = [];
    for await (const r of client.consumer('etime', { from: { eventTime: t } })) got.push(r.eventTime);
    assert.deepEqual(got, times.slice(seq));
  }
});

test('50 concurrent clients produce at once; each reads a shard back; every record is there exactly once', { timeout: 60_000 }, async () => {
  await client.createStream('many', { shards: 4 });
  const clients = await Promise.all(Array.from({ length: 50 }, () => connect(node.address)));
  const PER = 100;
  const acked = await Promise.all(
    clients.map(async (c, ci) => {
      const p = c.producer('many');
      return Promise.all(Array.from({ length: PER }, (_, i) => p.send({ value: `c${ci}-${i}`, key: `k${i % 17}` })));
    }),
  );
  assert.equal(new Set(acked.flat().map((a) => `${a.shard}/${a.seq}`)).size, 50 * PER, 'every ack is a distinct (shard, seq)');
  const d = await client.describeStream('many');
  const perShard = await Promise.all(
    clients.map(async (c, ci) => {
      const values: string[] = [];
      for await (const r of c.consumer('many', { shard: ci % 4 })) values.push(Buffer.from(r.value).toString());
      return values;
    }),
  );
  perShard.forEach((values, ci) => assert.equal(values.length, d.shardInfo[ci % 4]!.endSeq, `client ${ci} read its whole shard`));
  const union = new Set(perShard.slice(0, 4).flat());
  assert.equal(union.size, 50 * PER);
  for (let ci = 0; ci < 50; ci++) for (let i = 0; i < PER; i++) assert.ok(union.has(`c${ci}-${i}`));
  await Promise.all(clients.map((c) => c.close()));
});

test('a following consumer gets records produced after it reached the end (long-poll wake-up)', { timeout: 30_000 }, async () => {
  await client.createStream('follow', { shards: 2 });
  const consumer = client.consumer('follow', { follow: true, maxWaitMs: 20_000 });
  const it = consumer[Symbol.asyncIterator]();
  const first = it.next();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const sent = await client.producer('follow').send({ value: 'tail' });
  const r = await first;
  assert.equal(r.done, false);
  assert.equal(Buffer.from(r.value.value).toString(), 'tail');
  assert.deepEqual([r.value.shard, r.value.seq], [sent.shard, sent.seq]);
  await consumer.close();
});
