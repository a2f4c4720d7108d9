/**
 * The producer: per-shard batching (maxBatchBytes, lingerMs), partitioning
 * (explicit shard, key hash, sticky round-robin), up to
 * maxInFlightPerShard appends in flight per shard (sent in order on one
 * connection, so a shard's batches land in send order), several shards'
 * batches in one append frame, and idempotent retries: a batch keeps its
 * bytes, so a resend after a lost connection is recognized by the shard and
 * not written twice.
 *
 * Retries with several batches in flight: once a batch of a shard fails with
 * a retriable error, the shard sends nothing new; when every batch of it in
 * flight has settled, the failed ones are resent in their original order
 * (same bytes, same producerSeqs). The storage engine remembers the last
 * PRODUCER_IN_FLIGHT_PER_SHARD_MAX (5) batches per producer, so each resent
 * batch that had in fact been written is recognized as a duplicate.
 *
 * Ordering (Kafka's rule): the storage engine accepts a known producer's
 * batch only at its last producerSeq + 1, so when an earlier batch fails
 * retriably (say a worker restarting) the later ones in flight are refused
 * with OUT_OF_ORDER_SEQUENCE instead of being stored past the gap. Such a
 * refusal, while an earlier batch of the same producerId is in flight or
 * waiting to be resent, is retried: the batch joins the failed list and is
 * resent after the earlier one. An unknown producer is accepted at any
 * producerSeq, so until a batch under the shard's current producerId is
 * acked only one is in flight.
 *
 * Each shard has its own producerId (the first one is this.producerId). When
 * a batch fails for good (deadline passed, or a non-retriable error), its
 * shard's later batches under that id could never be stored: the open, sealed
 * and waiting ones fail at once, those in flight fail as they settle (all
 * with OUT_OF_ORDER_SEQUENCE naming the first failure), and the shard's next
 * batch starts under a fresh random producerId at producerSeq 0. The torture
 * crash loop (test/torture/crash-loop.test.ts), which saw ~14k refusals per 20
 * kills with 5 in flight before this rule, passes with the default of 5.
 */
import { getRandomValues } from 'node:crypto';
import { encodedRecordLength, type RecordInput } from '../record/record.js';
import { OP, type AppendPartResult } from '../protocol/ops.js';
import { FRAME_PREFIX_BYTES } from '../protocol/frame.js';
import { HEADER_BYTES_MAX } from '../protocol/limits.js';
import { sleep } from './connection.js';
import { asWireError, clientError, fromWire, isRetriable } from './errors.js';
import { ns, type Client } from './client.js';
import { ProducerBatch } from './producer-batch.js';
import { shardForKey } from './partitioner.js';
import { NativeLogError, type ProducerApi, type ProducerOptions, type ProducerRecord, type SendResult } from './types.js';

/**
 * Most appends in flight per shard. Bounded by the storage engine's dedupe
 * window (the last 5 batches per producer, src/storage/producer-state.ts):
 * a resent batch must still be remembered if it was written (Kafka's
 * max.in.flight.requests.per.connection with idempotence, also 5).
 */
export const PRODUCER_IN_FLIGHT_PER_SHARD_MAX = 5;

export const PRODUCER_DEFAULTS = {
  /** A batch grows to this only while the shard's in-flight window is full (linger 0 seals it as soon as it can go). */
  maxBatchBytes: 256 * 1024,
  lingerMs: 0,
  idempotent: true,
  timeoutMs: 30_000,
  bufferBytesMax: 32 * 1024 * 1024,
  maxInFlightPerShard: PRODUCER_IN_FLIGHT_PER_SHARD_MAX,
};

/**
 * Acked batches' buffers kept for the next batches, up to this many bytes
 * (at least 2 buffers): a new batch then writes into memory already mapped
 * instead of fresh pages (page faults cost more than the encoding).
 */
const SPARE_BATCH_BYTES_MAX = 4 * 1024 * 1024;

/** Room left in a frame for the prefix and control header. */
const FRAME_OVERHEAD_BYTES = FRAME_PREFIX_BYTES + HEADER_BYTES_MAX;

interface ShardQueue {
  shard: number;
  open: ProducerBatch | undefined;
  sealed: ProducerBatch[];
  /** Batches sent and not settled, in send order. */
  inFlight: ProducerBatch[];
  /** Batches that failed retriably, to be resent in order once inFlight is empty. */
  failed: ProducerBatch[];
  /** A retry is pending: nothing new is sent until it has been resent. */
  recovering: boolean;
  nextProducerSeq: number;
  /** The shard's current producerId: replaced by a fresh one after a batch fails for good. */
  producerId: number;
  /** Whether a batch under the current producerId was acked (until then one batch in flight: the storage engine accepts an unknown producer at any producerSeq). */
  acked: boolean;
  /** Next batch ordinal (send order within the shard). */
  nextOrdinal: number;
}

export interface ProducerExtraOptions {
  /** Bytes queued and not yet acked before send() waits. Default 32 MiB. */
  bufferBytesMax?: number;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

function toBytes(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? encoder.encode(v) : v;
}

/** A random, non-zero 53-bit producer id. */
export function randomProducerId(): number {
  const w = getRandomValues(new Uint32Array(2));
  return ((w[0]! & 0x1f_ffff) * 0x1_0000_0000 + w[1]!) || 1;
}

export class Producer implements ProducerApi {
  readonly producerId: number;
  private readonly o: typeof PRODUCER_DEFAULTS & { shard: number | undefined };
  private queues: ShardQueue[] | undefined;
  private loading: Promise<void> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private queuedBytes = 0;
  private roomWaiters: (() => void)[] = [];
  private rr = 0;
  private pumpScheduled = false;
  private closed = false;
  /** Buffers of acked batches (maxBatchBytes long), reused by new batches. */
  private readonly spareBuffers: Uint8Array[] = [];
  private readonly spareBuffersMax: number;

  constructor(
    private readonly client: Client,
    private readonly stream: string,
    opts: ProducerOptions & ProducerExtraOptions = {},
  ) {
    const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
    this.o = { ...PRODUCER_DEFAULTS, shard: undefined, ...defined } as typeof this.o;
    const m = this.o.maxInFlightPerShard;
    if (!Number.isInteger(m) || m < 1 || m > PRODUCER_IN_FLIGHT_PER_SHARD_MAX) {
      throw new RangeError(`maxInFlightPerShard must be an integer in 1..${PRODUCER_IN_FLIGHT_PER_SHARD_MAX}; got ${m}.`);
    }
    this.spareBuffersMax = Math.max(2, Math.floor(SPARE_BATCH_BYTES_MAX / this.o.maxBatchBytes));
    this.producerId = this.o.idempotent ? randomProducerId() : 0;
    this.rr = Math.floor(Math.random() * 1024);
  }

  send(record: ProducerRecord): Promise<SendResult> {
    if (this.closed) return Promise.reject(clientError('CLIENT_CLOSED', 'The producer was closed.'));
    if (this.waiting === 0 && this.queues !== undefined && this.queuedBytes < this.o.bufferBytesMax) return this.enqueue(record);
    this.waiting++;
    const step = this.tail
      .then(() => this.prepare())
      .then(() => ({ ack: this.enqueue(record) }))
      .finally(() => this.waiting--);
    this.tail = step.catch(() => undefined);
    return step.then((s) => s.ack);
  }

  async flush(): Promise<void> {
    await this.tail;
    const batches: ProducerBatch[] = [];
    for (const q of this.queues ?? []) {
      if (q.open !== undefined) this.seal(q);
      for (const b of q.sealed) b.ready = true;
      batches.push(...q.sealed, ...q.inFlight, ...q.failed);
    }
    this.pump();
    await Promise.all(batches.map((b) => b.done));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
  }

  private async prepare(): Promise<void> {
    await this.loadShards();
    while (this.queuedBytes >= this.o.bufferBytesMax && !this.closed) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  private loadShards(): Promise<void> {
    this.loading ??= this.client.describeStream(this.stream, { namespace: ns(this.o as ProducerOptions) }).then((d) => {
      this.queues = Array.from({ length: d.shards }, (_, shard) => ({ shard, open: undefined, sealed: [], inFlight: [], failed: [], recovering: false, nextProducerSeq: 0, producerId: this.producerId, acked: false, nextOrdinal: 0 }));
    });
    this.loading.catch(() => (this.loading = undefined));
    return this.loading;
  }

  private pickShard(record: ProducerRecord, key: Uint8Array | undefined, shards: number): number {
    const explicit = record.shard ?? this.o.shard;
    if (explicit !== undefined) {
      if (!Number.isInteger(explicit) || explicit < 0 || explicit >= shards) {
        throw clientError('UNKNOWN_SHARD', `Stream "${this.stream}" has ${shards} shards; there is no shard ${explicit}.`, { shards });
      }
      return explicit;
    }
    if (key !== undefined) return shardForKey(key, shards);
    return this.rr % shards;
  }

  private enqueue(record: ProducerRecord): Promise<SendResult> {
    try {
      return this.enqueueOrThrow(record);
    } catch (err) {
      return Promise.reject(err instanceof NativeLogError ? err : clientError('BAD_REQUEST', (err as Error).message));
    }
  }

  /** Reused for every record (encodeRecordInto keeps no reference): no RecordInput object per send. */
  private readonly input: RecordInput = {
    payload: EMPTY,
    key: undefined,
    headers: undefined,
    eventTimeMin: undefined,
    eventTimeMax: undefined,
    codec: undefined,
    schemaVersion: undefined,
    rowCount: undefined,
    producerId: 0,
    producerSeq: 0,
  };

  private enqueueOrThrow(record: ProducerRecord): Promise<SendResult> {
    const queues = this.queues!;
    const key = record.key === undefined ? undefined : toBytes(record.key);
    const q = queues[this.pickShard(record, key, queues.length)]!;
    // Everything read from the record (which may run its getters) before the shared input is filled.
    const payload = toBytes(record.value);
    const headers = record.headers === undefined ? undefined : Object.entries(record.headers).map(([name, v]) => ({ name, value: toBytes(v) }));
    const eventTime = record.eventTime;
    const eventTimeMax = eventTime === undefined ? undefined : (record.eventTimeMax ?? eventTime);
    const codec = record.codec;
    const schemaVersion = record.schemaVersion;
    const rowCount = record.rowCount;
    const input = this.input;
    input.payload = payload;
    input.key = key;
    input.headers = headers;
    input.eventTimeMin = eventTime;
    input.eventTimeMax = eventTimeMax;
    input.codec = codec;
    input.schemaVersion = schemaVersion;
    input.rowCount = rowCount;
    input.producerId = q.producerId;
    input.producerSeq = this.o.idempotent ? q.nextProducerSeq : 0;
    try {
      const len = encodedRecordLength(input);
      this.checkSize(len);
      if (q.open !== undefined && !q.open.fits(len)) this.seal(q);
      if (q.open === undefined) {
        const now = Date.now();
        const capacity = Math.max(this.o.maxBatchBytes, len);
        const spare = capacity === this.o.maxBatchBytes ? this.spareBuffers.pop() : undefined;
        q.open = new ProducerBatch(q.shard, capacity, now + this.o.timeoutMs, now + this.o.lingerMs, q.nextOrdinal++, spare);
        q.open.producerId = q.producerId;
      }
      const b = q.open;
      b.encode(input);
      if (this.o.idempotent) q.nextProducerSeq = (q.nextProducerSeq + 1) >>> 0;
      this.queuedBytes += len;
      const ack = b.add(len);
      if (b.used >= this.o.maxBatchBytes) this.seal(q);
      this.schedule(b);
      return ack;
    } finally {
      // Drop the references to the caller's bytes.
      input.payload = EMPTY;
      input.key = undefined;
      input.headers = undefined;
    }
  }

  private checkSize(len: number): void {
    const limits = this.client.connection.limits;
    const max = Math.min(limits?.recordBytesMax ?? Infinity, (limits?.frameBytesMax ?? Infinity) - FRAME_OVERHEAD_BYTES);
    if (len > max) throw clientError('RECORD_TOO_LARGE', `The record is ${len} bytes encoded; the node accepts at most ${max}.`, { recordBytes: len, recordBytesMax: max });
  }

  private seal(q: ShardQueue): void {
    if (q.open === undefined) return;
    q.open.ready = true;
    q.sealed.push(q.open);
    q.open = undefined;
    if (q.shard === this.rr % (this.queues?.length ?? 1)) this.rr++;
  }

  private schedule(b: ProducerBatch): void {
    if (this.o.lingerMs > 0 && !b.ready) {
      if (b.count === 1) setTimeout(() => this.pump(), this.o.lingerMs).unref();
      return;
    }
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Sends every sendable batch: per shard up to maxInFlightPerShard in flight,
   * one batch per shard per frame (a frame per round), frames cut at frameBytesMax.
   */
  private pump(): void {
    const now = Date.now();
    const frameMax = (this.client.connection.limits?.frameBytesMax ?? 32 * 1024 * 1024) - FRAME_OVERHEAD_BYTES;
    const max = this.o.maxInFlightPerShard;
    for (;;) {
      let frame: ProducerBatch[] = [];
      let frameBytes = 0;
      for (const q of this.queues ?? []) {
        if (q.recovering || q.inFlight.length >= (q.acked || !this.o.idempotent ? max : 1)) continue;
        if (q.sealed.length === 0 && q.open !== undefined && (this.o.lingerMs === 0 || q.open.lingerUntil <= now)) this.seal(q);
        const b = q.sealed.shift();
        if (b === undefined) continue;
        q.inFlight.push(b);
        if (frameBytes + b.used > frameMax && frame.length > 0) {
          this.sendFrame(frame);
          frame = [];
          frameBytes = 0;
        }
        frame.push(b);
        frameBytes += b.used;
      }
      if (frame.length === 0) return;
      this.sendFrame(frame);
    }
  }

  private sendFrame(batches: ProducerBatch[]): void {
    const header = { namespace: ns(this.o as ProducerOptions), name: this.stream, parts: batches.map((b) => ({ shard: b.shard, bytes: b.used })) };
    const timeoutMs = Math.max(1, Math.min(...batches.map((b) => b.deadline)) - Date.now());
    this.client.connection.request(OP.APPEND, header, { body: batches.map((b) => b.bytes()), timeoutMs }).then(
      (r) => {
        const results = r.header['results'];
        batches.forEach((b, i) => this.onResult(b, Array.isArray(results) ? (results[i] as AppendPartResult | undefined) : undefined));
      },
      (err: Error) => batches.forEach((b) => this.onFailure(b, err)),
    );
  }

  private onResult(b: ProducerBatch, r: AppendPartResult | undefined): void {
    if (r === undefined) return this.onFailure(b, clientError('BAD_RESPONSE', 'The append answer lacks a result for a part.'));
    if ('error' in r) {
      const wire = asWireError(r.error);
      return this.onFailure(b, wire === undefined ? clientError('BAD_RESPONSE', 'Unreadable part error.') : fromWire(wire));
    }
    if (r.count !== b.count) return this.onFailure(b, clientError('BAD_RESPONSE', `The node acked ${r.count} records of a batch of ${b.count}.`));
    b.ack(r.firstSeq);
    const q = this.queues![b.shard]!;
    if (b.producerId === q.producerId) q.acked = true;
    this.release(b);
    // The node answered, so it holds every byte of the batch: nothing reads its buffer any more
    // (an acked batch is never resent), and the next batch may write over it.
    if (b.buf.length === this.o.maxBatchBytes && this.spareBuffers.length < this.spareBuffersMax) this.spareBuffers.push(b.buf);
  }

  private onFailure(b: ProducerBatch, err: Error): void {
    const q = this.queues![b.shard]!;
    const lost = err instanceof NativeLogError && (err.codeName === 'CONNECTION_LOST' || err.codeName === 'TIMEOUT' || err.codeName === 'SHARD_RESTARTED');
    const safe = this.o.idempotent || !lost; // without idempotence a lost answer may mean it was written: never resend
    const wait = Math.min(this.client.connection.opts.reconnectMaxMs, this.client.connection.opts.reconnectMinMs * 2 ** b.attempts);
    const stale = this.o.idempotent && b.producerId !== q.producerId;
    if (stale) err = this.abandonedError(b, err);
    // Refused as out of order while an earlier batch of the shard is in flight or waits to be resent:
    // the earlier one left a gap; resent after it, this one follows it.
    const afterGap =
      err instanceof NativeLogError &&
      err.codeName === 'OUT_OF_ORDER_SEQUENCE' &&
      [...q.inFlight, ...q.failed].some((x) => x !== b && x.ordinal < b.ordinal && x.producerId === b.producerId);
    if (!stale && safe && (isRetriable(err) || afterGap) && Date.now() + wait < b.deadline && !this.closed) {
      b.attempts++;
      this.settle(q, b);
      q.failed.push(b);
      q.recovering = true;
      if (q.inFlight.length === 0) this.resendLater(q, wait);
      return;
    }
    b.fail(err);
    if (this.o.idempotent && !stale) this.newProducerId(q, b, err);
    this.release(b);
  }

  /**
   * b failed for good: every later batch of its shard under the same
   * producerId would be refused (a gap). Fails those not in flight (the open
   * one, sealed and waiting ones; those in flight fail as they settle) and
   * takes a fresh producerId, producerSeq 0, for the shard's next batches.
   */
  private newProducerId(q: ShardQueue, b: ProducerBatch, cause: Error): void {
    const old = b.producerId;
    q.producerId = randomProducerId();
    q.nextProducerSeq = 0;
    q.acked = false;
    const doomed = (x: ProducerBatch): boolean => x.producerId === old && x.ordinal > b.ordinal;
    const drop = (x: ProducerBatch): void => {
      x.fail(this.abandonedError(x, cause));
      this.queuedBytes -= x.used;
    };
    if (q.open !== undefined && doomed(q.open)) {
      drop(q.open);
      q.open = undefined;
    }
    for (const x of q.sealed.filter(doomed)) drop(x);
    q.sealed = q.sealed.filter((x) => !doomed(x));
    for (const x of q.failed.filter(doomed)) drop(x);
    q.failed = q.failed.filter((x) => !doomed(x));
    if (q.failed.length === 0) q.recovering = false;
  }

  private abandonedError(b: ProducerBatch, cause: Error): NativeLogError {
    return clientError(
      'OUT_OF_ORDER_SEQUENCE',
      `Not sent: an earlier batch of shard ${b.shard} failed for good (${cause.message}), so this batch's producerSeqs would leave a gap; the shard continues under a new producerId.`,
    );
  }

  /** Once nothing of the shard is in flight: after `wait`, puts the failed batches back in front, in send order. */
  private resendLater(q: ShardQueue, wait: number): void {
    void sleep(wait).then(() => {
      q.failed.sort((x, y) => x.ordinal - y.ordinal);
      q.sealed.unshift(...q.failed);
      q.failed = [];
      q.recovering = false;
      this.pump();
    });
  }

  /** Takes b off its shard's in-flight list. */
  private settle(q: ShardQueue, b: ProducerBatch): void {
    const i = q.inFlight.indexOf(b);
    if (i >= 0) q.inFlight.splice(i, 1);
  }

  private release(b: ProducerBatch): void {
    const q = this.queues![b.shard]!;
    this.settle(q, b);
    this.queuedBytes -= b.used;
    for (const w of this.roomWaiters.splice(0)) w();
    if (q.recovering && q.inFlight.length === 0 && q.failed.length > 0) {
      const first = q.failed.reduce((a, x) => (x.attempts > a.attempts ? x : a));
      this.resendLater(q, Math.min(this.client.connection.opts.reconnectMaxMs, this.client.connection.opts.reconnectMinMs * 2 ** (first.attempts - 1)));
      return;
    }
    this.pump();
  }
}
