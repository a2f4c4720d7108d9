/**
 * One shard's worker thread: it alone opens the shard's files (through the
 * storage engine), serves requests from its inbound ring in order, and writes
 * responses to its outbound ring. Control calls arrive over comlink on the
 * MessagePort the handle passes in (see src/shard/shard-control.ts).
 *
 * Loop: take the requests waiting in the ring (up to SHARD_BATCH_REQUESTS_MAX
 * requests and SHARD_BATCH_BYTES_MAX bytes),
 * execute them in order against the store (appends are written straight from
 * ring memory, the store patching seq/time in place there; reads are read
 * from the file straight into the outbound ring), then, when the
 * fsync policy is 'always', issue one fsync for the whole batch (group
 * commit) before any of its responses is written. Right after serving, the
 * worker blocks up to WORKER_HOT_WAIT_MS in Atomics.wait for the next request
 * (a futex wake is quicker than an event-loop turn: sequential 1 KiB appends
 * measured p50 ~95 us vs ~105-170 us without it); past that, an idle worker
 * waits with Atomics.waitAsync, and a busy one yields every WORKER_YIELD_MS,
 * so comlink control calls are always served.
 *
 * Replicated-shard requests (APPEND_STAMPED, FENCE, TRUNCATE, SET_EPOCH;
 * src/shard/shard-protocol.ts) are served in ring order like appends; a
 * stamped append that writes joins the batch's group fsync, and a
 * truncation first waits for the store's background fsyncs and rolls.
 *
 * A failed fsync (the group fsync, a background fsync, a seal job's, a
 * checkpoint's) stops the store for good (src/storage/fsync-guard.ts): it is
 * never retried. From then on every request is answered SHARD_STOPPED (an
 * append so answered was not acked) while the worker reopens the shard from
 * what is durable (ShardStore.reopen: bounded attempts with backoff). If
 * that fails, the worker answers what is in its ring SHARD_STOPPED and exits
 * with the reason as an uncaught error: the ShardHandle then restarts it,
 * and a shard that cannot be opened ends failed with that reason.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { rmSync } from 'node:fs';
import * as Comlink from 'comlink';
import { acquireOwnerLock, type OwnerLock } from '../src/lock/owner-lock.js';
import { RingConsumer, RingProducer, type RingMessage } from '../src/ring/index.js';
import type { ReadIntoResult, RecoveryReport, ShardStoreApi, ShardStoreOptions, ShardDescription } from '../src/storage/types.js';
import { recoveryLogLine } from '../src/storage/recovery.js';
import type { ShardOwnerToken, ShardWorkerControl, ShardWorkerInit, ShardWorkerStats, WorkerStoreOptions } from '../src/shard/shard-control.js';
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
  STATUS_ERROR,
  STATUS_OK,
  encodeErrorBody,
  readRequestHeader,
  writeResponseHeader,
  type ResponseFields,
} from '../src/shard/shard-protocol.js';

/** Most requests taken from the ring per batch (one group commit). */
export const SHARD_BATCH_REQUESTS_MAX = 1024;
/**
 * A batch stops taking requests once it holds this many request bytes (it
 * always takes at least one), which bounds the time between event-loop turns
 * (comlink) and between fsyncs.
 */
export const SHARD_BATCH_BYTES_MAX = 4 * 1024 * 1024;
/** A busy loop yields to the event loop (comlink) at least this often. */
export const WORKER_YIELD_MS = 5;
/** Blocking wait for the next request right after serving, before an idle worker falls back to waitAsync (0 = off). */
export const WORKER_HOT_WAIT_MS = 1;
/** store.tick() cadence (age roll, interval fsync, retention). */
export const SHARD_TICK_MS = 100;

interface StoreModule {
  ShardStore: { open(opts: ShardStoreOptions): ShardStoreApi };
}

interface Outcome {
  status: number;
  fields: ResponseFields;
  body: Uint8Array | null;
  /** An append that succeeded and still awaits the batch fsync. */
  appended: boolean;
  /** A read to perform when its response is written (bytes wanted, <= readBytesMax); else 0. */
  readBytes: number;
  /** That read returns no record with seq >= this (the committed end; Infinity: no bound). */
  readEndSeqMax?: number;
}

const EMPTY = new Uint8Array(0);

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if ((e as Error | null)?.name === 'StorageError' && typeof code === 'string') return code;
  if (code === 'ENOSPC') return 'DISK_FULL';
  return 'IO_ERROR';
}

function errorDetails(e: unknown): { endSeq?: number } | undefined {
  const d = (e as { details?: { endSeq?: unknown } } | null)?.details;
  return d !== undefined && d !== null && typeof d.endSeq === 'number' ? { endSeq: d.endSeq } : undefined;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

class ShardServer implements ShardWorkerControl {
  private store: ShardStoreApi | null = null;
  /** <dir>/LOCK, held from open() to the end of close() (one worker per shard folder). */
  private lock: OwnerLock | null = null;
  private responsesCommitted = 0;
  private dir = '';
  private syncEachBatch = false;
  private readBytesMax: number;
  private stopping = false;
  private paused: { promise: Promise<void>; resume: () => void } | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  /** The store's background fsync in flight (see startBackgroundSync). */
  private bgSync: Promise<void> | null = null;
  /** Replacing a store stopped by an fsync failure (see reopenStopped). */
  private reopening: Promise<void> | null = null;
  /** The reopen failed: the worker exits with this once its ring is answered. */
  private fatal: Error | null = null;
  private readonly counters: ShardWorkerStats = {
    appends: 0,
    appendErrors: 0,
    records: 0,
    appendedBytes: 0,
    reads: 0,
    readBytes: 0,
    batches: 0,
    batchRequestsMax: 0,
    groupSyncs: 0,
    backgroundSyncs: 0,
  };

  constructor(
    private readonly inbound: RingConsumer,
    private readonly outbound: RingProducer,
    private readonly storeModule: StoreModule,
    private readonly exitAfterResponses: number | undefined,
  ) {
    this.readBytesMax = outbound.messageBytesMax - RESPONSE_HEADER_BYTES;
  }

  open(opts: WorkerStoreOptions, owner: ShardOwnerToken): ShardDescription {
    if (this.store !== null) throw new Error('shard worker already opened a store');
    this.lock = acquireOwnerLock(opts.dir, { what: 'shard folder', owner: 'shard worker', createDir: true, ...owner });
    try {
      return this.openStore(opts);
    } catch (e) {
      this.lock.release();
      this.lock = null;
      throw e;
    }
  }

  private openStore(opts: WorkerStoreOptions): ShardDescription {
    this.syncEachBatch = opts.fsync?.mode === 'always';
    const storeOpts: ShardStoreOptions = { ...opts };
    // Group commit: the worker fsyncs once per batch instead of the store once per append.
    if (this.syncEachBatch) storeOpts.fsync = { mode: 'roll' };
    // 'interval' and 'bytes': fsync on the thread pool while appends go on (a 1 s interval's fsync
    // of ~200 MB blocked this thread for 0.3-0.6 s: the produce p99 of 150-250 ms).
    const mode = opts.fsync?.mode ?? 'interval';
    storeOpts.syncInBackground = (mode === 'interval' || mode === 'bytes') && opts.syncInBackground !== false;
    this.store = this.storeModule.ShardStore.open(storeOpts);
    // Recovery findings (torn tail cut, sealed damage) are logged, never silent (storage defect 4).
    const recovery = (this.store as { recovery?: RecoveryReport }).recovery;
    const recoveryLine = recovery === undefined ? null : recoveryLogLine(opts.dir, recovery);
    if (recoveryLine !== null) process.stderr.write(`${recoveryLine}\n`);
    this.dir = opts.dir;
    this.loopDone = this.loop();
    return this.store.describe();
  }

  describe(): ShardDescription {
    return this.opened().describe();
  }

  stats(): ShardWorkerStats {
    return { ...this.counters };
  }

  setRetention(retentionMs: number | null, retentionBytes: number | null): void {
    this.opened().setRetention(retentionMs, retentionBytes);
  }

  enforceRetention(): number {
    return this.opened().enforceRetention();
  }

  roll(): void {
    this.opened().roll();
  }

  pause(): void {
    if (this.paused !== null) return;
    let resume!: () => void;
    const promise = new Promise<void>((r) => (resume = r));
    this.paused = { promise, resume };
  }

  resume(): void {
    const p = this.paused;
    this.paused = null;
    p?.resume();
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.resume();
    this.inbound.close();
    await this.loopDone;
    await this.reopening;
    await this.bgSync;
    await this.store?.backgroundIdle?.();
    const store = this.store;
    this.store = null;
    try {
      store?.close();
    } finally {
      this.lock?.release();
      this.lock = null;
    }
  }

  async destroy(): Promise<void> {
    const lock = this.lock;
    this.lock = null; // kept until the folder is gone, so nobody opens it meanwhile
    try {
      await this.close();
      if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
    } finally {
      lock?.release(); // a no-op once the folder is gone
    }
  }

  private opened(): ShardStoreApi {
    if (this.store === null) throw Object.assign(new Error('shard store is not open'), { name: 'StorageError', code: 'CLOSED' });
    return this.store;
  }

  private async loop(): Promise<void> {
    let lastTick = performance.now();
    let lastYield = lastTick;
    while (!this.stopping) {
      if (this.paused !== null) {
        await this.paused.promise;
        continue;
      }
      const served = await this.serveBatch();
      const now = performance.now();
      if (now - lastTick >= SHARD_TICK_MS) {
        this.tick();
        lastTick = now;
      }
      this.startBackgroundSync();
      this.checkStopped();
      if (this.fatal !== null) {
        // Every request still in the ring gets SHARD_STOPPED from the stopped store, then the worker dies with the reason.
        while ((await this.serveBatch()) > 0);
        const fatal = this.fatal;
        setImmediate(() => {
          throw fatal;
        });
        return;
      }
      if (served === 0 && !this.hotWait()) {
        if ((await this.inbound.waitAsync(SHARD_TICK_MS)) === 'closed') break;
        lastYield = performance.now();
        continue;
      }
      if (performance.now() - lastYield < WORKER_YIELD_MS) continue;
      await new Promise<void>((r) => setImmediate(r));
      lastYield = performance.now();
    }
  }

  /**
   * After serving, a busy stream usually sends again within microseconds: a
   * short blocking wait catches that with a futex wake instead of an
   * event-loop turn. Blocks comlink for at most WORKER_HOT_WAIT_MS.
   */
  private hotWait(): boolean {
    return WORKER_HOT_WAIT_MS > 0 && this.inbound.waitSync(WORKER_HOT_WAIT_MS) === 'ready';
  }

  /** Starts the store's background fsync when due; its completion runs on this thread's event loop. */
  private startBackgroundSync(): void {
    if (this.bgSync !== null || this.store === null) return;
    let p: Promise<void> | null | undefined;
    try {
      p = this.store.startBackgroundSync?.();
    } catch {
      return; // a closed store: the loop is ending
    }
    if (p === null || p === undefined) return;
    this.bgSync = p;
    void p.then(() => {
      this.counters.backgroundSyncs++;
      this.bgSync = null;
    });
  }

  private tick(): void {
    try {
      this.store?.tick();
    } catch {
      // Time-based duties retry on the next tick (a failed fsync is no such error: it stopped the
      // store, and checkStopped() reopens it); append and read report errors to their callers.
    }
  }

  /** Starts replacing the store once an fsync failure stopped it. */
  private checkStopped(): void {
    const store = this.store;
    if (this.reopening !== null || store === null || !store.stopped) return;
    this.reopening = this.reopenStopped(store).finally(() => {
      this.reopening = null;
    });
  }

  /**
   * Reopens the shard from what is durable (the stopped store answers every
   * request SHARD_STOPPED meanwhile); logs the stop and what recovery cut.
   */
  private async reopenStopped(store: ShardStoreApi): Promise<void> {
    process.stderr.write(`shard ${this.dir}: ${store.stopped!.message.replace(/; this request was not acked$/, '')}\n`);
    try {
      if (store.reopen === undefined) throw new Error('its store cannot be reopened in place');
      const next = await store.reopen();
      const recovery = (next as { recovery?: RecoveryReport }).recovery;
      const line = recovery === undefined ? null : recoveryLogLine(this.dir, recovery);
      if (line !== null) process.stderr.write(`${line}\n`);
      if (this.stopping) {
        next.close();
        return;
      }
      this.store = next;
    } catch (e) {
      this.fatal = new Error(`shard ${this.dir} stopped after an fsync failure and could not be reopened: ${errorMessage(e)}`);
    }
  }

  /** Serves every request waiting (bounded); returns how many. */
  private async serveBatch(): Promise<number> {
    const batch: RingMessage[] = [];
    let bytes = 0;
    while (batch.length < SHARD_BATCH_REQUESTS_MAX && bytes < SHARD_BATCH_BYTES_MAX) {
      const m = this.inbound.tryRead();
      if (m === null) break;
      batch.push(m);
      bytes += m.bytes.length;
    }
    if (batch.length === 0) return 0;
    this.counters.batches++;
    this.counters.batchRequestsMax = Math.max(this.counters.batchRequestsMax, batch.length);
    const outcomes: Outcome[] = [];
    for (const m of batch) {
      // A truncation needs the store's background fsyncs and rolls settled (ShardStore.truncateTo).
      if (m.tag === OP_TRUNCATE) await this.store?.backgroundIdle?.();
      outcomes.push(this.execute(m));
    }
    if (this.syncEachBatch) this.syncBatch(outcomes);
    this.inbound.release();
    for (const o of outcomes) {
      if (o.status === STATUS_OK && o.fields.op === OP_READ) await this.respondRead(o);
      else if (!this.respondNow(o)) await this.respondLater(o);
    }
    this.outbound.wake(); // one wake of the main thread per batch
    return batch.length;
  }

  private syncBatch(outcomes: Outcome[]): void {
    if (!outcomes.some((o) => o.appended)) return;
    try {
      this.opened().sync();
      this.counters.groupSyncs++;
    } catch (e) {
      // Not acked. A failed fsync has stopped the store (SHARD_STOPPED): it is never retried, and the
      // loop reopens the shard from what is durable, which cuts these records off.
      for (const o of outcomes) {
        if (o.appended) Object.assign(o, failure(o.fields.requestId, o.fields.op, errorCode(e), errorMessage(e)));
      }
    }
  }

  private execute(m: RingMessage): Outcome {
    let id = 0;
    try {
      const h = readRequestHeader(m.bytes);
      id = h.requestId;
      const store = this.opened();
      switch (m.tag) {
        case OP_APPEND:
          return this.append(store, id, m.bytes, (h.arg32 & APPEND_FLAG_RETURN_STAMPED) !== 0);
        case OP_APPEND_STAMPED:
          return this.appendStamped(store, id, m.bytes, h.arg64, h.arg32);
        case OP_READ:
          return this.deferRead(id, h.arg64, h.arg32, h.arg64b);
        case OP_FENCE: {
          const f = this.replicaOp(store, 'fence').call(store, h.arg32) as ReturnType<NonNullable<ShardStoreApi['fence']>>;
          return { ...ok(id, m.tag, f.endSeq), fields: { requestId: id, op: m.tag, a: f.endSeq, b: f.lastEpoch, c: f.fenceEpoch, count: 0, flags: 0 } };
        }
        case OP_TRUNCATE:
          this.replicaOp(store, 'truncateTo').call(store, h.arg64);
          return ok(id, m.tag, store.describe().endSeq);
        case OP_SET_EPOCH:
          this.replicaOp(store, 'setEpoch').call(store, h.arg32);
          return ok(id, m.tag, 0);
        case OP_SEQ_FOR_APPEND_TIME:
          return ok(id, m.tag, store.seqForAppendTime(h.arg64));
        case OP_SEQ_FOR_EVENT_TIME:
          return ok(id, m.tag, store.seqForEventTime(h.arg64));
        default:
          return failure(id, m.tag, 'BAD_REQUEST', `unknown shard request op ${m.tag}`);
      }
    } catch (e) {
      if (m.tag === OP_APPEND || m.tag === OP_APPEND_STAMPED) this.counters.appendErrors++;
      return failure(id, m.tag, errorCode(e), errorMessage(e), errorDetails(e));
    }
  }

  /**
   * returnStamped: the response body is a copy of the bytes written (the
   * ring's request memory is released before responses are written). When
   * the append completed a torn batch's stored prefix, the whole batch's
   * records are read back from the store instead.
   */
  private append(store: ShardStoreApi, id: number, bytes: Uint8Array, returnStamped: boolean): Outcome {
    const r = store.append(bytes, REQUEST_HEADER_BYTES, bytes.length);
    this.counters.appends++;
    this.counters.records += r.count;
    this.counters.appendedBytes += bytes.length - REQUEST_HEADER_BYTES;
    let flags = r.duplicate ? RES_FLAG_DUPLICATE : 0;
    let body: Uint8Array | null = null;
    if (returnStamped && !r.duplicate && r.count > 0) {
      const n = bytes.length - REQUEST_HEADER_BYTES;
      body = (store.lastAppendSkipped ?? 0) > 0 ? store.read(r.firstSeq, n).bytes : bytes.slice(REQUEST_HEADER_BYTES);
      if (body.length !== n) throw new Error(`the stamped copy of seqs ${r.firstSeq}..${r.lastSeq} has ${body.length} bytes, the batch ${n}`);
      flags |= RES_FLAG_STAMPED;
    }
    const fields = { requestId: id, op: OP_APPEND, a: r.firstSeq, b: r.lastSeq, c: r.appendTime, count: r.count, flags };
    return { status: STATUS_OK, fields, body, appended: !r.duplicate, readBytes: 0 };
  }

  private appendStamped(store: ShardStoreApi, id: number, bytes: Uint8Array, firstSeq: number, epoch: number): Outcome {
    const r = this.replicaOp(store, 'appendStamped').call(store, bytes, REQUEST_HEADER_BYTES, bytes.length, firstSeq, epoch) as ReturnType<NonNullable<ShardStoreApi['appendStamped']>>;
    this.counters.appends++;
    this.counters.records += r.count - r.skipped;
    this.counters.appendedBytes += bytes.length - REQUEST_HEADER_BYTES;
    const fields = { requestId: id, op: OP_APPEND_STAMPED, a: r.firstSeq, b: r.lastSeq, c: r.appendTime, count: r.count, flags: r.skipped };
    return { status: STATUS_OK, fields, body: null, appended: r.count > r.skipped, readBytes: 0 };
  }

  /** A replicated-shard operation of the store (a test stand-in store may lack it: BAD_REQUEST). */
  private replicaOp<K extends 'appendStamped' | 'fence' | 'truncateTo' | 'setEpoch'>(store: ShardStoreApi, name: K): NonNullable<ShardStoreApi[K]> {
    const fn = store[name];
    if (typeof fn !== 'function') throw Object.assign(new Error(`this shard's store has no ${name}`), { name: 'StorageError', code: 'BAD_REQUEST' });
    return fn as NonNullable<ShardStoreApi[K]>;
  }

  /** A read is answered straight into the outbound ring (store.readInto): no intermediate buffer. */
  private deferRead(id: number, fromSeq: number, maxBytes: number, endSeqMax: number): Outcome {
    const fields = { requestId: id, op: OP_READ, a: fromSeq, b: 0, c: 0, count: 0, flags: 0 };
    return { status: STATUS_OK, fields, body: null, appended: false, readBytes: Math.min(maxBytes, this.readBytesMax), readEndSeqMax: endSeqMax };
  }

  private async respondRead(o: Outcome): Promise<void> {
    const id = o.fields.requestId;
    const fromSeq = o.fields.a;
    let want = o.readBytes;
    for (;;) {
      const view = this.outbound.tryReserve(RESPONSE_HEADER_BYTES + want, STATUS_OK) ?? (await this.outbound.reserveAsync(RESPONSE_HEADER_BYTES + want, STATUS_OK))!;
      let r: ReadIntoResult;
      try {
        r = this.opened().readInto(fromSeq, view.subarray(RESPONSE_HEADER_BYTES), want, o.readEndSeqMax ?? Infinity);
      } catch (e) {
        this.outbound.abort();
        return this.respond(failure(id, OP_READ, errorCode(e), errorMessage(e)));
      }
      if (r.count === 0 && r.firstRecordBytes > 0) {
        this.outbound.abort();
        if (r.firstRecordBytes > this.readBytesMax) {
          const msg = `record at seq ${fromSeq} (${r.firstRecordBytes} bytes) exceeds the ring's response limit of ${this.readBytesMax} bytes`;
          return this.respond(failure(id, OP_READ, 'RECORD_TOO_LARGE', msg));
        }
        want = r.firstRecordBytes; // Kafka's rule: at least one record, even past maxBytes
        continue;
      }
      this.counters.reads++;
      this.counters.readBytes += r.byteLength;
      writeResponseHeader(view, { requestId: id, op: OP_READ, a: r.firstSeq, b: r.nextSeq, c: 0, count: r.count, flags: 0 });
      this.outbound.commit(RESPONSE_HEADER_BYTES + r.byteLength, false);
      this.committed();
      return;
    }
  }

  private async respond(o: Outcome): Promise<void> {
    if (!this.respondNow(o)) await this.respondLater(o);
  }

  private respondNow(o: Outcome): boolean {
    const body = o.body ?? EMPTY;
    const view = this.outbound.tryReserve(RESPONSE_HEADER_BYTES + body.length, o.status);
    if (view === null) return false;
    fillResponse(view, o, body);
    this.outbound.commit(undefined, false);
    this.committed();
    return true;
  }

  private async respondLater(o: Outcome): Promise<void> {
    const body = o.body ?? EMPTY;
    const view = (await this.outbound.reserveAsync(RESPONSE_HEADER_BYTES + body.length, o.status))!;
    fillResponse(view, o, body);
    this.outbound.commit(undefined, false);
    this.committed();
  }

  /** Test seam (ShardWorkerInit.testExitAfterResponses): die with committed responses the handle has not read. */
  private committed(): void {
    if (this.exitAfterResponses !== undefined && ++this.responsesCommitted === this.exitAfterResponses) process.exit(70);
  }
}

function ok(id: number, op: number, seq: number): Outcome {
  return { status: STATUS_OK, fields: { requestId: id, op, a: seq, b: 0, c: 0, count: 0, flags: 0 }, body: null, appended: false, readBytes: 0 };
}

function failure(id: number, op: number, code: string, message: string, details?: { endSeq?: number }): Outcome {
  return { status: STATUS_ERROR, fields: { requestId: id, op, a: 0, b: 0, c: 0, count: 0, flags: 0 }, body: encodeErrorBody(code, message, details), appended: false, readBytes: 0 };
}

function fillResponse(view: Uint8Array, o: Outcome, body: Uint8Array): void {
  writeResponseHeader(view, o.fields);
  if (body.length > 0) view.set(body, RESPONSE_HEADER_BYTES);
}

/**
 * comlink's error serializer keeps message, name and stack; this one also
 * keeps `code`, so StorageError codes survive control calls.
 */
function keepErrorCodes(): void {
  const base = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: base.canHandle,
    deserialize: base.deserialize,
    serialize(thrown: unknown) {
      const [wire, transfer] = base.serialize(thrown) as [{ isError?: boolean; value?: Record<string, unknown> }, unknown[]];
      const err = (thrown as { value?: unknown }).value;
      const code = (err as { code?: unknown } | null)?.code;
      if (wire.isError === true && wire.value !== undefined && typeof code === 'string') wire.value['code'] = code;
      return [wire, transfer];
    },
  });
}

keepErrorCodes();
const init = workerData as ShardWorkerInit & { port: MessagePort };
const storeModule = (await import(init.storeModuleUrl)) as StoreModule;
const server = new ShardServer(new RingConsumer(init.inbound), new RingProducer(init.outbound), storeModule, init.testExitAfterResponses);
Comlink.expose(server, init.port as unknown as Comlink.Endpoint);
