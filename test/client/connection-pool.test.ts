/**
 * The pool of connections to other nodes is bounded (POOLED_CONNECTIONS_MAX):
 * past the bound the least recently used idle connection is closed, and when
 * every pooled one is busy the caller gets the primary connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { ClientConnection } from '../../src/client/connection.js';
import { ConnectionPool, POOLED_CONNECTIONS_MAX } from '../../src/client/connection-pool.js';
import { parseServers } from '../../src/client/server-address.js';

const OPTS = { timeoutMs: 2000, reconnectMinMs: 10, reconnectMaxMs: 50, inFlightMax: 8 };

/** A listener that accepts and never answers: a request sent there stays in flight. */
async function silentServer(): Promise<{ address: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('the default bound is named and positive', () => {
  assert.ok(Number.isInteger(POOLED_CONNECTIONS_MAX) && POOLED_CONNECTIONS_MAX > 0);
});

test('one connection per address, reused; past the bound the least recently used idle one is closed', async () => {
  const primary = new ClientConnection(parseServers('127.0.0.1:1'), OPTS);
  const pool = new ConnectionPool(primary, OPTS, 2);
  const a = pool.forAddress('127.0.0.1:7001');
  assert.equal(pool.forAddress('127.0.0.1:7001'), a, 'reused');
  const b = pool.forAddress('127.0.0.1:7002');
  pool.forAddress('127.0.0.1:7001'); // a is now the most recently used
  const c = pool.forAddress('127.0.0.1:7003');
  assert.equal(pool.size, 2);
  assert.deepEqual(pool.addresses(), ['127.0.0.1:7001', '127.0.0.1:7003']);
  assert.ok(b.isClosed, 'the least recently used one was closed');
  assert.ok(!a.isClosed && !c.isClosed);
  assert.throws(() => pool.forAddress('no-port'), /host:port/);
  await pool.close();
  assert.ok(a.isClosed && c.isClosed && primary.isClosed);
});

test('when every pooled connection is busy, the caller gets the primary connection and nothing is closed', async (t) => {
  const s1 = await silentServer();
  const s2 = await silentServer();
  const primary = new ClientConnection(parseServers('127.0.0.1:1'), OPTS);
  const pool = new ConnectionPool(primary, OPTS, 2);
  t.after(async () => {
    await pool.close();
    await s1.close();
    await s2.close();
  });
  const busy = [pool.forAddress(s1.address), pool.forAddress(s2.address)];
  const inFlight = busy.map((c) => c.request(4, {}, { timeoutMs: 1000 }).catch((e: Error) => e));
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(busy.every((c) => !c.idle), 'both wait for an answer');
  assert.equal(pool.forAddress('127.0.0.1:7009'), primary);
  assert.equal(pool.size, 2);
  assert.ok(busy.every((c) => !c.isClosed));
  await Promise.all(inFlight);
});
