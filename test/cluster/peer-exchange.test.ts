/**
 * Real transports on 127.0.0.1 exchange messages: two and three nodes both
 * ways, order kept per link, status rows, and a link that reconnects after
 * its peer's listener goes away and comes back on the same port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mesh, node, peerOf, sleep, waitFor, type Node } from './peer-harness.js';

async function closeAll(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.t.close()));
}

test('two transports exchange messages both ways, in order', async () => {
  const a = await node(1);
  const b = await node(2);
  try {
    mesh([a, b]);
    for (let n = 0; n < 500; n++) {
      assert.equal(a.t.send(2, { kind: 'test', body: { n } }), true);
      assert.equal(b.t.send(1, { kind: 'test', body: { n: 1000 + n } }), true);
    }
    await waitFor('500 messages each way', () => a.got.length === 500 && b.got.length === 500);
    assert.deepEqual(b.got.map((g) => [g.from, (g.msg.body as { n: number }).n]), [...Array(500).keys()].map((n) => [1, n]));
    assert.deepEqual(a.got.map((g) => [g.from, (g.msg.body as { n: number }).n]), [...Array(500).keys()].map((n) => [2, 1000 + n]));
    const [row] = a.t.status();
    assert.equal(row!.id, 2);
    assert.equal(row!.address, b.address);
    assert.equal(row!.connected, true);
    assert.equal(row!.inbound, true);
    assert.equal(row!.queued, 0);
    assert.equal(row!.dropped, 0);
    assert.equal(row!.lastError, null);
    assert.ok(row!.lastContactMs !== null && row!.lastContactMs < 2000);
  } finally {
    await closeAll([a, b]);
  }
});

test('three transports: every node reaches every other', async () => {
  const nodes = [await node(1), await node(2), await node(3)];
  try {
    mesh(nodes);
    for (const from of nodes) for (const to of nodes) if (from !== to) from.t.send(to.id, { kind: 'test', body: { n: from.id * 10 + to.id } });
    await waitFor('two messages at every node', () => nodes.every((n) => n.got.length === 2));
    for (const n of nodes) {
      const seen = n.got.map((g) => [g.from, (g.msg.body as { n: number }).n]).sort((x, y) => x[0]! - y[0]!);
      assert.deepEqual(seen, nodes.filter((o) => o !== n).map((o) => [o.id, o.id * 10 + n.id]));
      assert.ok(n.t.status().every((r) => r.connected && r.inbound));
    }
  } finally {
    await closeAll(nodes);
  }
});

test('a link reconnects after its peer goes away and comes back on the same port; queued messages then flow', async () => {
  const a = await node(1);
  let b = await node(2);
  const port = b.port;
  try {
    a.t.addPeer(peerOf(b));
    a.t.send(2, { kind: 'test', body: { n: 1 } });
    await waitFor('first message', () => b.got.length === 1);
    await b.t.close();
    await waitFor('a sees the link down', () => a.t.status()[0]!.state !== 'connected');
    await sleep(150); // several failed redials (connection refused)
    const down = a.t.status()[0]!;
    assert.ok(down.reconnects >= 1, `reconnects ${down.reconnects}`);
    assert.match(down.lastError ?? '', /ECONNREFUSED|closed/);
    for (let n = 2; n <= 4; n++) assert.equal(a.t.send(2, { kind: 'test', body: { n } }), true);
    assert.equal(a.t.status()[0]!.queued, 3);
    const redials = a.t.status()[0]!.reconnects;
    await waitFor('more failed redials with messages queued', () => a.t.status()[0]!.reconnects >= redials + 2);
    assert.equal(a.t.status()[0]!.queued, 3); // queued messages survive failed dials
    b = await node(2, {}, port);
    await waitFor('queued messages after the peer returned', () => b.got.length === 3, 3000);
    assert.deepEqual(b.got.map((g) => (g.msg.body as { n: number }).n), [2, 3, 4]);
    const up = a.t.status()[0]!;
    assert.equal(up.connected, true);
    assert.equal(up.queued, 0);
    assert.ok(a.logs.some((l) => /is up again/.test(l)), a.logs.join('\n'));
  } finally {
    await closeAll([a, b]);
  }
});

test('send to an unknown node or after close drops without throwing', async () => {
  const a = await node(1);
  assert.equal(a.t.send(9, { kind: 'test', body: { n: 1 } }), false);
  assert.equal(a.t.unknownPeerDrops, 1);
  a.t.addPeer({ id: 2, host: '127.0.0.1', port: 1, address: '127.0.0.1:1' });
  await a.t.close();
  assert.equal(a.t.send(2, { kind: 'test', body: { n: 1 } }), false);
  assert.equal(a.t.status()[0]!.dropped, 1);
});
