/**
 * Faults at the edge of peer links: a peer that is down (bounded queue drops
 * and counts, memory stays bounded), a blackholed peer (accepts, never reads
 * nor answers) and a peer that stops reading after hello (write-side
 * backpressure, stall detection) do not block sends to the others; a peer
 * that speaks for another node, or sends malformed or oversized frames, is cut
 * off without touching the other links.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLAG_ERROR, FLAG_RESPONSE, encodeFrame } from '../../src/protocol/frame.js';
import { OP, PEER_OP } from '../../src/protocol/ops.js';
import { memoryBytes, mesh, node, peerMsg, rawPeer, server, sleep, waitFor, type RawConn } from './peer-harness.js';

const MiB = 1024 * 1024;

test('a down peer: the queue stops at its bounds, drops the newest and counts, memory stays bounded, send never blocks', async () => {
  const dead = await server((s) => s.destroy()); // connects, then closes at once: never up
  const a = await node(1, { queueMessagesMax: 1000, queueBytesMax: 2 * MiB });
  try {
    a.t.addPeer({ id: 2, host: '127.0.0.1', port: dead.port, address: `127.0.0.1:${dead.port}` });
    const blob = 'x'.repeat(10_000);
    const before = await memoryBytes();
    const t0 = performance.now();
    let accepted = 0;
    for (let n = 0; n < 10_000; n++) if (a.t.send(2, { kind: 'test', body: { n, blob } })) accepted++; // ~100 MB offered
    const sendMs = performance.now() - t0;
    const row = a.t.status()[0]!;
    assert.ok(row.queuedBytes <= 2 * MiB && row.queued <= 1000, JSON.stringify(row));
    assert.equal(row.queued, accepted);
    assert.equal(row.dropped, 10_000 - accepted);
    assert.ok(accepted > 100 && accepted < 300, `accepted ${accepted}`); // the byte bound bit first (about 2 MiB / 10 KB)
    const grown = (await memoryBytes()) - before;
    assert.ok(grown < 16 * MiB, `memory grew by ${(grown / MiB).toFixed(1)} MiB`);
    assert.ok(sendMs < 5000, `10k sends took ${sendMs} ms`);
    // The message bound too (small messages to a second dead peer).
    a.t.addPeer({ id: 3, host: '127.0.0.1', port: dead.port, address: `127.0.0.1:${dead.port}` });
    for (let n = 0; n < 5000; n++) a.t.send(3, { kind: 'test', body: { n } });
    const small = a.t.status()[1]!;
    assert.equal(small.queued, 1000);
    assert.equal(small.dropped, 4000);
  } finally {
    await a.t.close();
    await dead.close();
  }
});

test('a blackholed peer (accepts, never reads nor answers) blocks neither sends to the others nor memory', async () => {
  const hole = await server(() => undefined);
  const a = await node(1, { queueMessagesMax: 500, queueBytesMax: 1 * MiB, handshakeMsMax: 200 });
  const b = await node(2);
  try {
    mesh([a, b]);
    await waitFor('a to b up', () => a.t.status()[0]!.connected);
    a.t.addPeer({ id: 3, host: '127.0.0.1', port: hole.port, address: `127.0.0.1:${hole.port}` });
    const blob = 'y'.repeat(4000);
    const before = await memoryBytes();
    for (let n = 0; n < 3000; n++) {
      a.t.send(3, { kind: 'test', body: { n, blob } });
      assert.equal(a.t.send(2, { kind: 'test', body: { n } }), true);
      if (n % 100 === 0) await sleep(1);
    }
    await waitFor('every message to the healthy peer', () => b.got.length === 3000, 10_000);
    await waitFor('the blackhole handshake timed out at least once', () => (a.t.status()[1]!.lastError ?? '').includes('no hello answer within 200 ms'));
    const [toB, toHole] = a.t.status();
    assert.equal(toB!.dropped, 0);
    assert.equal(toHole!.connected, false);
    assert.ok(toHole!.queuedBytes <= 1 * MiB && toHole!.dropped > 0, JSON.stringify(toHole));
    const grown = (await memoryBytes()) - before;
    assert.ok(grown < 16 * MiB, `memory grew by ${(grown / MiB).toFixed(1)} MiB`);
  } finally {
    await Promise.all([a.t.close(), b.t.close()]);
    await hole.close();
  }
});

test('a peer that stops reading after hello: writes pause on backpressure, the queue stays bounded, the stalled link is redialed', async () => {
  let conns = 0;
  // Answers the hello, then never reads again (a partition that keeps the socket open).
  const stuck = await server((s) => {
    conns++;
    s.once('data', (chunk) => {
      const requestId = chunk.readUInt32LE(8);
      s.write(Buffer.concat(encodeFrame({ version: 1, flags: FLAG_RESPONSE, op: OP.HELLO, requestId, header: { version: 1, role: 'peer', peerVersion: 1, nodeId: 2, clusterId: null } })));
      s.pause();
    });
  });
  const a = await node(1, { queueMessagesMax: 10_000, queueBytesMax: 4 * MiB, writeStallMsMax: 1000 });
  const c = await node(3);
  try {
    mesh([a, c]);
    a.t.addPeer({ id: 2, host: '127.0.0.1', port: stuck.port, address: `127.0.0.1:${stuck.port}` });
    await waitFor('connected to the stuck peer', () => a.t.status()[0]!.connected);
    const blob = 'z'.repeat(50_000);
    const before = await memoryBytes();
    for (let n = 0; n < 2000; n++) {
      a.t.send(2, { kind: 'test', body: { n, blob } }); // 100 MB offered
      if (n % 100 === 0) await sleep(1);
    }
    a.t.send(3, { kind: 'test', body: { n: 1 } });
    await waitFor('the other peer still served', () => c.got.length === 1);
    const row = a.t.status()[0]!;
    assert.ok(row.queuedBytes <= 4 * MiB && row.dropped > 0, JSON.stringify(row));
    // Backpressure: the socket's own buffer holds at most its high-water mark (16 KiB) plus one 50 KB frame.
    assert.ok(row.writeBufferBytes > 0 && row.writeBufferBytes < 16 * 1024 + 51_000, JSON.stringify(row));
    const grown = (await memoryBytes()) - before;
    // Queue (4 MiB) + kernel/socket buffers; far below the 100 MB offered.
    assert.ok(grown < 24 * MiB, `memory grew by ${(grown / MiB).toFixed(1)} MiB`);
    await waitFor('stall detected and redialed', () => /no write progress for 1000 ms/.test(a.t.status()[0]!.lastError ?? '') && conns >= 2, 5000);
  } finally {
    await Promise.all([a.t.close(), c.t.close()]);
    await stuck.close();
  }
});

/** Opens a raw link from node 2 to node 1 (a) and checks that `bad` gets it cut off, while node 3's link keeps working. */
async function cutOff(opts: { frameBytesMax?: number }, bad: (c: RawConn) => void, why: RegExp): Promise<void> {
  const a = await node(1, opts);
  const c = await node(3);
  try {
    mesh([a, c]);
    const raw = await rawPeer(a.port, 2, 1);
    raw.send(peerMsg(2, 1, { n: 1 }));
    await waitFor('a good message first', () => a.got.length === 1);
    bad(raw);
    raw.send(peerMsg(2, 1, { n: 2 })); // after the violation: must never be delivered
    await waitFor('the link closed', raw.isClosed, 3000);
    const err = raw.frames.find((f) => (f.frame.flags & FLAG_ERROR) !== 0);
    assert.ok(err !== undefined, 'an error frame before the close');
    assert.equal((err.header as { name: string }).name, 'PEER_BAD_MESSAGE');
    assert.match((err.header as { message: string }).message, why);
    assert.ok(a.logs.some((l) => l.startsWith('closing the peer link from node 2: ') && why.test(l)), a.logs.join('\n'));
    assert.deepEqual(a.got.map((g) => [g.from, (g.msg.body as { n: number }).n]), [[2, 1]]);
    assert.equal(a.t.badLinks, 1);
    c.t.send(1, { kind: 'test', body: { n: 33 } });
    await waitFor('the other link still delivers', () => a.got.length === 2);
    assert.deepEqual(a.got[1]!.from, 3);
  } finally {
    await Promise.all([a.t.close(), c.t.close()]);
  }
}

test('a peer claiming another from is cut off', () => cutOff({}, (r) => r.send(peerMsg(3, 1, { n: 9 })), /a message from node 3 on the link of node 2/));

test('a message addressed to another node is cut off', () => cutOff({}, (r) => r.send(peerMsg(2, 7, { n: 9 })), /a message for node 7 reached node 1/));

test('an unknown kind is cut off', () => cutOff({}, (r) => r.send(peerMsg(2, 1, { n: 9 }, 'bogus')), /unknown message kind "bogus"/));

test('a body failing its kind check is cut off', () => cutOff({}, (r) => r.send(peerMsg(2, 1, { n: 'nine' })), /bad "test" message: body.n must be a number/));

test('a wrong envelope version is cut off', () =>
  cutOff({}, (r) => r.send({ version: 1, flags: 0, op: PEER_OP.MESSAGE, requestId: 3, header: { v: 2, kind: 'test', from: 2, to: 1, body: { n: 1 } } }), /envelope version 2/));

test('a frame that is not msgpack is cut off', () =>
  cutOff(
    {},
    (r) => {
      const f = Buffer.concat(encodeFrame({ version: 1, flags: 0, op: PEER_OP.MESSAGE, requestId: 4, header: { v: 1 } }));
      f.fill(0xc1, 16, 16 + f.readUInt32LE(12)); // 0xc1 is never valid msgpack
      r.socket.write(f);
    },
    /not valid msgpack/,
  ));

test('another op on a peer link is cut off', () => cutOff({}, (r) => r.send({ ...peerMsg(2, 1, { n: 1 }), op: OP.APPEND }), /op 6 on a peer link/));

test('a non-empty body is cut off', () => cutOff({}, (r) => r.send({ ...peerMsg(2, 1, { n: 1 }), body: [new Uint8Array(8)] }), /8-byte body/));

test('an oversized frame is cut off as soon as its length arrives', () =>
  cutOff(
    { frameBytesMax: 64 * 1024 },
    (r) => {
      const prefix = Buffer.alloc(16);
      prefix.writeUInt32LE(64 * 1024 * 1024, 0); // announces 64 MiB; nothing more is sent
      r.socket.write(prefix);
    },
    /exceeds frameBytesMax 65536/,
  ));

test('a frame length below the prefix is cut off', () =>
  cutOff(
    {},
    (r) => {
      const prefix = Buffer.alloc(16);
      prefix.writeUInt32LE(5, 0);
      r.socket.write(prefix);
    },
    /below the 16-byte prefix/,
  ));

test('a throwing onMessage handler is logged and the link goes on', async () => {
  const a = await node(1);
  const b = await node(2);
  let calls = 0;
  const t = a.t as unknown as { o: { onMessage: (f: number, m: unknown) => void } };
  t.o.onMessage = () => {
    calls++;
    throw new Error('handler bug');
  };
  try {
    mesh([a, b]);
    b.t.send(1, { kind: 'test', body: { n: 1 } });
    b.t.send(1, { kind: 'test', body: { n: 2 } });
    await waitFor('both delivered', () => calls === 2);
    assert.ok(a.logs.some((l) => /the handler of a "test" message from node 2 threw: handler bug/.test(l)));
    assert.equal(a.t.status()[0]!.inbound, true);
  } finally {
    await Promise.all([a.t.close(), b.t.close()]);
  }
});
