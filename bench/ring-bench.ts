/**
 * Ring vs postMessage: main thread -> worker, 1 KiB and 64 KiB messages.
 *
 *   npm run bench:ring [-- --json] [--seconds S]
 *
 * Each scenario streams messages for a fixed time; the worker touches every
 * message (reads its first and last byte) so both paths deliver real bytes.
 * postMessage copies (structured clone, no transfer) and is flow-controlled by
 * worker acks (window postWindowMax) so its queue stays bounded. Latency is
 * one-way, producer write -> consumer read, under full load (so it includes
 * queueing), sampled every LATENCY_SAMPLE_EVERY messages, via epoch-based
 * high-resolution timestamps (performance.timeOrigin + performance.now()).
 * This file is also the worker (it re-spawns itself).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { RingConsumer, RingProducer, createRingBuffer } from '../src/ring/index.js';

const RING_BYTES = 4 * 1024 * 1024;
const POST_WINDOW_MAX = 4096;
const POST_ACK_EVERY = 256;
const LATENCY_SAMPLE_EVERY = 64;
const TAG_DATA = 1;
const TAG_END = 2;

interface ScenarioResult {
  messages: number;
  seconds: number;
  msgPerSec: number;
  mbPerSec: number;
  latencyUs: { p50: number; p99: number; p999: number; max: number };
}

const nowUs = (): number => (performance.timeOrigin + performance.now()) * 1000;

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summarize(latencies: number[]): ScenarioResult['latencyUs'] {
  const s = Float64Array.from(latencies).sort();
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { p50: r(percentile(s, 0.5)), p99: r(percentile(s, 0.99)), p999: r(percentile(s, 0.999)), max: r(s[s.length - 1] ?? 0) };
}

// ---------------------------------------------------------------- worker side
function workerMain(): void {
  const { mode, sab } = workerData as { mode: 'ring' | 'post'; sab?: SharedArrayBuffer };
  const latencies: number[] = [];
  let count = 0;
  let touched = 0;
  const onData = (bytes: Uint8Array): void => {
    touched += bytes[0]! + bytes[bytes.length - 1]!;
    if (count % LATENCY_SAMPLE_EVERY === 0) {
      const sent = new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
      latencies.push(nowUs() - sent);
    }
    count++;
  };
  if (mode === 'ring') {
    const c = new RingConsumer(sab!);
    for (;;) {
      const m = c.tryRead();
      if (m === null) {
        c.release();
        c.waitSync(1000);
        continue;
      }
      if (m.tag === TAG_END) break;
      onData(m.bytes);
      if ((count & 15) === 0) c.release();
    }
    c.release();
    parentPort!.postMessage({ count, latencies, touched });
    return;
  }
  parentPort!.on('message', (msg: Uint8Array | 'end') => {
    if (msg === 'end') {
      parentPort!.postMessage({ count, latencies, touched });
      return;
    }
    onData(msg);
    if (count % POST_ACK_EVERY === 0) parentPort!.postMessage(count);
  });
}

// ------------------------------------------------------------------ main side
function stamp(buf: Uint8Array): void {
  new DataView(buf.buffer, buf.byteOffset, 8).setFloat64(0, nowUs(), true);
}

async function runRing(size: number, seconds: number): Promise<ScenarioResult> {
  const sab = createRingBuffer(RING_BYTES);
  const w = new Worker(new URL(import.meta.url), { workerData: { mode: 'ring', sab } });
  const done = new Promise<{ count: number; latencies: number[] }>((res) => w.once('message', res));
  const p = new RingProducer(sab);
  const src = new Uint8Array(size).fill(7);
  const start = performance.now();
  const end = start + seconds * 1000;
  let sent = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) {
      const view = p.tryReserve(size, TAG_DATA) ?? (await p.reserveAsync(size, TAG_DATA))!;
      view.set(src);
      stamp(view);
      p.commit();
      sent++;
    }
  }
  (await p.reserveAsync(0, TAG_END))!;
  p.commit();
  const r = await done;
  const secs = (performance.now() - start) / 1000;
  await w.terminate();
  if (r.count !== sent) throw new Error(`ring lost messages: sent ${sent}, got ${r.count}`);
  return { messages: sent, seconds: secs, msgPerSec: sent / secs, mbPerSec: (sent * size) / secs / 1e6, latencyUs: summarize(r.latencies) };
}

async function runPost(size: number, seconds: number): Promise<ScenarioResult> {
  const w = new Worker(new URL(import.meta.url), { workerData: { mode: 'post' } });
  let acked = 0;
  let wake: (() => void) | null = null;
  let final: ((r: { count: number; latencies: number[] }) => void) | null = null;
  w.on('message', (m: number | { count: number; latencies: number[] }) => {
    if (typeof m === 'number') {
      acked = m;
      wake?.();
      wake = null;
    } else final?.(m);
  });
  const src = new Uint8Array(size).fill(7);
  const start = performance.now();
  const end = start + seconds * 1000;
  let sent = 0;
  while (performance.now() < end) {
    while (sent - acked >= POST_WINDOW_MAX) await new Promise<void>((res) => (wake = res));
    stamp(src);
    w.postMessage(src);
    sent++;
  }
  const r = await new Promise<{ count: number; latencies: number[] }>((res) => {
    final = res;
    w.postMessage('end');
  });
  const secs = (performance.now() - start) / 1000;
  await w.terminate();
  if (r.count !== sent) throw new Error(`postMessage lost messages: sent ${sent}, got ${r.count}`);
  return { messages: sent, seconds: secs, msgPerSec: sent / secs, mbPerSec: (sent * size) / secs / 1e6, latencyUs: summarize(r.latencies) };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const si = process.argv.indexOf('--seconds');
  const seconds = si > 0 ? Number(process.argv[si + 1]) : 2;
  const results: Record<string, ScenarioResult> = {};
  for (const [name, size] of [['1k', 1024], ['64k', 65536]] as const) {
    results[`ring${name}`] = await runRing(size, seconds);
    results[`post${name}`] = await runPost(size, seconds);
  }
  for (const [k, r] of Object.entries(results)) {
    console.log(
      `${k.padEnd(8)} ${Math.round(r.msgPerSec).toLocaleString('en-US').padStart(12)} msg/s ${r.mbPerSec.toFixed(1).padStart(9)} MB/s` +
        `  latency us p50 ${r.latencyUs.p50} p99 ${r.latencyUs.p99} p99.9 ${r.latencyUs.p999} max ${r.latencyUs.max}`,
    );
  }
  const ring1k = results['ring1k']!, post1k = results['post1k']!, ring64k = results['ring64k']!, post64k = results['post64k']!;
  const summary = {
    bench: 'ring',
    seconds,
    ring: { msgPerSec1k: Math.round(ring1k.msgPerSec), mbPerSec1k: ring1k.mbPerSec, msgPerSec64k: Math.round(ring64k.msgPerSec), mbPerSec64k: ring64k.mbPerSec, latencyUs1k: ring1k.latencyUs, latencyUs64k: ring64k.latencyUs },
    postMessage: { msgPerSec1k: Math.round(post1k.msgPerSec), mbPerSec1k: post1k.mbPerSec, msgPerSec64k: Math.round(post64k.msgPerSec), mbPerSec64k: post64k.mbPerSec, latencyUs1k: post1k.latencyUs, latencyUs64k: post64k.latencyUs },
    ratio1k: ring1k.msgPerSec / post1k.msgPerSec,
    ratio64k: ring64k.mbPerSec / post64k.mbPerSec,
  };
  console.log(`ring/postMessage: ${summary.ratio1k.toFixed(2)}x at 1 KiB, ${summary.ratio64k.toFixed(2)}x at 64 KiB`);
  if (json) console.log(JSON.stringify(summary));
}

if (isMainThread) await main();
else workerMain();
