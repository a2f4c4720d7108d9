/**
 * The peer hello's identity checks, seen from both ends: the wrong node id,
 * a cluster-id mismatch, an unsupported peer version, the owner's policy, and
 * a dialer that sends before the answer. Refusals carry one clear sentence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OP } from '../../src/protocol/ops.js';
import { FLAG_ERROR, encodeFrame } from '../../src/protocol/frame.js';
import { node, peerHello, peerMsg, peerOf, rawConnect, server, waitFor } from './peer-harness.js';
import { FLAG_RESPONSE } from '../../src/protocol/frame.js';

test('dialing the wrong node id is refused with the clear sentence on both sides', async () => {
  const a = await node(1);
  const c = await node(3);
  try {
    a.t.addPeer(peerOf(c, 2)); // a believes node 2 lives at c's address
    const sentence = `127.0.0.1:${c.port} is node 3, not node 2`;
    await waitFor('refusal seen by the dialer', () => a.t.status()[0]!.lastError === sentence);
    await waitFor('refusal logged by the acceptor', () => c.logs.some((l) => l.includes(sentence)));
    assert.ok(a.logs.some((l) => l.includes(sentence)), a.logs.join('\n'));
    assert.ok(c.logs.some((l) => l.startsWith('refused the peer hello of node 1 from 127.0.0.1:')), c.logs.join('\n'));
    assert.equal(a.t.status()[0]!.connected, false);
    assert.ok(c.t.refusedHellos >= 1);
    assert.equal(a.t.send(2, { kind: 'test', body: { n: 1 } }), true);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.got.length, 0);
  } finally {
    await Promise.all([a.t.close(), c.t.close()]);
  }
});

test('a cluster-id mismatch is refused; a node without a cluster id yet is let in; setClusterId takes effect', async () => {
  const a = await node(1, { clusterId: 'alpha' });
  const b = await node(2, { clusterId: 'beta' });
  const n = await node(4, { clusterId: null });
  try {
    a.t.addPeer(peerOf(b));
    const sentence = 'cluster id mismatch: node 2 belongs to cluster "beta" but node 1 belongs to cluster "alpha"';
    await waitFor('mismatch at the dialer', () => (a.t.status()[0]!.lastError ?? '').includes(sentence));
    assert.ok(b.logs.some((l) => l.includes(sentence)), b.logs.join('\n'));
    n.t.addPeer(peerOf(a));
    n.t.send(1, { kind: 'test', body: { n: 7 } });
    await waitFor('the node without a cluster id reaches alpha', () => a.got.length === 1);
    // Once it adopts another cluster's id, its next hello is refused.
    n.t.setClusterId('gamma');
    await a.t.close();
    const a2 = await node(1, { clusterId: 'alpha' }, a.port);
    try {
      await waitFor('refused after setClusterId', () => /cluster id mismatch/.test(n.t.status()[0]!.lastError ?? ''));
    } finally {
      await a2.t.close();
    }
  } finally {
    await Promise.all([a.t.close(), b.t.close(), n.t.close()]);
  }
});

test('the acceptPeer policy refuses on both sides with its sentence', async () => {
  const policy = (r: { nodeId: number }) => (r.nodeId === 5 ? 'node 5 was removed from the cluster' : null);
  const a = await node(1, { acceptPeer: policy });
  const x = await node(5);
  try {
    x.t.addPeer(peerOf(a));
    await waitFor('refused by policy', () => /node 5 was removed from the cluster/.test(x.t.status()[0]!.lastError ?? ''));
    assert.ok(a.logs.some((l) => /node 5 was removed/.test(l)));
    // The dialer side applies it too: node 1 will not talk to node 5 even if 5 would accept.
    a.t.addPeer(peerOf(x));
    await waitFor('dialer-side policy', () => /node 5 was removed/.test(a.t.status()[0]!.lastError ?? ''));
    assert.equal(a.t.status()[0]!.connected, false);
  } finally {
    await Promise.all([a.t.close(), x.t.close()]);
  }
});

test('no common peer protocol version, a bad hello, and bytes before the answer are refused and closed', async () => {
  const a = await node(1);
  try {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ peerVersions: [9] }, 'PEER_UNSUPPORTED_VERSION', /No common peer protocol version: node 1 speaks 1, node 2 offered 9/],
      [{ versions: [7] }, 'UNSUPPORTED_VERSION', /No common protocol version/],
      [{ from: 0 }, 'BAD_REQUEST', /field "from"/],
      [{ clusterId: 42 }, 'BAD_REQUEST', /field "clusterId"/],
      [{ from: 1 }, 'PEER_REFUSED', /claims this node's own id/],
    ];
    for (const [extra, name, why] of cases) {
      const c = await rawConnect(a.port);
      c.send(peerHello(2, 1, extra));
      await waitFor('closed after refusal', c.isClosed, 3000);
      const f = c.frames[0]!;
      assert.equal(f.frame.op, OP.HELLO);
      assert.ok((f.frame.flags & FLAG_ERROR) !== 0);
      assert.equal((f.header as { name: string }).name, name);
      assert.match((f.header as { message: string }).message, why);
    }
    const c = await rawConnect(a.port);
    c.socket.write(Buffer.concat([...encodeFrame(peerHello(2, 1)), ...encodeFrame(peerMsg(2, 1, { n: 1 }))]));
    await waitFor('closed after refusal', c.isClosed, 3000);
    assert.match((c.frames[0]!.header as { message: string }).message, /sent \d+ bytes before the hello answer/);
    assert.equal(a.got.length, 0);
  } finally {
    await a.t.close();
  }
});

test('an acceptor that skips its checks is caught by the dialer (wrong id, other cluster)', async () => {
  let answer: Record<string, unknown> = { version: 1, role: 'peer', peerVersion: 1, nodeId: 3, clusterId: null };
  const liar = await server((s) => {
    s.once('data', (chunk) => {
      s.write(Buffer.concat(encodeFrame({ version: 1, flags: FLAG_RESPONSE, op: OP.HELLO, requestId: chunk.readUInt32LE(8), header: answer })));
    });
  });
  const a = await node(1, { clusterId: 'alpha' });
  try {
    a.t.addPeer({ id: 2, host: '127.0.0.1', port: liar.port, address: `127.0.0.1:${liar.port}` });
    await waitFor('wrong id caught', () => a.t.status()[0]!.lastError === `127.0.0.1:${liar.port} is node 3, not node 2`);
    answer = { ...answer, nodeId: 2, clusterId: 'beta' };
    await waitFor('other cluster caught', () => /cluster id mismatch/.test(a.t.status()[0]!.lastError ?? ''));
    answer = { ...answer, peerVersion: 9, clusterId: 'alpha' };
    await waitFor('unknown peer version caught', () => /peer protocol version 9/.test(a.t.status()[0]!.lastError ?? ''));
    assert.equal(a.t.status()[0]!.connected, false);
    answer = { ...answer, peerVersion: 1 };
    await waitFor('an honest answer connects', () => a.t.status()[0]!.connected);
  } finally {
    await a.t.close();
    await liar.close();
  }
});
