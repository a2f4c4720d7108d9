/**
 * CPU cost per record of the client library, in process, no network:
 *
 *   node dist/bench/client-cpu-bench.js [--records N] [--record-bytes B] [--json]
 *
 * Four phases, each run once on a few records to warm the JIT, then measured
 * (process.cpuUsage: user + system CPU of this process, and wall time):
 *
 * - produce: Producer.send() for every record through a fake in-memory
 *   connection (the real Producer: batching, encodeRecordInto, one promise
 *   per record, the pump; the fake connection encodes the append frame as
 *   the real one does and acks each batch on the next I/O turn). A closed
 *   loop keeps 4 MiB of records in flight, like `nativelog bench`.
 * - produce+driver: the same through the bench's ProducerDriver (payload
 *   slab, ack latency recorded in the HDR histogram for every record).
 * - consume: Consumer.batches() over one shard through a fake connection
 *   whose fetch answers (4 MiB each, records with their server fields
 *   patched) are prebuilt as 64 KiB socket chunks before the clock starts
 *   and go through the real FrameDecoder and header unpacking on each
 *   fetch; every record is CRC-checked and decoded into a ConsumedRecord.
 * - consume+check: the same plus the bench's DeliveryCheck on every record
 *   (what `nativelog bench`'s consume phase does).
 *
 * A full GC runs before each measured phase. CPU time is what to compare: the machine is shared, wall time is noisy.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Producer } from '../src/client/producer.js';
import { Consumer } from '../src/client/consumer.js';
import type { Client } from '../src/client/client.js';
import type { RequestOptions, Response } from '../src/client/connection.js';
import { encodeFrame, FLAG_RESPONSE, packHeader, unpackHeader } from '../src/protocol/frame.js';
import { FrameDecoder } from '../src/protocol/frame-decoder.js';
import { OP } from '../src/protocol/ops.js';
import { encodeRecordInto, encodedRecordLength, patchServerFields } from '../src/record/record.js';
import { LatencyHistogram } from '../src/bench/latency-histogram.js';
import { ProducerDriver } from '../src/bench/producer-driver.js';
import { SendSchedule } from '../src/bench/send-schedule.js';
import { DeliveryCheck } from '../src/bench/delivery-check.js';
import { PayloadSlab, payloadTemplate } from '../src/bench/bench-payload.js';
import type { SendResult } from '../src/client/types.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const records = Number(arg('records', '200000'));
const recordBytes = Number(arg('record-bytes', '1024'));
const json = process.argv.includes('--json');
/** --only produce,consume,...: run only these phases (default all four). */
const only = new Set(arg('only', 'produce,produceDriver,consume,consumeCheck').split(','));
const IN_FLIGHT_BYTES = 4 * 1024 * 1024;
const FETCH_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
const LIMITS = { frameBytesMax: 64 * 1024 * 1024, headerBytesMax: 64 * 1024, inFlightPerConnectionMax: 256, recordBytesMax: 8 * 1024 * 1024, fetchWaitMsMax: 30_000 };
const CONN_OPTS = { timeoutMs: 30_000, reconnectMinMs: 50, reconnectMaxMs: 2_000, inFlightMax: 256 };

if (!Number.isInteger(records) || records < 1 || !Number.isInteger(recordBytes) || recordBytes < 24) {
  console.error('usage: client-cpu-bench [--records N >= 1] [--record-bytes B >= 24] [--json]');
  process.exit(2);
}

interface PhaseResult {
  records: number;
  cpuUsPerRecord: number;
  userUsPerRecord: number;
  sysUsPerRecord: number;
  wallUsPerRecord: number;
}

// A full GC before each measured phase, so no phase pays for the garbage of the one before (or of buildStream).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function measure(n: number, run: () => Promise<void>): Promise<PhaseResult> {
  gc();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wall = (performance.now() - t0) * 1000;
  const c = process.cpuUsage(c0);
  const r = (v: number): number => Math.round((v / n) * 1000) / 1000;
  return { records: n, cpuUsPerRecord: r(c.user + c.system), userUsPerRecord: r(c.user), sysUsPerRecord: r(c.system), wallUsPerRecord: r(wall) };
}

/** Length of each record run in a batch body: the fake node's record count. */
function countRecords(bytes: Uint8Array): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  for (let off = 0; off < bytes.length; off += dv.getUint32(off, true)) n++;
  return n;
}

/** A Client whose connection acks every append on the next I/O turn (seqs counted per shard). */
function fakeProducerClient(): Client {
  let nextSeq = 0;
  const connection = {
    limits: LIMITS,
    opts: CONN_OPTS,
    request(op: number, header: { parts: { shard: number; bytes: number }[] }, ro: RequestOptions = {}): Promise<Response> {
      if (op !== OP.APPEND) return Promise.reject(new Error(`fake: op ${op}`));
      encodeFrame({ version: 1, flags: 0, op, requestId: 1, header, body: ro.body }); // what the real connection does per request
      const body = ro.body ?? [];
      const results = body.map((part) => {
        const count = countRecords(part);
        const r = { firstSeq: nextSeq, count };
        nextSeq += count;
        return r;
      });
      const answer = packHeader({ results }); // the node's answer header, unpacked by the client
      return new Promise((resolve) => setImmediate(() => resolve({ header: unpackHeader(answer) as Record<string, unknown>, body: new Uint8Array(0) })));
    },
  };
  return {
    connection,
    describeStream: async () => ({ shards: 1, shardInfo: [{ shard: 0, startSeq: 0, endSeq: 0, bytes: 0, segments: 0 }] }),
  } as unknown as Client;
}

/** Producer.send() in a closed loop with IN_FLIGHT_BYTES of records unacked; one shared ack handler (no per-record closure here). */
async function produce(n: number): Promise<void> {
  const producer = new Producer(fakeProducerClient(), 'cpu');
  const value = payloadTemplate(recordBytes);
  const window = Math.max(1, Math.floor(IN_FLIGHT_BYTES / recordBytes));
  let sent = 0;
  let acked = 0;
  let inFlight = 0;
  let refill = false;
  let failure: unknown;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const fill = (): void => {
    refill = false;
    while (inFlight < window && sent < n) {
      sent++;
      inFlight++;
      producer.send({ value }).then(onAck, onError);
    }
  };
  const onAck = (_r: SendResult): void => {
    acked++;
    inFlight--;
    if (acked === n) done();
    else if (!refill) {
      refill = true;
      setImmediate(fill);
    }
  };
  const onError = (e: unknown): void => {
    failure ??= e;
    done();
  };
  fill();
  await finished;
  if (failure !== undefined) throw failure;
  await producer.close();
}

/** The bench's ProducerDriver over the real Producer and the fake connection. */
async function produceDriver(n: number): Promise<void> {
  const producer = new Producer(fakeProducerClient(), 'cpu');
  const latency = new LatencyHistogram();
  const driver = new ProducerDriver({
    index: 0,
    producer,
    recordBytes,
    template: payloadTemplate(recordBytes),
    inFlightRecords: Math.max(1, Math.floor(IN_FLIGHT_BYTES / recordBytes)),
    recordsMax: n,
    latency,
  });
  await driver.run({ schedule: new SendSchedule(performance.now(), null), stopAtMs: Infinity, measureFromMs: 0 });
  await producer.close();
  if (driver.errors > 0 || driver.acked !== n || latency.count !== n) throw new Error(`produce+driver: ${driver.firstError ?? `${driver.acked} acked, ${latency.count} latencies of ${n}`}`);
}

interface Stream {
  /** fetch answers keyed by fromSeq: the frame cut into socket-sized chunks. */
  frames: Map<number, Buffer[]>;
  records: number;
  template: Uint8Array;
}

/** Encodes `n` bench payloads (producer 0, counters 0..n-1) as a shard's records with server fields, cut into fetch answers. */
function buildStream(n: number): Stream {
  const template = payloadTemplate(recordBytes);
  const slab = new PayloadSlab(recordBytes, 1, template);
  const recLen = encodedRecordLength({ payload: template });
  const perFetch = Math.max(1, Math.floor(FETCH_BYTES / recLen));
  const frames = new Map<number, Buffer[]>();
  const appendTime = Date.now();
  for (let first = 0; first < n; first += perFetch) {
    const k = Math.min(perFetch, n - first);
    const body = new Uint8Array(k * recLen);
    const dv = new DataView(body.buffer);
    for (let i = 0; i < k; i++) {
      const seq = first + i;
      encodeRecordInto(body, i * recLen, { payload: slab.fill(0, 0, seq, 0), producerId: 7, producerSeq: seq });
      patchServerFields(dv, i * recLen, seq, appendTime, 1);
    }
    const parts = encodeFrame({ version: 1, flags: FLAG_RESPONSE, op: OP.FETCH, requestId: 0, header: { nextSeq: first + k }, body: [body] });
    const whole = Buffer.concat(parts);
    const chunks: Buffer[] = [];
    for (let off = 0; off < whole.length; off += CHUNK_BYTES) chunks.push(Buffer.from(whole.subarray(off, off + CHUNK_BYTES)));
    frames.set(first, chunks);
  }
  return { frames, records: n, template };
}

/** A Client whose fetch answers come from the prebuilt stream, through a FrameDecoder as from a socket. */
function fakeConsumerClient(s: Stream): Client {
  const decoder = new FrameDecoder({ frameBytesMax: LIMITS.frameBytesMax, headerBytesMax: LIMITS.headerBytesMax });
  const connection = {
    limits: LIMITS,
    opts: CONN_OPTS,
    request(op: number, header: { fromSeq: number }): Promise<Response> {
      const chunks = op === OP.FETCH ? s.frames.get(header.fromSeq) : undefined;
      if (chunks === undefined) return Promise.reject(new Error(`fake: op ${op} from ${header.fromSeq}`));
      return new Promise((resolve, reject) =>
        setImmediate(() => {
          for (const c of chunks) decoder.push(c);
          const r = decoder.next();
          if (r === null || 'error' in r) return reject(new Error('fake: frame did not decode'));
          resolve({ header: unpackHeader(r.frame.header) as Record<string, unknown>, body: r.frame.body });
        }),
      );
    },
  };
  return {
    connection,
    describeStream: async () => ({ shards: 1, shardInfo: [{ shard: 0, startSeq: 0, endSeq: s.records, bytes: 0, segments: 0 }] }),
  } as unknown as Client;
}

async function consume(s: Stream, check: boolean): Promise<void> {
  const consumer = new Consumer(fakeConsumerClient(s), 'cpu', { shard: 0, from: 'earliest', follow: false, maxBytes: FETCH_BYTES });
  const dc = new DeliveryCheck([s.records], s.template, 64);
  let n = 0;
  let bytes = 0;
  for await (const batch of consumer.batches()) {
    if (check) {
      for (const r of batch) {
        dc.observe(r);
        bytes += r.value.length;
      }
    }
    n += batch.length;
  }
  if (n !== s.records) throw new Error(`consume: ${n} records of ${s.records}`);
  if (check) {
    const rep = dc.report(s.records);
    if (!rep.ok || bytes !== s.records * recordBytes) throw new Error(`consume+check failed: ${JSON.stringify(rep)}`);
  }
}

const warm = Math.min(records, 20_000);
const result: Record<string, unknown> = { records, recordBytes, node: process.version };

if (only.has('produce')) {
  await produce(warm);
  result['produce'] = await measure(records, () => produce(records));
}
if (only.has('produceDriver')) {
  await produceDriver(warm);
  result['produceDriver'] = await measure(records, () => produceDriver(records));
}
if (only.has('consume') || only.has('consumeCheck')) {
  const warmStream = buildStream(warm);
  await consume(warmStream, false);
  await consume(warmStream, true);
  const stream = buildStream(records);
  if (only.has('consume')) result['consume'] = await measure(records, () => consume(stream, false));
  if (only.has('consumeCheck')) result['consumeCheck'] = await measure(records, () => consume(stream, true));
}

if (json) console.log(JSON.stringify(result));
else {
  console.log(`client CPU per record: ${records} records of ${recordBytes} B, Node ${process.version}`);
  for (const k of ['produce', 'produceDriver', 'consume', 'consumeCheck']) {
    const p = result[k] as PhaseResult | undefined;
    if (p === undefined) continue;
    console.log(`${k.padEnd(14)} cpu ${p.cpuUsPerRecord.toFixed(3)} us/record (user ${p.userUsPerRecord.toFixed(3)}, sys ${p.sysUsPerRecord.toFixed(3)})  wall ${p.wallUsPerRecord.toFixed(3)} us/record`);
  }
}
