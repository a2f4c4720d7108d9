/**
 * The client's connection against a scripted fake node: hello, server list
 * fail-over, a silent node (timeout drops the link, the next call redials).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { connect } from '../../src/client/index.js';
import { NativeLogError } from '../../src/client/types.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { FLAG_RESPONSE, encodeFrame } from '../../src/protocol/frame.js';
import { OP } from '../../src/protocol/ops.js';

/** Answers hello; answers listStreams only when `answer` is true. */
async function fakeNode(answer: boolean): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    const d = new FrameDecoder({ frameBytesMax: 1 << 20, headerBytesMax: 1 << 16 });
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      d.push(chunk);
      for (let r = d.next(); r !== null; r = d.next()) {
        if (!('frame' in r)) return socket.destroy();
        const f = r.frame;
        const limits = { frameBytesMax: 1 << 20, headerBytesMax: 1 << 16, inFlightPerConnectionMax: 8, recordBytesMax: 1 << 16, fetchWaitMsMax: 1000 };
        if (f.op === OP.HELLO) {
          for (const p of encodeFrame({ version: 1, flags: FLAG_RESPONSE, op: f.op, requestId: f.requestId, header: { version: 1, server: 'fake', nodeId: 9, limits } })) socket.write(p);
        } else if (answer) {
          for (const p of encodeFrame({ version: 1, flags: FLAG_RESPONSE, op: f.op, requestId: f.requestId, header: { streams: [] } })) socket.write(p);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test('connect() skips a server that refuses and uses the next one in the list', async () => {
  const good = await fakeNode(true);
  try {
    const client = await connect([`127.0.0.1:${await closedPort()}`, `127.0.0.1:${good.port}`]);
    assert.deepEqual(await client.listStreams(), []);
    assert.equal(client.connection.limits?.inFlightPerConnectionMax, 8);
    await client.close();
  } finally {
    good.server.close();
  }
});

test('connect() to no reachable server fails with a NativeLogError naming the address', async () => {
  const port = await closedPort();
  const err = await connect(`127.0.0.1:${port}`, { timeoutMs: 2000 }).then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof NativeLogError);
  assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
});

test('a node that stops answering: the call fails with TIMEOUT, the link is dropped, the next call dials again', async () => {
  const silent = await fakeNode(false);
  try {
    const client = await connect(`127.0.0.1:${silent.port}`, { timeoutMs: 300 });
    const err = await client.listStreams().then(
      () => assert.fail('expected TIMEOUT'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NativeLogError);
    assert.equal(err.codeName, 'TIMEOUT');
    await client.listStreams().catch(() => undefined);
    assert.equal(silent.connections(), 2, 'a new connection was made after the timeout');
    await client.close();
  } finally {
    silent.server.close();
  }
});

test('server addresses are validated', async () => {
  await assert.rejects(connect('nohost'), /Invalid server address/);
  await assert.rejects(connect([]), /at least one server/);
});
