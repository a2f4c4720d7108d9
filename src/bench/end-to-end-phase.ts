/**
 * The end-to-end phase: a fresh stream, one following consumer per shard
 * started first, then the producers at a fixed offered rate. A record's
 * end-to-end latency is the time from its due send time (carried in its
 * payload header) to the moment a consumer holds it, so both stalls of the
 * producer side and of the consumer side show (coordinated omission
 * corrected). Ack latency at this rate is reported alongside.
 */
import { performance } from 'node:perf_hooks';
import type { ClientApi, ConsumerApi } from '../client/types.js';
import { DeliveryCheck, type DeliveryReport } from './delivery-check.js';
import { LatencyHistogram, type LatencySummaryMs } from './latency-histogram.js';
import { runProducePhase, type ProduceResult } from './produce-phase.js';
import type { ProgressLine } from './progress-line.js';

/** How long, after the last ack, the consumers may take to catch up before the phase gives up. */
export const E2E_DRAIN_MS_MAX = 30_000;

export interface EndToEndOptions {
  producerClients: ClientApi[];
  consumerClients: ClientApi[]; // one per shard
  stream: string;
  recordBytes: number;
  template: Uint8Array;
  batchBytes: number;
  lingerMs: number;
  acks?: 'quorum' | 'leader';
  rate: number;
  seconds: number;
  inFlightBytes: number;
  verifyEvery: number;
  progress: ProgressLine;
}

export interface EndToEndResult {
  offeredRate: number;
  seconds: number;
  produce: ProduceResult;
  latencyMs: LatencySummaryMs;
  delivery: DeliveryReport;
  drainTimedOut: boolean;
}

export async function runEndToEndPhase(o: EndToEndOptions): Promise<EndToEndResult> {
  const e2e = new LatencyHistogram();
  const perProducerMax = Math.ceil((o.rate / o.producerClients.length) * o.seconds) + 2 + o.consumerClients.length; // + priming records
  const check = new DeliveryCheck(o.producerClients.map(() => perProducerMax), o.template, o.verifyEvery);
  const consumers: ConsumerApi[] = o.consumerClients.map((c, shard) => c.consumer(o.stream, { shard, from: 'earliest', follow: true, maxWaitMs: 200 }));
  let wake: (() => void) | null = null;
  let target = Infinity;
  const loops = consumers.map(async (consumer) => {
    for await (const r of consumer) {
      const now = performance.now();
      const h = check.observe(r);
      if (h !== null && h.intendedMs > 0) e2e.recordMs(now - h.intendedMs); // priming records carry 0: not measured
      if (check.consumedCount >= target && wake !== null) wake();
    }
  });
  const loopsDone = Promise.all(loops).catch(() => undefined);
  const produce = await runProducePhase({
    clients: o.producerClients,
    stream: o.stream,
    recordBytes: o.recordBytes,
    template: o.template,
    batchBytes: o.batchBytes,
    lingerMs: o.lingerMs,
    acks: o.acks,
    rate: o.rate,
    inFlightBytes: o.inFlightBytes,
    records: null,
    seconds: o.seconds,
    warmupSeconds: 0,
    primeRecords: o.consumerClients.length,
    progress: o.progress,
    label: 'end-to-end',
  });
  target = produce.ackedTotal;
  let drainTimedOut = false;
  if (check.consumedCount < target) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        drainTimedOut = true;
        resolve();
      }, E2E_DRAIN_MS_MAX);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  await Promise.all(consumers.map((c) => c.close().catch(() => undefined)));
  await Promise.race([loopsDone, new Promise((r) => setTimeout(r, 2000))]);
  return { offeredRate: o.rate, seconds: o.seconds, produce, latencyMs: e2e.summary(), delivery: check.report(produce.ackedTotal), drainTimedOut };
}
