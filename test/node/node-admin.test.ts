import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Client } from '../../src/client/index.js';
import { NativeLogError } from '../../src/client/types.js';
import { ERROR_CODES } from '../../src/protocol/errors.js';
import { startTestNode, type TestNode } from './in-process-node.js';

let t: TestNode;
let client: Client;

before(async () => {
  t = await startTestNode();
  client = await connect(t.address);
});

after(async () => {
  await client.close();
  await t.stop();
});

async function rejectsWith(p: Promise<unknown>, name: keyof typeof ERROR_CODES): Promise<NativeLogError> {
  const err = await p.then(
    () => assert.fail(`expected ${name}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof NativeLogError, `not a NativeLogError: ${String(err)}`);
  assert.equal(err.codeName, name, err.message);
  assert.equal(err.code, ERROR_CODES[name].code);
  return err;
}

test('createStream, listStreams, describeStream and deleteStream round trip, with shard folders made and removed', async () => {
  const info = await client.createStream('orders', { shards: 3, namespace: 'shop', retentionMs: 60_000 });
  assert.equal(info.shards, 3);
  assert.equal(info.retentionMs, 60_000);
  assert.match(info.incarnation ?? '', /^[0-9a-f]{16}$/);
  for (let s = 0; s < 3; s++) assert.ok(existsSync(join(t.dataDir, 'shop', 'orders', info.incarnation!, String(s))));
  const listed = await client.listStreams({ namespace: 'shop' });
  assert.deepEqual(listed.map((s) => s.name), ['orders']);
  const d = await client.describeStream('orders', { namespace: 'shop' });
  assert.deepEqual(d.shardInfo.map((s) => [s.shard, s.startSeq, s.endSeq]), [[0, 0, 0], [1, 0, 0], [2, 0, 0]]);
  await client.deleteStream('orders', { namespace: 'shop' });
  assert.equal(existsSync(join(t.dataDir, 'shop', 'orders')), false);
  assert.deepEqual(await client.listStreams({ namespace: 'shop' }), []);
});

test('admin errors carry stable codes: UNKNOWN_STREAM, STREAM_EXISTS, INVALID_NAME, UNKNOWN_SHARD', async () => {
  await rejectsWith(client.describeStream('nope'), 'UNKNOWN_STREAM');
  await rejectsWith(client.deleteStream('nope'), 'UNKNOWN_STREAM');
  await client.createStream('dup');
  await rejectsWith(client.createStream('dup'), 'STREAM_EXISTS');
  await rejectsWith(client.createStream('../etc'), 'INVALID_NAME');
  await rejectsWith(client.createStream('ok', { namespace: 'a/b' }), 'INVALID_NAME');
  await rejectsWith(client.seqForTime('dup', 5, 'append', 0), 'UNKNOWN_SHARD');
});

test('seqForTime by append time finds the first record at or after the time', async () => {
  await client.createStream('times');
  const p = client.producer('times', { shard: 0 });
  const first = await p.send({ value: 'a' });
  const d = await client.describeStream('times');
  assert.equal(d.shardInfo[0]!.endSeq, first.seq + 1);
  assert.equal(await client.seqForTime('times', 0, 'append', 0), 0);
  assert.equal(await client.seqForTime('times', 0, 'append', Date.now() + 60_000), 1);
});

test('seqForTime by event time with out-of-order event times returns the lowest seq whose event time is >= t', async () => {
  await client.createStream('events');
  const p = client.producer('events', { shard: 0 });
  const times = [5000, 1000, 9000, 3000, 7000];
  for (const eventTime of times) await p.send({ value: String(eventTime), eventTime });
  for (const t0 of [0, 1000, 2000, 5000, 6000, 9000, 9001]) {
    const want = times.findIndex((x) => x >= t0);
    assert.equal(await client.seqForTime('events', 0, 'event', t0), want < 0 ? times.length : want, `t=${t0}`);
  }
  const from6000: string[] = [];
  for await (const r of client.consumer('events', { from: { eventTime: 6000 } })) from6000.push(Buffer.from(r.value).toString());
  assert.deepEqual(from6000, ['9000', '3000', '7000']);
});

test('consumers start at earliest, latest or a given seq, and stop at the end as of their start', async () => {
  await client.createStream('starts');
  const p = client.producer('starts', { shard: 0 });
  for (let i = 0; i < 10; i++) await p.send({ value: `v${i}` });
  const read = async (opts: Parameters<Client['consumer']>[1]): Promise<string[]> => {
    const out: string[] = [];
    for await (const r of client.consumer('starts', opts)) {
      out.push(Buffer.from(r.value).toString());
      if (out.length === 1) await p.send({ value: 'late' }); // appended after the start: not read without follow
    }
    return out;
  };
  assert.deepEqual(await read({ from: 'earliest' }), Array.from({ length: 10 }, (_, i) => `v${i}`));
  assert.deepEqual(await read({ from: { seq: 7 } }), ['v7', 'v8', 'v9', 'late']);
  assert.deepEqual(await read({ from: 'latest' }), []);
});

test('records with the same key go to the same shard; explicit shards are honored', async () => {
  await client.createStream('keys', { shards: 4 });
  const p = client.producer('keys');
  const a = await Promise.all(Array.from({ length: 20 }, () => p.send({ value: 'x', key: 'user-42' })));
  assert.equal(new Set(a.map((r) => r.shard)).size, 1);
  const explicit = await p.send({ value: 'y', shard: 3 });
  assert.equal(explicit.shard, 3);
  await rejectsWith(p.send({ value: 'z', shard: 4 }), 'UNKNOWN_SHARD');
});

test('a record above the node\'s recordBytesMax is refused by the client with RECORD_TOO_LARGE', async () => {
  const limit = client.connection.limits!.recordBytesMax;
  await client.createStream('big');
  await rejectsWith(client.producer('big').send({ value: new Uint8Array(limit + 1) }), 'RECORD_TOO_LARGE');
});
