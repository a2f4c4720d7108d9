/**
 * kill -9 of a real node while producers are sending: after a restart on the
 * same data dir, every acked record is there, byte for byte, with the same
 * sequence number (fsync policy "always", the default).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/client/index.js';
import type { SendResult } from '../../src/client/types.js';
import { indexOfPayload, payloadFor } from './payloads.js';
import { makeDataDir, removeDataDir, startNodeProcess } from './node-process.js';

test('kill -9 mid-produce, restart: every acked record is present with its seq and bytes', { timeout: 90_000 }, async () => {
  const dir = await makeDataDir();
  let node = await startNodeProcess(dir);
  try {
    const admin = await connect(node.address);
    await admin.createStream('crash', { shards: 3 });
    await admin.close();
    const producerClient = await connect(node.address, { reconnectMinMs: 10, reconnectMaxMs: 50 });
    const p = producerClient.producer('crash', { timeoutMs: 1500, maxBatchBytes: 8 * 1024 });
    const acked = new Map<number, SendResult>();
    let failed = 0;
    let i = 0;
    let stop = false;
    const pumping = (async () => {
      while (!stop) {
        const batch = Array.from({ length: 200 }, () => i++);
        await Promise.all(
          batch.map((k) =>
            p.send({ value: payloadFor(k, 300) }).then(
              (r) => void acked.set(k, r),
              () => void failed++,
            ),
          ),
        );
      }
    })();
    while (acked.size < 3000) await new Promise((resolve) => setTimeout(resolve, 5));
    await node.kill9();
    stop = true;
    await pumping;
    await producerClient.close();
    assert.ok(failed > 0 || acked.size === i, 'sends in flight at the kill failed (or all were acked)');

    node = await startNodeProcess(dir, node.port);
    const reader = await connect(node.address);
    const seen = new Map<string, number>();
    for await (const r of reader.consumer('crash')) seen.set(`${r.shard}/${r.seq}`, indexOfPayload(r.value));
    for (const [k, r] of acked) {
      const stored = seen.get(`${r.shard}/${r.seq}`);
      assert.equal(stored, k, `acked record ${k} at ${r.shard}/${r.seq} is present with its bytes`);
    }
    let checked = 0;
    for await (const r of reader.consumer('crash')) {
      const k = indexOfPayload(r.value);
      if (!acked.has(k)) continue;
      assert.ok(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).equals(payloadFor(k, 300)));
      checked++;
    }
    assert.equal(checked, acked.size);
    await reader.close();
  } finally {
    await node.stop().catch(() => undefined);
    await removeDataDir(dir);
  }
});

test('a client rides through a node restart: sends made while the node is down are acked once it is back, written once', { timeout: 60_000 }, async () => {
  const dir = await makeDataDir();
  let node = await startNodeProcess(dir);
  try {
    const client = await connect(node.address, { reconnectMinMs: 20, reconnectMaxMs: 200 });
    await client.createStream('restart', { shards: 2 });
    const p = client.producer('restart', { timeoutMs: 30_000 });
    await p.send({ value: 'before' });
    assert.equal(await node.stop(), 0);
    const during = Promise.all(['d1', 'd2', 'd3'].map((value) => p.send({ value })));
    node = await startNodeProcess(dir, node.port);
    const acks = await during;
    assert.equal(new Set(acks.map((a) => `${a.shard}/${a.seq}`)).size, 3);
    const values: string[] = [];
    for await (const r of client.consumer('restart')) values.push(Buffer.from(r.value).toString());
    assert.deepEqual(values.sort(), ['before', 'd1', 'd2', 'd3']);
    await client.close();
  } finally {
    await node.stop().catch(() => undefined);
    await removeDataDir(dir);
  }
});
