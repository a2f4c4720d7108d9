/**
 * undici-style: valid frame streams, split at random points, written over a
 * real loopback socket with pauses between pieces, decode to exactly the
 * frames sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { unpackHeader } from '../../src/protocol/frame.js';
import { frameArb, concat, splitAt, streamOf } from './frame-arbitraries.js';

interface Seen {
  op: number;
  requestId: number;
  header: unknown;
  body: Buffer;
}

test('frames split at random points over a real socket decode exactly', async () => {
  let onSeen: (s: Seen) => void = () => undefined;
  const server = createServer((socket) => {
    const d = new FrameDecoder({ frameBytesMax: 1 << 20, headerBytesMax: 4096 });
    socket.on('data', (chunk) => {
      d.push(chunk);
      for (let r = d.next(); r !== null; r = d.next()) {
        assert.ok('frame' in r, 'valid frames never produce a problem');
        onSeen({ op: r.frame.op, requestId: r.frame.requestId, header: unpackHeader(r.frame.header), body: Buffer.from(r.frame.body) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), async (frames, cuts) => {
        const seen: Seen[] = [];
        const all = new Promise<void>((resolve) => {
          onSeen = (s) => {
            seen.push(s);
            if (seen.length === frames.length) resolve();
          };
        });
        const socket = connect({ port, host: '127.0.0.1', noDelay: true });
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        for (const piece of splitAt(streamOf(frames), cuts)) {
          socket.write(piece);
          await new Promise((resolve) => setImmediate(resolve));
        }
        await all;
        socket.destroy();
        assert.deepEqual(
          seen.map((s) => [s.op, s.requestId, s.header, s.body]),
          frames.map((f) => [f.op, f.requestId, f.header, Buffer.from(concat(f.body ?? []))]),
        );
      }),
      { numRuns: 40 },
    );
  } finally {
    server.close();
  }
});
