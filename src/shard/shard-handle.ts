/**
 * The main thread's handle on one local shard: it spawns the shard's worker
 * (workers/shard-worker.ts), owns the two rings, writes requests into the
 * inbound ring and matches responses from the outbound ring in order.
 *
 * Flow of a call: it waits in `waiting` (at most SHARD_WAITING_MAX) until
 * fewer than inFlightMax requests are in flight and the inbound ring has room,
 * then its request is written into the ring in place (append: the caller's
 * records are copied once, into ring memory) and it moves to `inFlight`.
 * The response pump runs while anything is in flight, sleeping on the
 * outbound ring with Atomics.waitAsync.
 *
 * The worker owns the shard folder through <dir>/LOCK (src/lock): a second
 * handle on the same folder fails open. Every worker of one handle presents
 * the handle's token, so a replacement takes over the lock a dead worker
 * never released; close() removes it if the worker could not.
 *
 * Replicated shards (issue 15): append(records, {returnStamped}) answers a
 * copy of the stamped bytes for the sequencer to send; appendStamped stores
 * a sequencer's bytes on a replica; fence, truncateTo and setEpoch are ring
 * requests, so each is ordered after every call made before it (a fence
 * answers only once the appends sent before it are stored); read takes the
 * committed end (endSeqMax). SEQ_GAP errors carry details.endSeq.
 *
 * If the worker dies, the responses it committed to its outbound ring are
 * delivered first; every other call in flight (written to its ring) is
 * rejected with WORKER_EXITED, and a new worker (with new rings) is started; it
 * recovers the shard from disk. Calls not yet written, and calls made during
 * the restart, wait for the new worker.
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import * as Comlink from 'comlink';
import { releaseOwnerLock } from '../lock/owner-lock.js';
import { RECORD_BYTES_MAX_DEFAULT } from '../record/layout.js';
import { RingConsumer, RingProducer, createRingBuffer, ringMessageBytesMax, type RingMessage } from '../ring/index.js';
import type { AppendOptions, FenceResult, ReadResult, ShardDescription, ShardHandleApi, ShardHandleOptions, StampedAppend, StampedAppendResult } from './types.js';
import type { ShardWorkerControl, ShardWorkerInit, ShardWorkerStats, WorkerStoreOptions } from './shard-control.js';
import { ShardError, shardErrorCode } from './shard-error.js';
import {
  SHARD_IN_FLIGHT_MAX_DEFAULT,
  SHARD_RESTARTS_MAX,
  SHARD_RESTART_BACKOFF_MS,
  SHARD_WAITING_MAX,
  shardRingBytes,
} from './shard-limits.js';
import {
  APPEND_FLAG_RETURN_STAMPED,
  OP_APPEND,
  OP_APPEND_STAMPED,
  OP_FENCE,
  OP_READ,
  OP_SET_EPOCH,
  OP_TRUNCATE,
  OP_SEQ_FOR_APPEND_TIME,
  OP_SEQ_FOR_EVENT_TIME,
  REQUEST_HEADER_BYTES,
  RESPONSE_HEADER_BYTES,
  RES_FLAG_DUPLICATE,
  RES_FLAG_STAMPED,
  STATUS_OK,
  decodeErrorBody,
  readResponseHeader,
  writeRequestHeader,
} from './shard-protocol.js';

const WORKER_URL = new URL('../../workers/shard-worker.js', import.meta.url);
const STORE_MODULE_URL = new URL('../storage/shard-store.js', import.meta.url).href;

/** Not part of the contract: test seams. */
export interface ShardHandleInternals {
  /** Module exporting `ShardStore` for the worker to use instead of the storage engine. */
  storeModuleUrl?: string;
  /** The first worker exits right after committing this many responses, before waking this thread (finding 7's test). */
  exitAfterResponses?: number;
}

export interface ShardHandleStats extends ShardWorkerStats {
  inFlight: number;
  waiting: number;
  /** Workers started after a death. */
  restarts: number;
}

type HandleState = 'open' | 'restarting' | 'closing' | 'closed' | 'failed';

interface Call {
  op: number;
  requestId: number;
  /** Payload bytes of the request message. */
  size: number;
  fill(view: Uint8Array): void;
  settle(m: RingMessage): void;
  reject(e: Error): void;
}

/** One worker's lifetime, with its own pair of rings. */
interface Generation {
  worker: Worker;
  port: MessagePort;
  control: Comlink.Remote<ShardWorkerControl>;
  producer: RingProducer;
  consumer: RingConsumer;
  /** Rejects (WORKER_EXITED) when this worker exits. */
  exited: Promise<never>;
}

export class ShardHandle implements ShardHandleApi {
  /** Largest append (bytes of concatenated records) one call may carry. */
  readonly appendBytesMax: number;
  /** Largest read response; read() clamps maxBytes to it. */
  readonly readBytesMax: number;
  readonly ringBytes: number;
  readonly inFlightMax: number;
  private gen: Generation | null = null;
  private state: HandleState = 'open';
  private failure: Error | null = null;

  /** Why this handle no longer serves (restarts exhausted), or null while it does. */
  get failedReason(): string | null {
    return this.state === 'failed' && this.failure !== null ? this.failure.message : null;
  }
  private readonly waiting: Call[] = [];
  private readonly inFlight: Call[] = [];
  private readonly listeners = new Set<(endSeq: number) => void>();
  private readonly drainWaiters: (() => void)[] = [];
  private nextRequestId = 1;
  private sending = false;
  /** A wake of the worker is scheduled for the end of this event-loop turn. */
  private wakeScheduled = false;
  private receiving = false;
  private restarts = 0;
  private ready: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  /**
   * Owner token of <dir>/LOCK for every worker of this handle: a replacement
   * presents it to take over the lock its dead predecessor never released.
   */
  private readonly lockToken = randomUUID();

  private constructor(
    private readonly opts: ShardHandleOptions,
    private readonly storeModuleUrl: string,
    private exitAfterResponses: number | undefined,
  ) {
    this.ringBytes = shardRingBytes(opts.ringBytes, opts.recordBytesMax ?? RECORD_BYTES_MAX_DEFAULT);
    this.inFlightMax = opts.inFlightMax ?? SHARD_IN_FLIGHT_MAX_DEFAULT;
    if (!Number.isInteger(this.inFlightMax) || this.inFlightMax < 1) throw new RangeError(`inFlightMax must be a positive integer, got ${this.inFlightMax}`);
    const messageBytesMax = ringMessageBytesMax(this.ringBytes);
    this.appendBytesMax = messageBytesMax - REQUEST_HEADER_BYTES;
    this.readBytesMax = messageBytesMax - RESPONSE_HEADER_BYTES;
  }

  /** Spawns the shard's worker, which opens (and recovers) the shard folder. */
  static async open(opts: ShardHandleOptions, internals: ShardHandleInternals = {}): Promise<ShardHandle> {
    // A copy: setRetention() updates it so a restarted worker gets the current settings.
    const h = new ShardHandle({ ...opts }, internals.storeModuleUrl ?? STORE_MODULE_URL, internals.exitAfterResponses);
    h.gen = await h.startWorker();
    return h;
  }

  /** With returnStamped, `stamped` is a copy of the bytes written (see AppendOptions); such an append may carry at most readBytesMax bytes. */
  append(records: Uint8Array, opts: AppendOptions = {}): Promise<StampedAppend> {
    const returnStamped = opts.returnStamped === true;
    const limit = returnStamped ? Math.min(this.appendBytesMax, this.readBytesMax) : this.appendBytesMax;
    if (records.length > limit) {
      return Promise.reject(
        new ShardError('RECORD_TOO_LARGE', `append of ${records.length} bytes exceeds this shard's limit of ${limit} bytes per call (ringBytes ${this.ringBytes}${returnStamped ? ', returnStamped' : ''})`),
      );
    }
    return this.call(OP_APPEND, REQUEST_HEADER_BYTES + records.length, (view, id) => {
      writeRequestHeader(view, id, returnStamped ? APPEND_FLAG_RETURN_STAMPED : 0, 0);
      view.set(records, REQUEST_HEADER_BYTES);
    }, (h, body) => {
      const r: StampedAppend = { firstSeq: h.a, lastSeq: h.b, count: h.count, appendTime: h.c, duplicate: (h.flags & RES_FLAG_DUPLICATE) !== 0 };
      if ((h.flags & RES_FLAG_STAMPED) !== 0) r.stamped = body.slice(); // a copy: the ring's memory is reused
      if (r.count > 0 && !r.duplicate) this.emitAppend(r.lastSeq + 1);
      return r;
    });
  }

  appendStamped(records: Uint8Array, firstSeq: number, epoch: number): Promise<StampedAppendResult> {
    if (!Number.isSafeInteger(firstSeq) || firstSeq < 0) return Promise.reject(new RangeError(`firstSeq must be a non-negative integer, got ${firstSeq}`));
    const bad = checkEpoch(epoch);
    if (bad !== null) return Promise.reject(bad);
    if (records.length > this.appendBytesMax) {
      return Promise.reject(
        new ShardError('RECORD_TOO_LARGE', `append of ${records.length} bytes exceeds this shard's limit of ${this.appendBytesMax} bytes per call (ringBytes ${this.ringBytes})`),
      );
    }
    return this.call(OP_APPEND_STAMPED, REQUEST_HEADER_BYTES + records.length, (view, id) => {
      writeRequestHeader(view, id, epoch, firstSeq);
      view.set(records, REQUEST_HEADER_BYTES);
    }, (h) => {
      const r: StampedAppendResult = { firstSeq: h.a, lastSeq: h.b, count: h.count, skipped: h.flags, appendTime: h.c };
      if (r.count > r.skipped) this.emitAppend(r.lastSeq + 1);
      return r;
    });
  }

  read(fromSeq: number, maxBytes: number, endSeqMax?: number): Promise<ReadResult> {
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 0) return Promise.reject(new RangeError(`fromSeq must be a non-negative integer, got ${fromSeq}`));
    if (!Number.isInteger(maxBytes) || maxBytes < 0) return Promise.reject(new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`));
    if (endSeqMax !== undefined && !(Number.isSafeInteger(endSeqMax) && endSeqMax >= 0)) {
      return Promise.reject(new RangeError(`endSeqMax must be a non-negative integer, got ${endSeqMax}`));
    }
    const max = Math.min(maxBytes, this.readBytesMax);
    return this.call(OP_READ, REQUEST_HEADER_BYTES, (view, id) => writeRequestHeader(view, id, max, fromSeq, endSeqMax ?? Infinity), (h, body) => ({
      bytes: body.slice(),
      count: h.count,
      firstSeq: h.a,
      nextSeq: h.b,
    }));
  }

  fence(epoch: number): Promise<FenceResult> {
    const bad = checkEpoch(epoch);
    if (bad !== null) return Promise.reject(bad);
    return this.call(OP_FENCE, REQUEST_HEADER_BYTES, (view, id) => writeRequestHeader(view, id, epoch, 0), (h) => ({ endSeq: h.a, lastEpoch: h.b, fenceEpoch: h.c }));
  }

  truncateTo(seq: number): Promise<number> {
    if (!Number.isSafeInteger(seq) || seq < 0) return Promise.reject(new RangeError(`seq must be a non-negative integer, got ${seq}`));
    return this.call(OP_TRUNCATE, REQUEST_HEADER_BYTES, (view, id) => writeRequestHeader(view, id, 0, seq), (h) => h.a);
  }

  setEpoch(epoch: number): Promise<void> {
    const bad = checkEpoch(epoch);
    if (bad !== null) return Promise.reject(bad);
    this.opts.epoch = epoch; // a restarted worker stamps it too
    return this.call(OP_SET_EPOCH, REQUEST_HEADER_BYTES, (view, id) => writeRequestHeader(view, id, epoch, 0), () => undefined);
  }

  seqForAppendTime(t: number): Promise<number> {
    return this.call(OP_SEQ_FOR_APPEND_TIME, REQUEST_HEADER_BYTES, (view, id) => writeRequestHeader(view, id, 0, t), (h) => h.a);
  }

  seqForEventTime(t: number): Promise<number> {
    return this.call(OP_SEQ_FOR_EVENT_TIME, REQUEST_HEADER_BYTES, (view, id) => writeRequestHeader(view, id, 0, t), (h) => h.a);
  }

  describe(): Promise<ShardDescription> {
    return this.control((c) => c.describe());
  }

  setRetention(retentionMs: number | null, retentionBytes: number | null): Promise<void> {
    this.opts.retentionMs = retentionMs;
    this.opts.retentionBytes = retentionBytes;
    return this.control((c) => c.setRetention(retentionMs, retentionBytes));
  }

  /** Applies retention now; resolves to the number of segments deleted. */
  enforceRetention(): Promise<number> {
    return this.control((c) => c.enforceRetention());
  }

  /** Seals the active segment and opens a new one. */
  roll(): Promise<void> {
    return this.control((c) => c.roll());
  }

  async stats(): Promise<ShardHandleStats> {
    const w = await this.control((c) => c.stats());
    return { ...w, inFlight: this.inFlight.length, waiting: this.waiting.length, restarts: this.restarts };
  }

  /** Stops the worker taking requests from its ring until resumeWorker() (tests, maintenance). */
  pauseWorker(): Promise<void> {
    return this.control((c) => c.pause());
  }

  resumeWorker(): Promise<void> {
    return this.control((c) => c.resume());
  }

  onAppend(listener: (endSeq: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Fault injection: terminates the worker as a crash would; resolves once the replacement has recovered. */
  async killWorker(): Promise<void> {
    const gen = this.gen;
    if (gen === null) throw new ShardError('CLOSED', 'no shard worker is running');
    await gen.worker.terminate();
    await gen.exited.catch(() => undefined); // runs after the exit handler, which starts the restart
    await this.ready;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown((c) => c.close());
    return this.closing;
  }

  destroy(): Promise<void> {
    this.closing ??= this.shutdown((c) => c.destroy());
    return this.closing;
  }

  // ------------------------------------------------------------ requests

  private call<T>(op: number, size: number, fill: (view: Uint8Array, id: number) => void, done: (h: ReturnType<typeof readResponseHeader>, body: Uint8Array) => T): Promise<T> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    if (this.waiting.length >= SHARD_WAITING_MAX) {
      return Promise.reject(new ShardError('BUSY', `shard has ${this.waiting.length} calls waiting (limit ${SHARD_WAITING_MAX}); retry later`));
    }
    return new Promise<T>((resolve, reject) => {
      const requestId = this.nextRequestId;
      this.nextRequestId = (this.nextRequestId + 1) >>> 0;
      this.waiting.push({
        op,
        requestId,
        size,
        fill: (view) => fill(view, requestId),
        reject,
        settle: (m) => {
          const h = readResponseHeader(m.bytes);
          if (h.requestId !== requestId || h.op !== op) throw new Error(`shard response for request ${h.requestId} op ${h.op} arrived for request ${requestId} op ${op}`);
          const body = m.bytes.subarray(RESPONSE_HEADER_BYTES);
          if (m.tag === STATUS_OK) resolve(done(h, body));
          else {
            const e = decodeErrorBody(body);
            reject(new ShardError(shardErrorCode(e.code), e.message, e.details));
          }
        },
      });
      this.pumpSend();
    });
  }

  private refusal(): Error | null {
    if (this.state === 'failed') return this.failure;
    if (this.state === 'closing' || this.state === 'closed') return new ShardError('CLOSED', 'shard handle is closed');
    return null;
  }

  /** Writes waiting calls into the inbound ring while slots and space allow. */
  private pumpSend(): void {
    const gen = this.gen;
    if (this.sending || gen === null) return;
    while (this.waiting.length > 0 && this.inFlight.length < this.inFlightMax) {
      const c = this.waiting[0]!;
      const view = gen.producer.tryReserve(c.size, c.op);
      if (view === null) {
        this.sending = true;
        void this.sendWhenSpace(gen, c.size);
        return;
      }
      c.fill(view);
      gen.producer.commit(undefined, false);
      this.waiting.shift();
      this.inFlight.push(c);
      this.scheduleWake(gen);
    }
    if (this.inFlight.length > 0) this.pumpReceive(gen);
  }

  /**
   * One wake of a sleeping worker per event-loop turn, however many requests
   * this turn wrote (an Atomics.notify to a sleeping thread costs tens of
   * microseconds here): requests from every frame read in this turn go to
   * the worker together, as one group commit. The ring also wakes the worker
   * itself before this thread waits for space.
   */
  private scheduleWake(gen: Generation): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      gen.producer.wake();
      if (this.gen !== null && this.gen !== gen) this.gen.producer.wake();
    });
  }

  private async sendWhenSpace(gen: Generation, size: number): Promise<void> {
    this.pumpReceive(gen);
    try {
      await gen.producer.waitForSpaceAsync(size);
    } catch {
      // The ring was closed: the worker died; the exit handler fails the calls.
    } finally {
      this.sending = false;
    }
    this.pumpSend(); // on the current worker, which may be a new one by now
  }

  /** Reads responses while anything is in flight. */
  private pumpReceive(gen: Generation): void {
    if (this.receiving) return;
    this.receiving = true;
    void this.receiveLoop(gen);
  }

  private async receiveLoop(gen: Generation): Promise<void> {
    try {
      while (gen === this.gen && this.inFlight.length > 0) {
        const m = gen.consumer.tryRead();
        if (m === null) {
          gen.consumer.release();
          if ((await gen.consumer.waitAsync()) === 'closed') break;
          continue;
        }
        this.settleNext(gen, m);
        gen.consumer.release();
        if (this.waiting.length > 0) this.pumpSend();
      }
    } finally {
      this.receiving = false;
    }
    // This loop may have served a worker that died; a new one may have calls in flight.
    if (this.gen !== null && this.gen !== gen && this.inFlight.length > 0) this.pumpReceive(this.gen);
    this.notifyIfDrained();
  }

  /** Settles the oldest call in flight with response m; false if m did not match it (the call is rejected). */
  private settleNext(gen: Generation, m: RingMessage): boolean {
    const c = this.inFlight.shift()!;
    try {
      c.settle(m);
      return true;
    } catch (e) {
      c.reject(e as Error);
      // A response out of order means the rings can no longer be trusted: restart the worker.
      void gen.worker.terminate();
      return false;
    }
  }

  private emitAppend(endSeq: number): void {
    for (const l of this.listeners) {
      try {
        l(endSeq);
      } catch {
        // A listener's failure is its own; the append succeeded.
      }
    }
  }

  // ------------------------------------------------------------ control

  private async control<T>(fn: (c: Comlink.Remote<ShardWorkerControl>) => Promise<T>): Promise<T> {
    const refused = this.refusal();
    if (refused !== null) throw refused;
    await this.ready;
    const gen = this.gen;
    if (gen === null) throw this.failure ?? new ShardError('CLOSED', 'shard worker is not running');
    return this.onGen(gen, fn);
  }

  private async onGen<T>(gen: Generation, fn: (c: Comlink.Remote<ShardWorkerControl>) => Promise<T>): Promise<T> {
    try {
      return await Promise.race([fn(gen.control), gen.exited]);
    } catch (e) {
      throw toShardError(e);
    }
  }

  // ------------------------------------------------------------ lifecycle

  private async startWorker(): Promise<Generation> {
    const inbound = createRingBuffer(this.ringBytes);
    const outbound = createRingBuffer(this.ringBytes);
    const { port1, port2 } = new MessageChannel();
    const init: ShardWorkerInit & { port: MessagePort } = { inbound, outbound, storeModuleUrl: this.storeModuleUrl, port: port2 };
    if (this.exitAfterResponses !== undefined) init.testExitAfterResponses = this.exitAfterResponses;
    this.exitAfterResponses = undefined; // the first worker only
    const worker = new Worker(WORKER_URL, { workerData: init, transferList: [port2] });
    let lastError: unknown = null;
    worker.on('error', (e) => (lastError = e));
    const exited = new Promise<never>((_, reject) => {
      worker.once('exit', (code) => {
        const why = lastError instanceof Error ? `: ${lastError.message}` : '';
        reject(new ShardError('WORKER_EXITED', `shard worker for ${this.opts.dir} exited with code ${code}${why}`));
      });
    });
    exited.catch(() => undefined);
    const gen: Generation = { worker, port: port1, control: Comlink.wrap<ShardWorkerControl>(port1 as unknown as Comlink.Endpoint), producer: new RingProducer(inbound), consumer: new RingConsumer(outbound), exited };
    exited.catch((e: Error) => this.onExit(gen, e));
    try {
      // Also a worker of ours that died holding the lock (killed, or crashed inside open()) is taken over.
      await this.onGen(gen, (c) => c.open(this.storeOptions(), { token: this.lockToken, takeOverToken: this.lockToken }));
    } catch (e) {
      port1.close();
      await worker.terminate();
      throw e;
    }
    return gen;
  }

  private storeOptions(): WorkerStoreOptions {
    const { ringBytes: _r, inFlightMax: _i, ...store } = this.opts;
    return store;
  }

  private onExit(gen: Generation, e: Error): void {
    gen.port.close();
    if (gen !== this.gen) return;
    this.gen = null;
    gen.producer.close();
    // Responses the worker committed before it died are real answers (a
    // message is published only whole, by the atomic cursor store): deliver
    // them first, in order, through the same FIFO and request-id checks.
    this.drainDead(gen);
    gen.consumer.close();
    // The other calls the dead worker may have started fail; calls never
    // written to its ring wait for the new worker (nothing of them can have happened).
    for (const c of this.inFlight.splice(0)) c.reject(e);
    this.notifyIfDrained();
    if (this.state === 'open') {
      this.state = 'restarting';
      this.ready = this.restart(e);
    }
  }

  /** Settles in-flight calls from the responses left in a dead worker's outbound ring. */
  private drainDead(gen: Generation): void {
    try {
      while (this.inFlight.length > 0) {
        const m = gen.consumer.tryRead();
        if (m === null) break;
        const matched = this.settleNext(gen, m);
        gen.consumer.release();
        if (!matched) break; // a response that did not match its call: the ring is not trusted further
      }
    } catch {
      // A damaged ring header: what is left fails with WORKER_EXITED like any unanswered call.
    }
  }

  private async restart(cause: Error): Promise<void> {
    let last: unknown = cause;
    for (let attempt = 1; attempt <= SHARD_RESTARTS_MAX; attempt++) {
      if (this.state !== 'restarting' && this.state !== 'closing') return;
      try {
        // Installed even when close() began meanwhile, so that close() shuts it down cleanly.
        this.gen = await this.startWorker();
        this.restarts++;
        if (this.state === 'restarting') this.state = 'open';
        this.pumpSend();
        return;
      } catch (e) {
        last = e;
        await new Promise((r) => setTimeout(r, SHARD_RESTART_BACKOFF_MS * attempt));
      }
    }
    this.state = 'failed';
    this.releaseLock(); // no worker of ours runs: the dead one's lock must not outlive it
    this.failure = new ShardError('SHARD_FAILED', `The shard worker for ${this.opts.dir} could not be restarted after ${SHARD_RESTARTS_MAX} attempts: ${(last as Error).message}`);
    for (const c of this.waiting.splice(0)) c.reject(this.failure);
    this.notifyIfDrained();
  }

  private async shutdown(fn: (c: Comlink.Remote<ShardWorkerControl>) => Promise<void>): Promise<void> {
    const wasFailed = this.state === 'failed';
    this.state = 'closing';
    await this.ready;
    if (this.gen !== null) await this.onGen(this.gen, (c) => c.resume()).catch(() => undefined); // a paused worker could never drain
    await this.drained();
    const gen = this.gen;
    this.gen = null;
    try {
      if (gen !== null) await this.onGen(gen, fn);
      else if (wasFailed) throw this.failure!;
    } finally {
      this.state = 'closed';
      if (gen !== null) {
        gen.producer.close();
        gen.port.close();
        await gen.worker.terminate();
      }
      this.releaseLock();
    }
  }

  /**
   * Removes <dir>/LOCK if it still carries this handle's token: after a clean
   * close the worker already did; after a worker died holding it, nobody else
   * can. Never touches another owner's lock.
   */
  private releaseLock(): void {
    try {
      releaseOwnerLock(this.opts.dir, this.lockToken);
    } catch {
      // An unreadable folder: the next owner judges the lock by its pid.
    }
  }

  private drained(): Promise<void> {
    if (this.waiting.length === 0 && this.inFlight.length === 0) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  private notifyIfDrained(): void {
    if (this.waiting.length > 0 || this.inFlight.length > 0) return;
    for (const r of this.drainWaiters.splice(0)) r();
  }
}

/** Epochs are u32 (the record header's field). */
function checkEpoch(epoch: number): RangeError | null {
  return Number.isInteger(epoch) && epoch >= 0 && epoch <= 0xffffffff ? null : new RangeError(`epoch must be an integer in [0, 4294967295], got ${epoch}`);
}

function toShardError(e: unknown): ShardError {
  if (e instanceof ShardError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  return new ShardError(shardErrorCode(code), e instanceof Error ? e.message : String(e));
}
