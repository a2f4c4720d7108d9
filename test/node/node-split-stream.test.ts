/**
 * undici-style over the node itself: a valid request stream (hello, appends,
 * fetches, lists), split at random points and written piece by piece over a
 * real socket, gets exactly the answers it would get in one piece.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connect, type Client } from '../../src/client/index.js';
import { FLAG_RESPONSE, encodeFrameBytes, type OutFrame } from '../../src/protocol/frame.js';
import { OP } from '../../src/protocol/ops.js';
import { encodeRecord } from '../../src/record/record.js';
import { concat, splitAt } from '../protocol/frame-arbitraries.js';
import { startTestNode, type TestNode } from './in-process-node.js';
import { RawConnection } from './raw-connection.js';

let t: TestNode;
let client: Client;

before(async () => {
  t = await startTestNode();
  client = await connect(t.address);
  await client.createStream('split', { shards: 2 });
});

after(async () => {
  await client.close();
  await t.stop();
});

const requestArb = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), shard: fc.integer({ min: 0, max: 1 }), payload: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant('fetch' as const), shard: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ kind: fc.constant('list' as const) }),
);

test('valid request streams split at random points get every answer, in full', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 15 }), async (reqs, cuts) => {
      const c = await RawConnection.open(t.node.port, false);
      const frames: OutFrame[] = [{ version: 1, flags: 0, op: OP.HELLO, requestId: 1000, header: { versions: [1] } }];
      reqs.forEach((r, i) => {
        const requestId = i + 1;
        if (r.kind === 'append') {
          const rec = encodeRecord({ payload: r.payload });
          frames.push({ version: 1, flags: 0, op: OP.APPEND, requestId, header: { name: 'split', parts: [{ shard: r.shard, bytes: rec.length }] }, body: [rec] });
        } else if (r.kind === 'fetch') {
          frames.push({ version: 1, flags: 0, op: OP.FETCH, requestId, header: { name: 'split', shard: r.shard, fromSeq: 0, maxBytes: 1 << 16, maxWaitMs: 0 } });
        } else {
          frames.push({ version: 1, flags: 0, op: OP.LIST_STREAMS, requestId, header: {} });
        }
      });
      for (const piece of splitAt(concat(frames.map(encodeFrameBytes)), cuts)) {
        c.write(piece);
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (let i = 0; i < reqs.length; i++) {
        const r = await c.response(i + 1);
        assert.equal(r.flags, FLAG_RESPONSE, JSON.stringify(r.header));
        const req = reqs[i]!;
        if (req.kind === 'append') assert.equal((r.header['results'] as { count: number }[])[0]!.count, 1);
        if (req.kind === 'list') assert.ok(Array.isArray(r.header['streams']));
        if (req.kind === 'fetch') assert.equal(typeof r.header['nextSeq'], 'number');
      }
      c.destroy();
    }),
    { numRuns: 60 },
  );
});
