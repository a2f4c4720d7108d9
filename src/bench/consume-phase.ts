/**
 * The consume phase: read the whole stream back from the earliest record,
 * one consumer per shard (each on its own client connection), stopping at
 * the end of the data as of the start. Every record goes through the
 * DeliveryCheck, whose cost (header read per record, payload compare every
 * Nth) is inside the measured time: a consumer that looks at its data.
 */
import { performance } from 'node:perf_hooks';
import type { ClientApi } from '../client/types.js';
import type { DeliveryCheck } from './delivery-check.js';
import { fmtInt, type ProgressLine } from './progress-line.js';

export interface ConsumePhaseOptions {
  clients: ClientApi[]; // one per shard
  stream: string;
  recordBytes: number;
  fetchBytes: number;
  check: DeliveryCheck;
  progress: ProgressLine;
}

export interface ConsumeResult {
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
}

export async function runConsumePhase(o: ConsumePhaseOptions): Promise<ConsumeResult> {
  let records = 0;
  let bytes = 0;
  const t0 = performance.now();
  let lastAt = t0;
  let lastCount = 0;
  o.progress.start(() => {
    const now = performance.now();
    const rate = ((records - lastCount) * 1000) / (now - lastAt);
    lastAt = now;
    lastCount = records;
    return `consume ${((now - t0) / 1000).toFixed(1)}s  ${fmtInt(rate)} rec/s  ${((rate * o.recordBytes) / 1e6).toFixed(1)} MB/s  read ${fmtInt(records)}`;
  });
  let tEnd = t0;
  try {
    await Promise.all(
      o.clients.map(async (client, shard) => {
        const consumer = client.consumer(o.stream, { shard, from: 'earliest', follow: false, maxBytes: o.fetchBytes });
        try {
          for await (const batch of consumer.batches()) {
            for (const r of batch) {
              o.check.observe(r);
              bytes += r.value.length;
            }
            records += batch.length;
          }
        } finally {
          await consumer.close();
        }
        tEnd = Math.max(tEnd, performance.now());
      }),
    );
  } finally {
    o.progress.stop();
  }
  const seconds = Math.max(1e-9, (tEnd - t0) / 1000);
  return { records, bytes, seconds, recordsPerSec: records / seconds, mbPerSec: bytes / 1e6 / seconds };
}
