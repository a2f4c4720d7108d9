/**
 * The consume phase: read the whole stream back from the earliest record,
 * one consumer per shard (each on its own client connection), stopping at
 * the end of the data as of the start. Every record goes through the
 * DeliveryCheck, whose cost (header read per record, payload compare every
 * Nth) is inside the measured time: a consumer that looks at its data.
 *
 * In a cluster a consumer may be served by a replica, whose readable point
 * is the commit point the sequencer last sent it: it lags the acks by up to
 * one idle heartbeat (REPLICATION_HEARTBEAT_MS, docs/REPLICATION.md "Reads"),
 * so "the end as of the start" can be short of the last acked records. With
 * `ackedEndByShard` (the highest acked seq + 1 of each shard), a shard read
 * short of it goes on following from where it stopped until it holds every
 * acked seq or CONSUME_TAIL_WAIT_MS_MAX passed (then the DeliveryCheck counts
 * what is missing). `tailRecords` says how many records came that way.
 */
import { performance } from 'node:perf_hooks';
import type { ClientApi } from '../client/types.js';
import type { DeliveryCheck } from './delivery-check.js';
import { fmtInt, type ProgressLine } from './progress-line.js';

/** Longest a shard's consumer follows past the end it first saw to reach the acked end (a cluster's replica lag). */
export const CONSUME_TAIL_WAIT_MS_MAX = 5_000;
/** Long-poll per fetch while following the tail. */
const TAIL_FETCH_WAIT_MS = 100;

export interface ConsumePhaseOptions {
  clients: ClientApi[]; // one per shard
  stream: string;
  recordBytes: number;
  fetchBytes: number;
  check: DeliveryCheck;
  progress: ProgressLine;
  /** Per shard, the seq after the highest acked record; null: read to the end as of the start only (one node). */
  ackedEndByShard?: number[] | null;
}

export interface ConsumeResult {
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** Records read after a shard's first end, following it up to the acked end (0 on one node). */
  tailRecords: number;
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
  let tailRecords = 0;
  try {
    await Promise.all(
      o.clients.map(async (client, shard) => {
        let next = 0;
        const consumer = client.consumer(o.stream, { shard, from: 'earliest', follow: false, maxBytes: o.fetchBytes });
        try {
          for await (const batch of consumer.batches()) {
            for (const r of batch) {
              o.check.observe(r);
              bytes += r.value.length;
              next = r.seq + 1;
            }
            records += batch.length;
          }
        } finally {
          await consumer.close();
        }
        const ackedEnd = o.ackedEndByShard?.[shard] ?? 0;
        if (next < ackedEnd) {
          const tail = client.consumer(o.stream, { shard, from: { seq: next }, follow: true, maxBytes: o.fetchBytes, maxWaitMs: TAIL_FETCH_WAIT_MS });
          const timer = setTimeout(() => void tail.close(), CONSUME_TAIL_WAIT_MS_MAX);
          try {
            outer: for await (const batch of tail.batches()) {
              for (const r of batch) {
                o.check.observe(r);
                bytes += r.value.length;
                records++;
                tailRecords++;
                next = r.seq + 1;
                if (next >= ackedEnd) break outer;
              }
            }
          } finally {
            clearTimeout(timer);
            await tail.close();
          }
        }
        tEnd = Math.max(tEnd, performance.now());
      }),
    );
  } finally {
    o.progress.stop();
  }
  const seconds = Math.max(1e-9, (tEnd - t0) / 1000);
  return { records, bytes, seconds, recordsPerSec: records / seconds, mbPerSec: bytes / 1e6 / seconds, tailRecords };
}
