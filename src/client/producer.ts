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
 *
 * Routing (replicated shards, docs/REPLICATION.md): in a cluster only a
 * shard's sequencer takes its appends. Each shard has a route: the primary
 * connection (a single node, or no better knowledge) or the pooled connection
 * to its sequencer's address (describeStream + clusterStatus at start when
 * the shards are placed). A refusal moves the route, always while the shard
 * has nothing in flight (the failed batches wait for the others to settle, as
 * for any retry), so a shard's batches never travel two connections at once
 * and keep their order:
 * - NOT_LEADER with an address: the shard's route becomes that address and
 *   the failed batches are resent there at once (after
 *   REDIRECTS_WITHOUT_BACKOFF_MAX such hops, with the usual backoff);
 * - NOT_LEADER without one, FENCED, or a lost connection in a cluster: the
 *   metadata is read again (through the primary connection, which reconnects
 *   over the whole server list) after the backoff, and the shard follows it.
 * - no answer within CLUSTER_APPEND_ANSWER_WAIT_MS (an idempotent producer
 *   in a cluster; a paused or partitioned sequencer keeps the TCP link up
 *   but never answers): the connection is dropped as for any timeout, and
 *   the batch is treated like a lost connection (metadata read again, resent)
 *   until its own timeoutMs.
 * The resent bytes are the same, so an idempotent producer's resend of a
 * batch a quorum had stored is answered as a duplicate by the new sequencer.
 */
import { getRandomValues } from 'node:crypto';
import { encodedRecordLength, type RecordInput } from '../record/record.js';
import { OP, type AppendPartResult } from '../protocol/ops.js';
import type { ClientConnection } from './connection.js';
import { REDIRECTS_WITHOUT_BACKOFF_MAX, fetchRoutes, routesOf, type ShardRoute } from './shard-routes.js';
import { FRAME_PREFIX_BYTES } from '../protocol/frame.js';
import { HEADER_BYTES_MAX } from '../protocol/limits.js';
import { sleep } from './connection.js';
import { asWireError, clientError, fromWire, isRetriable } from './errors.js';
import { ns, type Client } from './client.js';
import { ProducerBatch } from './producer-batch.js';
import { shardForKey } from './partitioner.js';
import { ACKS_VALUES, NativeLogError, type Acks, type ProducerApi, type ProducerOptions, type ProducerRecord, type SendResult } from './types.js';

/**
 * Most appends in flight per shard. Bounded by the storage engine's dedupe
 * window (the last 5 batches per producer, src/storage/producer-state.ts):
 * a resent batch must still be remembered if it was written (Kafka's
 * max.in.flight.requests.per.connection with idempotence, also 5).
 */
export const PRODUCER_IN_FLIGHT_PER_SHARD_MAX = 5;

/**
 * Longest an idempotent producer in a cluster waits for one append's answer
 * before it treats the sequencer as gone (outcome unknown, resent after a
 * metadata refresh). Well above a quorum write's time, well below timeoutMs.
 */
export const CLUSTER_APPEND_ANSWER_WAIT_MS = 750;
/**
 * In a cluster, retries that wait for a new sequencer back off at most this
 * long: a failover takes about SEQUENCER_LEASE_MS (500 ms) plus recovery, and
 * an exponential backoff past it (50, 100, ..., 800 ms) would add most of a
 * second to the write pause. A retry is a metadata read plus a resend.
 */
export const CLUSTER_RETRY_BACKOFF_MS_MAX = 100;

export const PRODUCER_DEFAULTS = {
  /** A batch grows to this only while the shard's in-flight window is full (linger 0 seals it as soon as it can go). */
  maxBatchBytes: 256 * 1024,
  lingerMs: 0,
  idempotent: true,
  timeoutMs: 30_000,
  bufferBytesMax: 32 * 1024 * 1024,
  maxInFlightPerShard: PRODUCER_IN_FLIGHT_PER_SHARD_MAX,
  acks: 'quorum' as Acks,
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
  /** Where the shard's appends go: null for the primary connection, else its sequencer's "host:port". */
  route: string | null;
  conn: ClientConnection;
  /** A NOT_LEADER hint to follow before the next resend. */
  hint: string | null;
  /** Read the metadata again before the next resend (NOT_LEADER without a hint, FENCED, lost connection in a cluster). */
  refresh: boolean;
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
  /** True once the stream's shards turned out to be placed on a cluster's nodes (then a lost connection refreshes the routes). */
  private clustered = false;

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
    if (!ACKS_VALUES.includes(this.o.acks)) throw new RangeError(`acks must be one of ${ACKS_VALUES.join(', ')}; got ${String(this.o.acks)}.`);
    if (this.o.acks === 'none') {
      if (opts.idempotent === true) throw new RangeError('acks "none" cannot be idempotent: without answers no batch is known to need a resend; use acks "leader" or "quorum".');
      this.o.idempotent = false;
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
    this.loading ??= this.client.describeStream(this.stream, { namespace: ns(this.o as ProducerOptions) }).then(async (d) => {
      const primary = this.client.connection;
      const queues: ShardQueue[] = Array.from({ length: d.shards }, (_, shard) => ({
        shard, open: undefined, sealed: [], inFlight: [], failed: [], recovering: false, nextProducerSeq: 0, producerId: this.producerId, acked: false, nextOrdinal: 0,
        route: null, conn: primary, hint: null, refresh: false,
      }));
      if (d.shardInfo.some((s) => s.sequencer !== null)) {
        try {
          const routes = await routesOf(this.client, d);
          this.clustered = routes.clustered;
          for (const q of queues) this.setRoute(q, this.sequencerRoute(routes.shards[q.shard]));
        } catch {
          // No node list: every shard starts on the primary connection, and NOT_LEADER hints move them.
        }
      }
      this.queues = queues;
    });
    this.loading.catch(() => (this.loading = undefined));
    return this.loading;
  }

  /** The route for a shard's sequencer: null (the primary connection) when it is the primary's node, unknown, or none. */
  private sequencerRoute(r: ShardRoute | undefined): string | null {
    if (r === undefined || r.sequencer === null || r.sequencerAddress === null) return null;
    if (r.sequencer === this.client.connection.nodeId) return null;
    return r.sequencerAddress;
  }

  private setRoute(q: ShardQueue, route: string | null): void {
    if (route !== null && route === this.client.connection.address) route = null;
    q.route = route;
    try {
      q.conn = route === null ? this.client.connection : this.client.pool.forAddress(route);
    } catch {
      // Not host:port (a node's bad hint): stay on the primary connection.
      q.route = null;
      q.conn = this.client.connection;
    }
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
      // One frame per connection per round (shards routed to different nodes go out on different connections).
      const frames = new Map<ClientConnection, { batches: ProducerBatch[]; bytes: number }>();
      for (const q of this.queues ?? []) {
        if (q.recovering || q.inFlight.length >= (q.acked || !this.o.idempotent ? max : 1)) continue;
        if (q.sealed.length === 0 && q.open !== undefined && (this.o.lingerMs === 0 || q.open.lingerUntil <= now)) this.seal(q);
        const b = q.sealed.shift();
        if (b === undefined) continue;
        q.inFlight.push(b);
        let f = frames.get(q.conn);
        if (f === undefined) frames.set(q.conn, (f = { batches: [], bytes: 0 }));
        if (f.bytes + b.used > frameMax && f.batches.length > 0) {
          this.sendFrame(q.conn, f.batches);
          f.batches = [];
          f.bytes = 0;
        }
        f.batches.push(b);
        f.bytes += b.used;
      }
      if (frames.size === 0) return this.wakeForLinger(now);
      for (const [conn, f] of frames) if (f.batches.length > 0) this.sendFrame(conn, f.batches);
    }
  }

  /**
   * An open batch whose linger is not over yet (or that could not go when
   * its linger ended) must not wait for an ack that may never come: the
   * pump runs again when the earliest such linger ends. Without this a
   * batch opened just before the last answer of its shard stayed unsent
   * for good (found by the replicated-cluster test: 64 sends never settled).
   */
  private wakeForLinger(now: number): void {
    if (this.o.lingerMs <= 0 || this.lingerWake !== null) return;
    let at = Infinity;
    for (const q of this.queues ?? []) if (q.open !== undefined && !q.recovering && q.inFlight.length === 0) at = Math.min(at, q.open.lingerUntil);
    if (at === Infinity) return;
    this.lingerWake = setTimeout(() => {
      this.lingerWake = null;
      this.pump();
    }, Math.max(1, at - now));
    this.lingerWake.unref();
  }
  private lingerWake: NodeJS.Timeout | null = null;

  private sendFrame(conn: ClientConnection, batches: ProducerBatch[]): void {
    const header = {
      namespace: ns(this.o as ProducerOptions),
      name: this.stream,
      parts: batches.map((b) => ({ shard: b.shard, bytes: b.used })),
      ...(this.o.acks === 'quorum' ? {} : { acks: this.o.acks }), // absent means quorum
    };
    const untilDeadline = Math.max(1, Math.min(...batches.map((b) => b.deadline)) - Date.now());
    const cut = this.o.idempotent && this.o.acks !== 'none' && (this.clustered || conn !== this.client.connection);
    const timeoutMs = cut ? Math.min(untilDeadline, CLUSTER_APPEND_ANSWER_WAIT_MS) : untilDeadline;
    const body = batches.map((b) => b.bytes());
    if (this.o.acks === 'none') {
      conn.send(OP.APPEND, header, body, timeoutMs).then(
        () => batches.forEach((b) => this.onWritten(b)),
        (err: Error) => batches.forEach((b) => this.onFailure(b, err)),
      );
      return;
    }
    conn.request(OP.APPEND, header, { body, timeoutMs }).then(
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

  /** acks "none": the batch is on the wire; nothing will be known about it. */
  private onWritten(b: ProducerBatch): void {
    b.written();
    this.release(b);
    if (b.buf.length === this.o.maxBatchBytes && this.spareBuffers.length < this.spareBuffersMax) this.spareBuffers.push(b.buf);
  }

  /** What a failure says about the shard's route: a hint to follow, or metadata to read again. */
  private noteRoute(q: ShardQueue, err: Error): void {
    if (!(err instanceof NativeLogError)) return;
    if (err.codeName === 'NOT_LEADER') {
      const hint = hintAddress(err.details);
      const here = q.route ?? this.client.connection.address ?? null;
      if (hint !== null && hint !== here) q.hint = hint;
      else q.refresh = true;
    } else if (err.codeName === 'FENCED' || (err.codeName === 'CONNECTION_LOST' && (this.clustered || q.route !== null))) {
      q.refresh = true;
    }
  }

  /** Before a resend: 0 to follow a fresh NOT_LEADER hint, else exponential backoff by the batch's retries. */
  private retryWait(q: ShardQueue, attempts: number): number {
    if (q.hint !== null && attempts <= REDIRECTS_WITHOUT_BACKOFF_MAX) return 0;
    const wait = Math.min(this.client.connection.opts.reconnectMaxMs, this.client.connection.opts.reconnectMinMs * 2 ** attempts);
    return this.clustered ? Math.min(wait, CLUSTER_RETRY_BACKOFF_MS_MAX) : wait;
  }

  private onFailure(b: ProducerBatch, err: Error): void {
    const q = this.queues![b.shard]!;
    if (err instanceof NativeLogError && err.codeName === 'TIMEOUT' && this.o.idempotent && Date.now() < b.deadline - 1 && (this.clustered || q.route !== null)) {
      // Cut short by CLUSTER_APPEND_ANSWER_WAIT_MS, not by the batch's deadline: the sequencer is not answering.
      err = clientError('CONNECTION_LOST', `No answer from the shard's sequencer within ${CLUSTER_APPEND_ANSWER_WAIT_MS} ms; looking for it again.`);
    }
    const lost = err instanceof NativeLogError && ['CONNECTION_LOST', 'TIMEOUT', 'SHARD_RESTARTED', 'FENCED', 'NOT_ENOUGH_REPLICAS'].includes(err.codeName);
    const safe = this.o.idempotent || !lost; // without idempotence a lost answer may mean it was written: never resend
    this.noteRoute(q, err);
    const wait = this.retryWait(q, b.attempts);
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

  /** Once nothing of the shard is in flight: after `wait` (and a route change, if one is due), puts the failed batches back in front, in send order. */
  private resendLater(q: ShardQueue, wait: number): void {
    void sleep(wait).then(async () => {
      await this.reroute(q);
      q.failed.sort((x, y) => x.ordinal - y.ordinal);
      q.sealed.unshift(...q.failed);
      q.failed = [];
      q.recovering = false;
      this.pump();
    });
  }

  /**
   * Follows a NOT_LEADER hint, or reads the stream's metadata again (bounded
   * by the earliest deadline of the shard's failed batches). Without metadata
   * the shard goes back to the primary connection, which reconnects over the
   * server list and gets hints from whichever node answers.
   */
  private async reroute(q: ShardQueue): Promise<void> {
    if (q.hint !== null) {
      this.setRoute(q, q.hint);
      q.hint = null;
      q.refresh = false;
      return;
    }
    if (!q.refresh) return;
    q.refresh = false;
    const deadline = Math.min(...q.failed.map((b) => b.deadline));
    try {
      const routes = await fetchRoutes(this.client, this.stream, ns(this.o as ProducerOptions), Math.max(1, deadline - Date.now()));
      this.clustered ||= routes.clustered;
      this.setRoute(q, this.sequencerRoute(routes.shards[q.shard]));
    } catch {
      this.setRoute(q, null);
    }
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
      this.resendLater(q, this.retryWait(q, first.attempts - 1));
      return;
    }
    this.pump();
  }
}

/** The "host:port" a NOT_LEADER answer names (details.address), or null. */
export function hintAddress(details: unknown): string | null {
  if (typeof details !== 'object' || details === null) return null;
  const a = (details as Record<string, unknown>)['address'];
  return typeof a === 'string' && a.length > 0 ? a : null;
}
