/**
 * Real transports on 127.0.0.1 exchange messages: two and three nodes both
 * ways, order kept per link, status rows, and a link that reconnects after
 * its peer's listener goes away and comes back on the same port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPeerHello } from '../../src/cluster/peer-hello.js';
import { PeerTransport } from '../../src/cluster/peer-transport.js';
import { FLAG_RESPONSE, encodeFrame, unpackHeader } from '../../src/protocol/frame.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { HEADER_BYTES_MAX } from '../../src/protocol/limits.js';
import { OP } from '../../src/protocol/ops.js';
import { FAST, kinds, mesh, node, peerOf, rawConnect, server, sleep, waitFor, type Node } from './peer-harness.js';

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

test('adopt(): a listener of its own (as the node will have) hands over peer hellos and keeps clients', async () => {
  // Stands in for ServerConnection: decodes frames, and on a peer hello stops reading and calls adopt().
  const got: { from: number; n: number }[] = [];
  const t = new PeerTransport({ nodeId: 1, peers: [], kinds, onMessage: (from, m) => got.push({ from, n: (m.body as { n: number }).n }), log: () => undefined, ...FAST });
  let clients = 0;
  const srv = await server((socket) => {
    const d = new FrameDecoder({ frameBytesMax: 1 << 20, headerBytesMax: HEADER_BYTES_MAX });
    const onData = (chunk: Buffer): void => {
      d.push(chunk);
      for (let r = d.next(); r !== null; r = d.next()) {
        if (!('frame' in r)) return void socket.destroy();
        const header = unpackHeader(r.frame.header);
        if (r.frame.op === OP.HELLO && isPeerHello(header)) {
          socket.pause();
          socket.off('data', onData);
          return t.adopt(socket, header, r.frame.requestId, d.bufferedBytes);
        }
        clients++;
        socket.write(Buffer.concat(encodeFrame({ version: 1, flags: FLAG_RESPONSE, op: r.frame.op, requestId: r.frame.requestId, header: { version: 1, nodeId: 1 } })));
      }
    };
    socket.on('data', onData);
  });
  const b = await node(2);
  try {
    b.t.addPeer({ id: 1, host: '127.0.0.1', port: srv.port, address: `127.0.0.1:${srv.port}` });
    for (let n = 0; n < 50; n++) b.t.send(1, { kind: 'test', body: { n } });
    await waitFor('50 messages through the adopted socket', () => got.length === 50);
    assert.deepEqual(got.map((g) => g.n), [...Array(50).keys()]);
    assert.ok(got.every((g) => g.from === 2));
    const client = await rawConnect(srv.port);
    client.send({ version: 1, flags: 0, op: OP.HELLO, requestId: 9, header: { versions: [1] } });
    await waitFor('client answered by the listener itself', () => client.frames.length === 1);
    assert.equal(clients, 1);
    client.socket.destroy();
  } finally {
    await Promise.all([t.close(), b.t.close()]);
    await srv.close();
  }
});
