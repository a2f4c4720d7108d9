/**
 * Produce/consume throughput of the client library against a real node
 * process (started here on a temp data dir unless --server is given).
 *
 *   node dist/test/client/client-bench.js [--records N] [--size BYTES] [--shards S] [--linger MS] [--batch BYTES] [--fsync POLICY] [--server HOST:PORT]
 */
import { connect } from '../../src/client/index.js';
import { makeDataDir, removeDataDir, startNodeProcess, type NodeProcess } from './node-process.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const records = Number(arg('records', '200000'));
const size = Number(arg('size', '100'));
const shards = Number(arg('shards', '4'));
const lingerMs = Number(arg('linger', '2'));
const maxBatchBytes = Number(arg('batch', String(256 * 1024)));
const fsync = arg('fsync', 'always');
const server = arg('server', '');

let node: NodeProcess | undefined;
let address = server;
if (server === '') {
  node = await startNodeProcess(await makeDataDir(), 0, ['--fsync', fsync]);
  address = node.address;
}
const client = await connect(address);
const stream = `bench-${Date.now()}`;
await client.createStream(stream, { shards });
const payload = new Uint8Array(size).fill(120);
const producer = client.producer(stream, { lingerMs, maxBatchBytes });

let t0 = performance.now();
const WINDOW = 50_000;
for (let i = 0; i < records; i += WINDOW) {
  const n = Math.min(WINDOW, records - i);
  const acks: Promise<unknown>[] = new Array(n);
  for (let k = 0; k < n; k++) acks[k] = producer.send({ value: payload });
  await Promise.all(acks);
}
const produceS = (performance.now() - t0) / 1000;

t0 = performance.now();
let n = 0;
let bytes = 0;
for await (const r of client.consumer(stream, { maxBytes: 1024 * 1024 })) {
  n++;
  bytes += r.value.length;
}
const consumeS = (performance.now() - t0) / 1000;
if (n !== records) throw new Error(`consumed ${n} of ${records}`);

const mb = (records * size) / 1e6;
console.log(
  JSON.stringify({
    records,
    payloadBytes: size,
    shards,
    fsync,
    lingerMs,
    maxBatchBytes,
    produce: { seconds: +produceS.toFixed(2), recordsPerSec: Math.round(records / produceS), payloadMBPerSec: +(mb / produceS).toFixed(1) },
    consume: { seconds: +consumeS.toFixed(2), recordsPerSec: Math.round(records / consumeS), payloadMBPerSec: +(bytes / 1e6 / consumeS).toFixed(1) },
  }),
);
await client.deleteStream(stream);
await client.close();
if (node !== undefined) {
  await node.stop();
  await removeDataDir(node.dataDir);
}
