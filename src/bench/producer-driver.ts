/**
 * One producer's send loop: keeps at most `inFlightRecords` records sent but
 * not yet acked (the window, a named bound), stamps each payload's header in
 * a reusable slot, and records each record's ack latency from its due time
 * (send-schedule.ts) into an HDR histogram. Stops at the record count or the
 * deadline, or at the first failed send (a benchmark that loses acks must
 * not report a number), then waits for everything in flight.
 */
import { performance } from 'node:perf_hooks';
import type { ProducerApi, SendResult } from '../client/types.js';
import { PayloadSlab } from './bench-payload.js';
import type { LatencyHistogram } from './latency-histogram.js';
import type { SendSchedule } from './send-schedule.js';

export interface ProducerDriverOptions {
  index: number;
  producer: ProducerApi;
  recordBytes: number;
  template: Uint8Array;
  /** The window: records sent and not yet acked, at most. */
  inFlightRecords: number;
  /** Send at most this many records, priming included (Infinity: until stopAtMs). */
  recordsMax: number;
  latency: LatencyHistogram;
}

/** When the measured run happens (set by run(), after priming). */
export interface DriverTiming {
  schedule: SendSchedule;
  /** Send nothing due at or after this time (Infinity: until recordsMax). */
  stopAtMs: number;
  /** Records due before this (warm-up) are sent and verified but not measured. */
  measureFromMs: number;
}

export class ProducerDriver {
  /** Records handed to send(): also the next counter. */
  sent = 0;
  acked = 0;
  /** Acked records due at or after measureFromMs (their latency is recorded). */
  ackedMeasured = 0;
  /** Acks that arrived inside the measured window [measureFromMs, stopAtMs]: the throughput count. */
  ackedInWindow = 0;
  errors = 0;
  firstError: string | null = null;
  lastAckMs = 0;
  /** Per shard, the seq after the highest acked record (what a consumer must reach to have every ack). */
  readonly ackedEndByShard: number[] = [];

  private readonly slab: PayloadSlab;
  private readonly free: Int32Array;
  private freeTop: number;
  private readonly dueOf: Float64Array;
  /** Per slot, its ack and error handlers, made once: no closures per send. */
  private readonly onAckOf: ((r: SendResult) => void)[];
  private readonly onErrorOf: ((e: unknown) => void)[];
  private inFlight = 0;
  private stopping = false;
  private wakePending = false;
  private finish: (() => void) | null = null;
  /** Records sent by prime(): the schedule counts from here. */
  primed = 0;
  private t: DriverTiming = { schedule: null as unknown as SendSchedule, stopAtMs: Infinity, measureFromMs: Infinity };

  constructor(private readonly o: ProducerDriverOptions) {
    const slots = Math.max(1, o.inFlightRecords);
    this.slab = new PayloadSlab(o.recordBytes, slots, o.template);
    this.free = new Int32Array(slots);
    for (let i = 0; i < slots; i++) this.free[i] = slots - 1 - i;
    this.freeTop = slots;
    this.dueOf = new Float64Array(slots);
    this.onAckOf = [];
    this.onErrorOf = [];
    for (let i = 0; i < slots; i++) {
      this.onAckOf.push((r: SendResult) => this.onAck(i, r));
      this.onErrorOf.push((e: unknown) => this.onError(i, e));
    }
  }

  get inFlightNow(): number {
    return this.inFlight;
  }

  /**
   * Sends `n` records (at most the window) and waits for their acks, before
   * any clock starts: connection, stream metadata and the node's lazy shard
   * opening are paid here, not in the warm-up. They are verified like the rest.
   */
  async prime(n: number): Promise<void> {
    const count = Math.min(n, this.free.length, this.o.recordsMax);
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const slot = this.free[--this.freeTop]!;
      const counter = this.sent++;
      this.dueOf[slot] = -Infinity; // never measured
      this.inFlight++;
      const p = this.o.producer.send({ value: this.slab.fill(slot, this.o.index, counter, 0) });
      acks.push(
        p.then(
          (r) => {
            this.noteAcked(r);
            this.acked++;
            this.free[this.freeTop++] = slot;
            this.inFlight--;
          },
          (e: unknown) => {
            this.free[this.freeTop++] = slot;
            this.inFlight--;
            throw e;
          },
        ),
      );
    }
    this.primed = count;
    await Promise.all(acks);
  }

  /** Resolves once sending stopped and every sent record was acked or failed. */
  run(timing: DriverTiming): Promise<void> {
    this.t = timing;
    return new Promise<void>((resolve) => {
      this.finish = resolve;
      this.fill();
    });
  }

  private readonly fill = (): void => {
    this.wakePending = false;
    if (this.stopping) return this.maybeFinish();
    const o = this.o;
    const t = this.t;
    const now = performance.now();
    while (this.freeTop > 0) {
      if (this.sent >= o.recordsMax || now >= t.stopAtMs) {
        this.stop();
        return;
      }
      const due = t.schedule.fixedRate ? t.schedule.dueMs(this.sent - this.primed) : now;
      if (due > now) {
        this.wakePending = true;
        setTimeout(this.fill, Math.min(due, t.stopAtMs) - now);
        return;
      }
      const slot = this.free[--this.freeTop]!;
      const counter = this.sent++;
      this.dueOf[slot] = due;
      this.inFlight++;
      const value = this.slab.fill(slot, o.index, counter, due);
      let p: Promise<SendResult>;
      try {
        p = o.producer.send({ value });
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(this.onAckOf[slot], this.onErrorOf[slot]);
    }
  };

  private noteAcked(r: SendResult): void {
    if (r.seq >= 0 && r.seq + 1 > (this.ackedEndByShard[r.shard] ?? 0)) this.ackedEndByShard[r.shard] = r.seq + 1;
  }

  private onAck(slot: number, r: SendResult): void {
    this.noteAcked(r);
    const now = performance.now();
    const due = this.dueOf[slot]!;
    this.acked++;
    if (now >= this.t.measureFromMs && now <= this.t.stopAtMs) this.ackedInWindow++;
    if (due >= this.t.measureFromMs) {
      this.ackedMeasured++;
      this.o.latency.recordMs(now - due);
    }
    this.lastAckMs = now;
    this.release(slot);
  }

  private onError(slot: number, e: unknown): void {
    this.errors++;
    if (this.firstError === null) this.firstError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.stop();
    this.release(slot);
  }

  private release(slot: number): void {
    this.free[this.freeTop++] = slot;
    this.inFlight--;
    if (this.stopping) return this.maybeFinish();
    if (!this.wakePending) {
      this.wakePending = true;
      setImmediate(this.fill); // one refill per I/O turn: the acks of a whole batch free their slots first
    }
  }

  private stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.o.producer.flush().catch(() => undefined); // lingering records go now; failures surface on their sends
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.inFlight === 0 && this.finish !== null) {
      const f = this.finish;
      this.finish = null;
      f();
    }
  }
}
