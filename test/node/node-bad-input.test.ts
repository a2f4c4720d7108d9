import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connect, type Client } from '../../src/client/index.js';
import { ERROR_CODES } from '../../src/protocol/errors.js';
import { FLAG_ERROR, FLAG_RESPONSE, encodeFrameBytes } from '../../src/protocol/frame.js';
import { OP } from '../../src/protocol/ops.js';
import { encodeRecord } from '../../src/record/record.js';
import { startTestNode, type TestNode } from './in-process-node.js';
import { RawConnection, type RawResponse } from './raw-connection.js';

const FRAME_BYTES_MAX = 256 * 1024;
let t: TestNode;
let client: Client;

before(async () => {
  t = await startTestNode({ frameBytesMax: FRAME_BYTES_MAX });
  client = await connect(t.address);
  await client.createStream('s', { shards: 2 });
});

after(async () => {
  await client.close();
  await t.stop();
});

function assertError(r: RawResponse, name: keyof typeof ERROR_CODES): void {
  assert.equal(r.flags, FLAG_RESPONSE | FLAG_ERROR, `expected an error frame, got ${JSON.stringify(r.header)}`);
  assert.equal(r.header['code'], ERROR_CODES[name].code, String(r.header['message']));
  assert.equal(r.header['name'], name);
  assert.equal(typeof r.header['message'], 'string');
}

test('a request before hello gets HELLO_REQUIRED and the connection is closed', async () => {
  const c = await RawConnection.open(t.node.port, false);
  const r = await c.request(OP.LIST_STREAMS, 1, {});
  assertError(r, 'HELLO_REQUIRED');
  await c.closedByPeer();
});

test('hello without a common version gets UNSUPPORTED_VERSION naming the supported ones', async () => {
  const c = await RawConnection.open(t.node.port, false);
  const r = await c.request(OP.HELLO, 1, { versions: [99] });
  assertError(r, 'UNSUPPORTED_VERSION');
  assert.deepEqual((r.header['details'] as { supported: number[] }).supported, [1]);
  c.destroy();
});

test('unknown op, bad msgpack and bad fields get error frames and the connection keeps working', async () => {
  const c = await RawConnection.open(t.node.port);
  assertError(await c.request(999, 1, {}), 'UNKNOWN_OP');
  const badMsgpack = encodeFrameBytes({ version: 1, flags: 0, op: OP.LIST_STREAMS, requestId: 2, header: {} });
  const bytes = new Uint8Array(badMsgpack.length + 8);
  bytes.set(badMsgpack);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, bytes.length, true);
  dv.setUint32(12, 1, true);
  bytes[16] = 0xc1; // never-used msgpack byte
  c.write(bytes);
  assertError(await c.response(2), 'BAD_REQUEST');
  assertError(await c.request(OP.FETCH, 3, { name: 's', shard: 'zero', fromSeq: 0, maxBytes: 10, maxWaitMs: 0 }), 'BAD_REQUEST');
  assertError(await c.request(OP.DESCRIBE_STREAM, 4, [1, 2]), 'BAD_REQUEST');
  const ok = await c.request(OP.LIST_STREAMS, 5, {});
  assert.equal(ok.flags, FLAG_RESPONSE);
  c.destroy();
});

test('a frame above frameBytesMax gets FRAME_TOO_LARGE and a close; other clients keep being served', async () => {
  const c = await RawConnection.open(t.node.port);
  const prefix = new Uint8Array(16);
  new DataView(prefix.buffer).setUint32(0, FRAME_BYTES_MAX + 8, true);
  c.write(prefix);
  await c.closedByPeer();
  const r = c.responses.find((x) => x.requestId === 0);
  assert.ok(r !== undefined);
  assertError(r, 'FRAME_TOO_LARGE');
  assert.ok((await client.listStreams()).length >= 1);
});

test('an append part with a bad CRC gets BAD_RECORD for that part only; the other part is written', async () => {
  const good = encodeRecord({ payload: new TextEncoder().encode('good') });
  const bad = encodeRecord({ payload: new TextEncoder().encode('bad!') });
  bad[bad.length - 1]! ^= 0xff;
  const before = await client.describeStream('s');
  const c = await RawConnection.open(t.node.port);
  const r = await c.request(OP.APPEND, 1, { name: 's', parts: [{ shard: 0, bytes: bad.length }, { shard: 1, bytes: good.length }] }, [bad, good]);
  assert.equal(r.flags, FLAG_RESPONSE);
  const results = r.header['results'] as Record<string, unknown>[];
  assert.equal((results[0]!['error'] as { name: string }).name, 'BAD_RECORD');
  assert.equal(results[1]!['count'], 1);
  const after = await client.describeStream('s');
  assert.equal(after.shardInfo[0]!.endSeq, before.shardInfo[0]!.endSeq, 'nothing of the bad part written');
  assert.equal(after.shardInfo[1]!.endSeq, before.shardInfo[1]!.endSeq! + 1);
  c.destroy();
});

test('append parts that do not add up to the body get BAD_REQUEST and nothing is written', async () => {
  const rec = encodeRecord({ payload: new Uint8Array(3) });
  const c = await RawConnection.open(t.node.port);
  assertError(await c.request(OP.APPEND, 1, { name: 's', parts: [{ shard: 0, bytes: rec.length + 8 }] }, [rec]), 'BAD_REQUEST');
  assertError(await c.request(OP.APPEND, 2, { name: 's', parts: [{ shard: 0, bytes: 4 }] }, [rec]), 'BAD_REQUEST');
  c.destroy();
});

test('fetch outside the shard range gets OUT_OF_RANGE with the valid range', async () => {
  const c = await RawConnection.open(t.node.port);
  const d = await client.describeStream('s');
  const r = await c.request(OP.FETCH, 1, { name: 's', shard: 1, fromSeq: 1_000_000, maxBytes: 1000, maxWaitMs: 0 });
  assertError(r, 'OUT_OF_RANGE');
  assert.deepEqual(r.header['details'], { startSeq: d.shardInfo[1]!.startSeq, endSeq: d.shardInfo[1]!.endSeq });
  c.destroy();
});

test('random bytes and mutated frames after hello get error frames or a close, and a well-behaved client keeps working', async () => {
  const valid = encodeFrameBytes({
    version: 1,
    flags: 0,
    op: OP.APPEND,
    requestId: 77,
    header: { name: 's', parts: [{ shard: 0, bytes: 88 }] },
    body: [encodeRecord({ payload: new Uint8Array(5) })],
  });
  const garbage = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 600 }),
    fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }).map((flips) => {
      const b = valid.slice();
      for (const [at, x] of flips) b[at]! ^= x;
      return b;
    }),
  );
  await fc.assert(
    fc.asyncProperty(garbage, async (bytes) => {
      const c = await RawConnection.open(t.node.port);
      c.write(bytes);
      // A well-formed probe after the garbage: either it is answered (the garbage was
      // framed and answered) or the node closed the connection. Never silence, never a crash.
      c.write(encodeFrameBytes({ version: 1, flags: 0, op: OP.LIST_STREAMS, requestId: 0xfffffff1, header: {} }));
      await Promise.race([c.response(0xfffffff1).catch(() => undefined), c.closedByPeer(), settleSoon(c)]);
      for (const r of c.responses) {
        if (r.requestId === 0xfffffff0 || r.requestId === 0xfffffff1) continue;
        assert.ok(r.flags === FLAG_RESPONSE || r.flags === (FLAG_RESPONSE | FLAG_ERROR));
        if (r.flags !== FLAG_RESPONSE) assert.equal(typeof r.header['code'], 'number');
      }
      c.destroy();
      assert.ok(Array.isArray(await client.listStreams()));
    }),
    { numRuns: 150 },
  );
});

/**
 * Garbage can announce a frame longer than what was sent, so the node waits for
 * more bytes (correctly). Then the probe is swallowed into that frame: end the
 * stream instead, and the node must close or answer.
 */
async function settleSoon(c: RawConnection): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 20));
  c.socket.end();
  await c.closedByPeer();
}
