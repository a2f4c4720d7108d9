import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/client/index.js';
import { ERROR_CODES } from '../../src/protocol/errors.js';
import { FLAG_ERROR, FLAG_RESPONSE } from '../../src/protocol/frame.js';
import { OP } from '../../src/protocol/ops.js';
import { startTestNode } from './in-process-node.js';
import { RawConnection } from './raw-connection.js';

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setTimeout(resolve, 2));
}

test('past inFlightPerConnectionMax the node starts no more requests; long-polls woken by an append free the window', { timeout: 20_000 }, async () => {
  const t = await startTestNode({ inFlightPerConnectionMax: 2 });
  try {
    const client = await connect(t.address);
    await client.createStream('lp');
    const shard = t.shard('lp', 0);
    const raw = await RawConnection.open(t.node.port);
    const readsBefore = shard.readCalls;
    for (let id = 1; id <= 6; id++) raw.send({ version: 1, flags: 0, op: OP.FETCH, requestId: id, header: { name: 'lp', shard: 0, fromSeq: 0, maxBytes: 1 << 20, maxWaitMs: 60_000 } });
    await until(() => shard.readCalls - readsBefore >= 2);
    await turns(50);
    assert.equal(shard.readCalls - readsBefore, 2, 'only two fetches started');
    assert.equal(raw.responses.filter((r) => r.requestId <= 6).length, 0);
    await client.producer('lp').send({ value: 'wake' });
    for (let id = 1; id <= 6; id++) {
      const r = await raw.response(id);
      assert.equal(r.flags, FLAG_RESPONSE);
      assert.equal(r.header['count'], 1, `fetch ${id} got the appended record`);
    }
    raw.destroy();
    await client.close();
  } finally {
    await t.stop();
  }
});

test('a fetch long-poll at the end of a shard returns the record appended while it waits', { timeout: 15_000 }, async () => {
  const t = await startTestNode({ fetchWaitMsMax: 600_000 });
  try {
    const client = await connect(t.address);
    await client.createStream('tail', { shards: 2 });
    const raw = await RawConnection.open(t.node.port);
    const pending = raw.request(OP.FETCH, 1, { name: 'tail', shard: 1, fromSeq: 0, maxBytes: 4096, maxWaitMs: 600_000 });
    await until(() => t.shard('tail', 1).readCalls >= 1);
    const { seq } = await client.producer('tail', { shard: 1 }).send({ value: 'hello' });
    const r = await pending; // with no wake-up this would wait 10 minutes and hit the test timeout
    assert.equal(r.header['count'], 1);
    assert.equal(r.header['firstSeq'], seq);
    raw.destroy();
    await client.close();
  } finally {
    await t.stop();
  }
});

test('a consumer with follow receives records produced after it reached the end', { timeout: 15_000 }, async () => {
  const t = await startTestNode({ fetchWaitMsMax: 600_000 });
  try {
    const client = await connect(t.address);
    await client.createStream('f', { shards: 3 });
    const consumer = client.consumer('f', { follow: true, maxWaitMs: 600_000 });
    const got: string[] = [];
    const done = (async () => {
      for await (const r of consumer) {
        got.push(Buffer.from(r.value).toString());
        if (got.length === 6) break;
      }
    })();
    await until(() => t.shards.every((s) => s.readCalls >= 1));
    const p = client.producer('f');
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((v, i) => p.send({ value: v, shard: i % 3 })));
    await done;
    assert.deepEqual(got.sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
    await client.close();
  } finally {
    await t.stop();
  }
});

test('past connectionsMax a new connection gets TOO_MANY_CONNECTIONS and is closed; existing ones keep working', async () => {
  const t = await startTestNode({ connectionsMax: 2 });
  try {
    const a = await RawConnection.open(t.node.port);
    const b = await RawConnection.open(t.node.port);
    const c = await RawConnection.open(t.node.port, false);
    await c.closedByPeer();
    assert.equal(c.responses[0]?.flags, FLAG_RESPONSE | FLAG_ERROR);
    assert.equal(c.responses[0]?.header['code'], ERROR_CODES.TOO_MANY_CONNECTIONS.code);
    assert.equal((await a.request(OP.LIST_STREAMS, 1, {})).flags, FLAG_RESPONSE);
    a.destroy();
    b.destroy();
  } finally {
    await t.stop();
  }
});

test('close() answers in-flight long-polls, then closes every shard handle', { timeout: 15_000 }, async () => {
  const t = await startTestNode({ fetchWaitMsMax: 600_000 });
  const client = await connect(t.address);
  await client.createStream('c', { shards: 2 });
  const raw = await RawConnection.open(t.node.port);
  const pending = raw.request(OP.FETCH, 1, { name: 'c', shard: 0, fromSeq: 0, maxBytes: 4096, maxWaitMs: 600_000 });
  await until(() => t.shard('c', 0).readCalls >= 1);
  await t.stop();
  const r = await pending;
  assert.equal(r.flags, FLAG_RESPONSE, 'the in-flight fetch got its answer, not an error');
  assert.equal(r.header['count'], 0);
  assert.ok(t.shards.every((s) => s.closed));
  await raw.closedByPeer();
  await client.close();
});

test('past inFlightBytesPerConnectionMax the node starts no more requests until one finishes (one always passes)', { timeout: 20_000 }, async () => {
  const t = await startTestNode({ inFlightBytesPerConnectionMax: 1 });
  try {
    const client = await connect(t.address);
    await client.createStream('bytes');
    const shard = t.shard('bytes', 0);
    const raw = await RawConnection.open(t.node.port);
    const readsBefore = shard.readCalls;
    for (let id = 1; id <= 4; id++) raw.send({ version: 1, flags: 0, op: OP.FETCH, requestId: id, header: { name: 'bytes', shard: 0, fromSeq: 0, maxBytes: 1 << 20, maxWaitMs: 60_000 } });
    await until(() => shard.readCalls - readsBefore >= 1);
    await turns(50);
    assert.equal(shard.readCalls - readsBefore, 1, 'only one fetch started');
    await client.producer('bytes').send({ value: 'go' });
    for (let id = 1; id <= 4; id++) assert.equal((await raw.response(id)).header['count'], 1);
    raw.destroy();
    await client.close();
  } finally {
    await t.stop();
  }
});

test('a shard that fails to open at creation is marked failed with its reason; the stream\'s other shards serve', async () => {
  const t = await startTestNode({}, 1);
  try {
    const client = await connect(t.address);
    const created = await client.createStream('late', { shards: 2 });
    assert.equal(created.failedShards.length, 1);
    const bad = created.failedShards[0]!.shard;
    const good = 1 - bad;
    assert.match(created.failedShards[0]!.error, /injected open failure/);
    const d = await client.describeStream('late');
    assert.equal(d.shardInfo.length, 2);
    assert.match(d.shardInfo[bad]!.failed ?? '', /injected open failure/);
    assert.equal(d.shardInfo[bad]!.endSeq, null);
    assert.equal(d.shardInfo[good]!.failed, null);
    const { seq } = await client.producer('late', { shard: good }).send({ value: 'ok' });
    assert.equal(seq, 0);
    await assert.rejects(client.producer('late', { shard: bad }).send({ value: 'no' }), (e: Error & { codeName?: string }) => e.codeName === 'SHARD_FAILED' && /injected open failure/.test(e.message));
    await client.close();
  } finally {
    await t.stop();
  }
});
