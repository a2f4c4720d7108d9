/**
 * Child-process entry: a TCP sink on 127.0.0.1 for the loopback limit. It
 * lives in its own process, as the node does, so the measured limit is two
 * processes talking over loopback, not one event loop talking to itself.
 *
 * Protocol: the client's first 8 bytes are the total byte count to follow
 * (u64 LE); once that many bytes arrived the sink answers one byte and the
 * client stops its clock. Parent gets {port} over IPC; disconnect ends us.
 */
import { createServer } from 'node:net';

const server = createServer({ noDelay: true }, (sock) => {
  let expected = -1;
  let got = 0;
  let head = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    if (expected < 0) {
      head = Buffer.concat([head, chunk]);
      if (head.length < 8) return;
      expected = Number(head.readBigUInt64LE(0));
      got = head.length - 8;
    } else {
      got += chunk.length;
    }
    if (got >= expected && expected >= 0) {
      sock.write(Buffer.from([1]));
      expected = Number.MAX_SAFE_INTEGER; // answer once
    }
  });
  sock.on('error', () => sock.destroy());
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('tcp sink has no port');
  process.send?.({ port: addr.port });
});
process.on('disconnect', () => process.exit(0));
