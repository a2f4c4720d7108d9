/**
 * The connection is cut after the node appended a batch and before its
 * answer reached the producer. The idempotent producer reconnects and resends
 * the same bytes; the shard recognizes the retry, so nothing is written twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/client/index.js';
import { NativeLogError } from '../../src/client/types.js';
import { startTestNode } from '../node/in-process-node.js';
import { CuttingProxy } from './cutting-proxy.js';
import { makeDataDir, removeDataDir, startNodeProcess } from './node-process.js';

async function consumeAll(address: string, stream: string): Promise<string[]> {
  const c = await connect(address);
  const out: string[] = [];
  for await (const r of c.consumer(stream)) out.push(Buffer.from(r.value).toString());
  await c.close();
  return out;
}

test('fake shards: a retry after a cut before the ack is answered as a duplicate with the original seqs', async () => {
  const t = await startTestNode();
  const proxy = await CuttingProxy.start(t.node.port);
  try {
    const admin = await connect(t.address);
    await admin.createStream('idem');
    const client = await connect(proxy.address, { reconnectMinMs: 5 });
    const p = client.producer('idem', { shard: 0 });
    await p.send({ value: 'warm-up' });
    proxy.cutsLeft = 1;
    const acks = await Promise.all(['a', 'b', 'c'].map((value) => p.send({ value })));
    assert.equal(proxy.cutsDone, 1, 'the append answer was cut');
    assert.deepEqual(acks.map((a) => a.seq), [1, 2, 3], 'the retry got the seqs of the first write');
    const shard = t.shard('idem', 0);
    assert.equal(shard.records.length, 4, 'written once');
    assert.equal(shard.appendCalls, 3, 'warm-up, the cut append, the retry');
    await client.close();
    await admin.close();
  } finally {
    await proxy.close();
    await t.stop();
  }
});

test('real node process: cut connections before acks never make the idempotent producer write a record twice', { timeout: 60_000 }, async () => {
  const dir = await makeDataDir();
  const node = await startNodeProcess(dir);
  const proxy = await CuttingProxy.start(node.port);
  try {
    const admin = await connect(node.address);
    await admin.createStream('idem', { shards: 2 });
    const client = await connect(proxy.address, { reconnectMinMs: 5 });
    const p = client.producer('idem', { maxBatchBytes: 2048 });
    const sent: string[] = [];
    const acks: Promise<{ shard: number; seq: number }>[] = [];
    for (let round = 0; round < 5; round++) {
      proxy.cutsLeft = 1;
      for (let i = 0; i < 200; i++) {
        const value = `r${round}-${i}`;
        sent.push(value);
        acks.push(p.send({ value }));
      }
      await p.flush();
    }
    const results = await Promise.all(acks);
    assert.equal(proxy.cutsDone, 5);
    assert.equal(new Set(results.map((r) => `${r.shard}/${r.seq}`)).size, sent.length, 'every send has its own (shard, seq)');
    const stored = await consumeAll(node.address, 'idem');
    assert.equal(stored.length, sent.length, 'nothing written twice, nothing lost');
    assert.deepEqual([...stored].sort(), [...sent].sort());
    await client.close();
    await admin.close();
  } finally {
    await proxy.close();
    await node.stop();
    await removeDataDir(dir);
  }
});

test('a non-idempotent producer fails a batch whose answer was cut instead of resending it', async () => {
  const t = await startTestNode();
  const proxy = await CuttingProxy.start(t.node.port);
  try {
    const admin = await connect(t.address);
    await admin.createStream('plain');
    const client = await connect(proxy.address, { reconnectMinMs: 5 });
    const p = client.producer('plain', { idempotent: false });
    proxy.cutsLeft = 1;
    const err = await p.send({ value: 'x' }).then(
      () => assert.fail('expected CONNECTION_LOST'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NativeLogError);
    assert.equal(err.codeName, 'CONNECTION_LOST');
    assert.equal(t.shard('plain', 0).records.length, 1, 'written once, not resent');
    await client.close();
    await admin.close();
  } finally {
    await proxy.close();
    await t.stop();
  }
});

test('real node process: with 5 batches in flight per shard and cut answers, a shard keeps send order and writes each record once', { timeout: 60_000 }, async () => {
  const dir = await makeDataDir();
  const node = await startNodeProcess(dir);
  const proxy = await CuttingProxy.start(node.port);
  try {
    const admin = await connect(node.address);
    await admin.createStream('order');
    const client = await connect(proxy.address, { reconnectMinMs: 5 });
    const p = client.producer('order', { shard: 0, maxBatchBytes: 512, maxInFlightPerShard: 5 });
    const sent: string[] = [];
    const acks: Promise<{ shard: number; seq: number }>[] = [];
    for (let round = 0; round < 4; round++) {
      proxy.cutsLeft = 2;
      for (let i = 0; i < 300; i++) {
        const value = `o${round}-${i}`;
        sent.push(value);
        acks.push(p.send({ value }));
      }
      await p.flush();
    }
    const results = await Promise.all(acks);
    assert.ok(proxy.cutsDone >= 4, `answers were cut (${proxy.cutsDone})`);
    assert.deepEqual(results.map((r) => r.seq), sent.map((_, i) => i), 'acked seqs follow send order');
    const stored = await consumeAll(node.address, 'order');
    assert.deepEqual(stored, sent, 'stored once each, in send order');
    // batches() hands out the same records as the iterator.
    const c = await connect(node.address);
    const viaBatches: string[] = [];
    for await (const batch of c.consumer('order', { maxBytes: 4096 }).batches()) {
      assert.ok(batch.length > 0);
      for (const r of batch) viaBatches.push(Buffer.from(r.value).toString());
    }
    assert.deepEqual(viaBatches, sent);
    await c.close();
    await client.close();
    await admin.close();
  } finally {
    await proxy.close();
    await node.stop();
    await removeDataDir(dir);
  }
});

test('maxInFlightPerShard outside 1..5 is refused', async () => {
  const t = await startTestNode();
  try {
    const c = await connect(t.address);
    assert.throws(() => c.producer('x', { maxInFlightPerShard: 6 }), /maxInFlightPerShard/);
    assert.throws(() => c.producer('x', { maxInFlightPerShard: 0 }), /maxInFlightPerShard/);
    await c.close();
  } finally {
    await t.stop();
  }
});
