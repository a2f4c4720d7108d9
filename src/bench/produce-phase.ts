/**
 * The produce phase: `producers` producers, each on its own client
 * connection, each driven by a ProducerDriver, into one stream.
 *
 * Throughput is the steady-state ack rate: acks that arrived between the end
 * of the warm-up and the end of the measured time, over that time. (Counting
 * records by send time instead would charge the head and the drain of the
 * in-flight window to the measurement: with a window worth a second of
 * traffic that skews a short run by tens of percent.) With --records there is
 * no end time: the window runs to the last ack, drain included.
 * Latency is recorded for every record due after the warm-up, including the
 * ones acked during the drain.
 */
import { performance } from 'node:perf_hooks';
import type { ClientApi } from '../client/types.js';
import { LatencyHistogram, type LatencySummaryMs } from './latency-histogram.js';
import { ProducerDriver } from './producer-driver.js';
import { fmtInt, type ProgressLine } from './progress-line.js';
import { SendSchedule } from './send-schedule.js';

export interface ProducePhaseOptions {
  clients: ClientApi[]; // one per producer
  stream: string;
  recordBytes: number;
  template: Uint8Array;
  batchBytes: number;
  lingerMs: number;
  /** Producer acks (client default when absent: quorum). */
  acks?: 'quorum' | 'leader';
  /** Records/s over all producers; null: closed loop. */
  rate: number | null;
  inFlightBytes: number;
  /** Total records over all producers (null: time-bounded). */
  records: number | null;
  seconds: number;
  warmupSeconds: number;
  /** Records each producer sends and waits for before any clock starts (ProducerDriver.prime). */
  primeRecords: number;
  progress: ProgressLine;
  label: string;
}

export interface ProduceResult {
  /** Acks that arrived in the measured window (the throughput count). */
  records: number;
  /** Every acked record, priming and warm-up included (what the consumer must find). */
  ackedTotal: number;
  /** Records sent and acked before the clock started (ProducerDriver.prime). */
  primedRecords: number;
  /** Per shard, the seq after the highest acked record over all producers. */
  ackedEndByShard: number[];
  /** Records handed to send() per producer (counters 0..sent-1). */
  sentPerProducer: number[];
  errors: number;
  firstError: string | null;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** The offered load (records/s) with --rate, else null. */
  offeredRate: number | null;
  inFlightRecordsPerProducer: number;
  latencyMs: LatencySummaryMs;
  /** True when the latency is measured from the due time of a fixed-rate schedule. */
  coordinatedOmissionCorrected: boolean;
}

export async function runProducePhase(o: ProducePhaseOptions): Promise<ProduceResult> {
  const n = o.clients.length;
  const latency = new LatencyHistogram();
  const inFlightRecords = Math.max(1, Math.floor(o.inFlightBytes / o.recordBytes));
  const producers = o.clients.map((client) => client.producer(o.stream, { maxBatchBytes: o.batchBytes, lingerMs: o.lingerMs, ...(o.acks === undefined ? {} : { acks: o.acks }) }));
  const drivers = producers.map((producer, i) => {
    const share = o.records === null ? Infinity : Math.floor(o.records / n) + (i < o.records % n ? 1 : 0);
    return new ProducerDriver({
      index: i,
      producer,
      recordBytes: o.recordBytes,
      template: o.template,
      inFlightRecords,
      recordsMax: share,
      latency,
    });
  });
  await Promise.all(drivers.map((d) => d.prime(o.primeRecords)));
  const t0 = performance.now();
  const measureFromMs = t0 + o.warmupSeconds * 1000;
  const stopAtMs = o.records === null ? measureFromMs + o.seconds * 1000 : Infinity;
  let lastCount = 0;
  let lastAt = t0;
  o.progress.start(() => {
    const now = performance.now();
    const acked = drivers.reduce((s, d) => s + d.acked, 0);
    const rate = ((acked - lastCount) * 1000) / (now - lastAt);
    lastCount = acked;
    lastAt = now;
    const warm = now < measureFromMs ? ' (warm-up)' : '';
    return `${o.label} ${((now - t0) / 1000).toFixed(1)}s${warm}  ${fmtInt(rate)} rec/s  ${((rate * o.recordBytes) / 1e6).toFixed(1)} MB/s  acked ${fmtInt(acked)}  p99 ${latency.percentileMs(99).toFixed(2)} ms`;
  });
  try {
    await Promise.all(drivers.map((d) => d.run({ schedule: new SendSchedule(t0, o.rate === null ? null : o.rate / n), stopAtMs, measureFromMs })));
  } finally {
    o.progress.stop();
  }
  await Promise.all(producers.map((p) => p.close().catch(() => undefined)));
  const records = drivers.reduce((s, d) => s + d.ackedInWindow, 0);
  const lastAck = Math.max(...drivers.map((d) => d.lastAckMs));
  const seconds = Math.max(1e-9, (Math.min(stopAtMs, lastAck) - measureFromMs) / 1000);
  const errors = drivers.reduce((s, d) => s + d.errors, 0);
  return {
    records,
    ackedTotal: drivers.reduce((s, d) => s + d.acked, 0),
    primedRecords: drivers.reduce((s, d) => s + d.primed, 0),
    ackedEndByShard: drivers.reduce<number[]>((m, d) => {
      d.ackedEndByShard.forEach((end, shard) => (m[shard] = Math.max(m[shard] ?? 0, end ?? 0)));
      return m;
    }, []),
    sentPerProducer: drivers.map((d) => d.sent),
    errors,
    firstError: drivers.find((d) => d.firstError !== null)?.firstError ?? null,
    seconds,
    recordsPerSec: records / seconds,
    mbPerSec: (records * o.recordBytes) / 1e6 / seconds,
    offeredRate: o.rate,
    inFlightRecordsPerProducer: inFlightRecords,
    latencyMs: latency.summary(),
    coordinatedOmissionCorrected: o.rate !== null,
  };
}
