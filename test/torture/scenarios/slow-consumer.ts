/**
 * Scenario 6, slow consumers and memory: producers at full speed push
 * volumeBytes (several times the memory bound) through a node configured
 * with explicit bounds, while consumers read slowly or not at all:
 *   - a client-library consumer (follow) that sleeps between records;
 *   - a raw connection that pipelines more fetches than the node's in-flight
 *     window and does not read its socket until the producers are done;
 *   - a raw connection whose long-poll fetches wait at the end of a shard,
 *     also never read until the end.
 * The node's peak RSS (/proc/PID/status VmHWM, the kernel's high-water mark,
 * so no sampling gap can hide a spike) must stay under
 *
 *   bound = idle RSS + shards x 2 x ringBytes
 *         + connections x (frameBytesMax + inFlightPerConnectionMax x max(frameBytesMax, ringBytes))
 *         + HEAP_SLACK_BYTES
 *
 * which is what the node's explicit bounds allow it to hold (the rings, one
 * partial frame per connection, and per in-flight request one request frame
 * or one read response, a read never exceeding the ring), plus room for V8
 * and allocator slack. Afterwards every response the slow readers got is
 * checked (CRC, serverCrc, seq, acked bytes).
 */
import { connect, type Client } from '../../../src/client/client.js';
import { OP } from '../../../src/protocol/ops.js';
import { packHeader } from '../../../src/protocol/frame.js';
import { Ledger } from '../harness/ledger.js';
import { LoadProducer, sleep, waitFor } from '../harness/load.js';
import { NodeProcess, type NodeFlags } from '../harness/node-proc.js';
import { RawConn, helloFrame } from '../harness/raw-conn.js';
import { rawFrame } from '../harness/hostile-frames.js';
import { checkFetchBody, text } from '../harness/records.js';
import { Rng, withSeed } from '../harness/rng.js';
import { tempDir } from '../harness/tmp.js';

/** The node's bounds in this scenario (passed as flags). */
export const SLOW_BOUNDS = {
  shards: 2,
  ringBytes: 1024 * 1024,
  frameBytesMax: 1024 * 1024,
  recordBytesMax: 256 * 1024,
  inFlightPerConnectionMax: 8,
};
/** Room for V8's heap growth, GC lag and allocator fragmentation on top of what the bounds allow. */
export const HEAP_SLACK_BYTES = 64 * 1024 * 1024;
/** Fetches the raw slow reader pipelines: far more than the in-flight window, so a node ignoring it would hold RAW_FETCHES x ~ringBytes. */
const RAW_FETCHES = 256;
/** Bytes asked per fetch by the slow readers. */
const FETCH_MAX_BYTES = 8 * 1024 * 1024;
const NS = 'torture';
const STREAM = 'slow';
/** Longest the producers may take to push volumeBytes (liveness bound). */
const PRODUCE_TIMEOUT_MS = 300_000;

export interface SlowConsumerOptions {
  seed: number;
  /** Bytes of payload the producers push (several times the bound). */
  volumeBytes: number;
  producers: number;
  log?: (line: string) => void;
}

export interface SlowConsumerStats {
  seed: number;
  idleRssBytes: number;
  boundBytes: number;
  peakRssBytes: number;
  producedBytes: number;
  producedRecords: number;
  slowLibRecordsChecked: number;
  rawRecordsChecked: number;
  connections: number;
}

export async function runSlowConsumer(o: SlowConsumerOptions): Promise<SlowConsumerStats> {
  const rng = new Rng(o.seed);
  const b = SLOW_BOUNDS;
  const flags: NodeFlags = {
    'ring-bytes': b.ringBytes,
    'frame-bytes-max': b.frameBytesMax,
    'record-bytes-max': b.recordBytesMax,
    'in-flight-per-connection-max': b.inFlightPerConnectionMax,
    fsync: 'interval:1000',
  };
  const { dir, cleanup } = tempDir('slow');
  let node: NodeProcess | undefined;
  const clients: Client[] = [];
  const raws: RawConn[] = [];
  const producers: LoadProducer[] = [];
  let stopLib = false;
  try {
    node = await NodeProcess.start(`${dir}/data`, flags);
    const admin = await connect(node.address);
    clients.push(admin);
    await admin.createStream(STREAM, { namespace: NS, shards: b.shards });
    await sleep(300);
    const idle = node.rssBytes();
    // Connections: admin + producers + the library consumer + two raw readers.
    const connections = 1 + o.producers + 1 + 2;
    const bound = idle + b.shards * 2 * b.ringBytes + connections * (b.frameBytesMax + b.inFlightPerConnectionMax * Math.max(b.frameBytesMax, b.ringBytes)) + HEAP_SLACK_BYTES;
    const stats: SlowConsumerStats = { seed: o.seed, idleRssBytes: idle, boundBytes: bound, peakRssBytes: 0, producedBytes: 0, producedRecords: 0, slowLibRecordsChecked: 0, rawRecordsChecked: 0, connections };

    const ledger = new Ledger();
    // The slow library consumer (follow, shard 0), checked against the ledger as it goes.
    const libClient = await connect(node.address);
    clients.push(libClient);
    const consumer = libClient.consumer(STREAM, { namespace: NS, shard: 0, from: 'earliest', follow: true, maxBytes: FETCH_MAX_BYTES, maxWaitMs: 200 });
    const libDone = (async () => {
      for await (const r of consumer) {
        const want = ledger.bySeq.get(0)?.get(r.seq);
        if (want !== undefined && text(r.value) !== want) throw new Error(`slow consumer: seq ${r.seq} is not the acked payload`);
        if (want !== undefined) stats.slowLibRecordsChecked++;
        if (r.seq % 50 === 0) await sleep(2);
        if (stopLib) break;
      }
    })().catch((e: unknown) => e as Error);

    // Raw reader 1 (its fetches are sent once data exists, below): it does not read its socket.
    const raw = await RawConn.open(node.host, node.port);
    raws.push(raw);
    await raw.hello(1, 30_000);
    raw.socket.pause();
    // Raw reader 2: long-polls at the end of each shard, never reading either.
    const poll = await RawConn.open(node.host, node.port);
    raws.push(poll);
    poll.send(helloFrame(1));
    await poll.until(() => poll.replies.has(1), 30_000, 'hello');
    poll.socket.pause();
    for (let i = 0; i < b.inFlightPerConnectionMax; i++) {
      poll.send(rawFrame({ op: OP.FETCH, header: packHeader({ namespace: NS, name: STREAM, shard: i % b.shards, fromSeq: Math.floor(i / b.shards) * 100, maxBytes: FETCH_MAX_BYTES, maxWaitMs: 30_000 }) }, 200 + i));
    }

    // Producers at full speed until volumeBytes are acked, sampling RSS meanwhile.
    for (let p = 0; p < o.producers; p++) {
      const c = await connect(node.address, { timeoutMs: 60_000 });
      clients.push(c);
      const lp = new LoadProducer(c, ledger, rng.fork(`p${p}`), { ns: NS, stream: STREAM, window: 1000, payloadBytesMin: 1024, payloadBytesMax: 8192, tag: `s${p}`, timeoutMs: 120_000, maxBatchBytes: 256 * 1024 });
      producers.push(lp);
      lp.start();
    }
    let produced = 0;
    const avg = (1024 + 8192) / 2;
    await waitFor(`${o.volumeBytes / 5} bytes produced`, () => ledger.acked.size * avg >= o.volumeBytes / 5, PRODUCE_TIMEOUT_MS, 20);
    // Pipeline RAW_FETCHES fetches spread over what exists, each asking for FETCH_MAX_BYTES.
    for (let i = 0; i < RAW_FETCHES; i++) {
      const shard = i % b.shards;
      const top = Math.max(1, ledger.maxAckedSeq(shard));
      raw.send(rawFrame({ op: OP.FETCH, header: packHeader({ namespace: NS, name: STREAM, shard, fromSeq: Math.floor((top * i) / RAW_FETCHES), maxBytes: FETCH_MAX_BYTES, maxWaitMs: 0 }) }, 100 + i));
    }
    await waitFor(`${o.volumeBytes} bytes produced`, () => {
      stats.peakRssBytes = Math.max(stats.peakRssBytes, node!.rssBytes());
      produced = ledger.acked.size * avg;
      return produced >= o.volumeBytes;
    }, PRODUCE_TIMEOUT_MS, 50);
    await Promise.all(producers.map((p) => p.stop()));
    stats.producedRecords = ledger.acked.size;
    stats.producedBytes = [...ledger.acked.keys()].reduce((n, k) => n + k.length, 0);
    stats.peakRssBytes = Math.max(stats.peakRssBytes, node.peakRssBytes());
    o.log?.(`idle RSS ${idle}, bound ${bound}, peak ${stats.peakRssBytes}, produced ${stats.producedBytes} bytes in ${stats.producedRecords} records`);
    if (stats.peakRssBytes > bound) {
      throw new Error(`node peak RSS ${stats.peakRssBytes} bytes exceeds the bound ${bound} (idle ${idle} + rings + per-connection frames and in-flight responses + ${HEAP_SLACK_BYTES} slack) with slow consumers and ${stats.producedBytes} bytes produced`);
    }

    // Now read everything the slow raw readers were sent, and check it.
    raw.socket.resume();
    poll.socket.resume();
    await raw.until(() => [...Array(RAW_FETCHES).keys()].every((i) => raw.replies.has(100 + i)) || raw.closed, 60_000, 'the pipelined fetch answers');
    for (let i = 0; i < RAW_FETCHES; i++) {
      const r = raw.replies.get(100 + i)?.[0];
      if (r === undefined || r.error) throw new Error(`pipelined fetch ${i} got ${r === undefined ? 'no answer' : JSON.stringify(r.header)}`);
      const shard = i % b.shards;
      const recs = checkFetchBody(r.frame.body, Number(r.header['firstSeq']), Number(r.header['count']), `raw fetch ${i}`);
      for (const rec of recs) {
        const want = ledger.bySeq.get(shard)?.get(rec.seq);
        if (want !== undefined && text(rec.payload) !== want) throw new Error(`raw fetch ${i}: shard ${shard} seq ${rec.seq} is not the acked payload`);
        stats.rawRecordsChecked++;
      }
    }
    stopLib = true;
    await consumer.close();
    const libErr = await libDone;
    if (libErr instanceof Error) throw libErr;
    if (!node.alive) throw new Error('the node died');
    return stats;
  } catch (err) {
    throw withSeed('slow-consumer', o.seed, `${(err as Error).message}${node === undefined ? '' : `; ${node.describeFailure()}`}`);
  } finally {
    stopLib = true;
    for (const p of producers) await p.stop().catch(() => undefined);
    for (const r of raws) r.destroy();
    for (const c of clients) await c.close().catch(() => undefined);
    if (node !== undefined) await node.kill9();
    cleanup();
  }
}
