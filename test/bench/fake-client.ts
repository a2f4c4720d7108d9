/**
 * An in-memory ClientApi for testing the bench engine without a node: sends
 * are copied (the bench reuses payload slots) and acked on a later turn;
 * consumers replay a shard's records. `tamper` lets a test damage data;
 * `replicaLagRecords` plays a cluster replica whose readable point lags the
 * acks (a non-following consumer stops that many records short of the end).
 */
import type { ClientApi, ConsumedRecord, ConsumerApi, ConsumerOptions, ProducerApi, ProducerRecord, SendResult, StreamDescription, StreamInfo } from '../../src/client/types.js';

export interface FakeLog {
  streams: Map<string, Uint8Array[][]>;
  /** Called on each stored record: may return a replacement (to simulate loss or damage), or null to drop it. */
  tamper?: (value: Uint8Array, shard: number, seq: number) => Uint8Array | null;
  /** Replicas each stream was created with (set by createStream). */
  replicas?: Map<string, number>;
  /** A consumer that does not follow sees the end this many records early (a replica's lagging commit point). */
  replicaLagRecords?: number;
}

export function fakeConnect(log: FakeLog): (servers: string) => Promise<ClientApi> {
  return async () => {
    const info = (name: string, shards: number): StreamInfo => ({ namespace: 'default', name, shards, replicas: 1, retentionMs: null, retentionBytes: null, schema: null, schemaVersion: 0, createdAt: Date.now() });
    const api: ClientApi = {
      async createStream(name, opts) {
        const shards = opts?.shards ?? 1;
        log.streams.set(name, Array.from({ length: shards }, () => []));
        (log.replicas ??= new Map()).set(name, opts?.replicas ?? 1);
        return { ...info(name, shards), failedShards: [] };
      },
      async deleteStream(name) {
        log.streams.delete(name);
      },
      async listStreams() {
        return [...log.streams.entries()].map(([n, s]) => info(n, s.length));
      },
      async describeStream(name): Promise<StreamDescription> {
        const shards = log.streams.get(name)!;
        const replicas = log.replicas?.get(name) ?? 1;
        const nodes = Array.from({ length: replicas }, (_, i) => i + 1);
        return {
          ...info(name, shards.length),
          replicas,
          shardInfo: shards.map((recs, shard) => ({ shard, startSeq: 0, endSeq: recs.length, bytes: 0, segmentFiles: 1, failed: null, sequencer: 1 + (shard % replicas), epoch: 1, underReplicated: false, segments: [{ baseSeq: 0, endSeq: null, epoch: 1, replicas: nodes, sealed: false }] })),
        };
      },
      async seqForTime() {
        return 0;
      },
      producer(name): ProducerApi {
        let rr = 0;
        return {
          send(r: ProducerRecord): Promise<SendResult> {
            const shards = log.streams.get(name)!;
            const shard = r.shard ?? rr++ % shards.length;
            const copy = Uint8Array.from(r.value as Uint8Array);
            return new Promise((resolve) =>
              setImmediate(() => {
                const seq = shards[shard]!.length;
                const v = log.tamper ? log.tamper(copy, shard, seq) : copy;
                if (v !== null) shards[shard]!.push(v);
                resolve({ shard, seq });
              }),
            );
          },
          async flush() {},
          async close() {},
        };
      },
      consumer(name, opts?: ConsumerOptions): ConsumerApi {
        let closed = false;
        const shard = opts?.shard ?? 0;
        const api: ConsumerApi = {
          async close() {
            closed = true;
          },
          batches() {
            return {
              async *[Symbol.asyncIterator]() {
                for await (const r of api) yield [r];
              },
            };
          },
          async *[Symbol.asyncIterator]() {
            const recs = log.streams.get(name)![shard]!;
            const from = opts?.from;
            let i = typeof from === 'object' && 'seq' in from ? from.seq : 0;
            const end = Math.max(0, recs.length - (log.replicaLagRecords ?? 0));
            while (!closed) {
              if (i < recs.length && (opts?.follow === true || i < end)) {
                const value = recs[i]!;
                const r: ConsumedRecord = { shard, seq: i, epoch: 0, appendTime: 0, eventTime: 0, eventTimeMax: 0, key: new Uint8Array(0), value, headers: [], codec: 0, schemaVersion: 0, rowCount: 1 };
                i++;
                yield r;
              } else if (opts?.follow === true) {
                await new Promise((r) => setTimeout(r, 2));
              } else return;
            }
          },
        };
        return api;
      },
      async close() {},
    };
    return api;
  };
}
