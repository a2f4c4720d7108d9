/**
 * Tracks a producer's sends for `produce`: bounds how many are pending
 * (the caller waits past PENDING_MAX), records acked seqs as ranges, keeps the
 * first failure, and gives up on sends that make no progress for stallMs
 * (a safety net behind the client's own per-send timeout).
 */
import type { SendResult } from '../client/types.js';
import { AckRanges } from './ack-ranges.js';

/** Sends in flight before produce stops reading input. */
export const PENDING_MAX = 16_384;

export class SendTracker {
  readonly acks = new AckRanges();
  /** Sends written without waiting for an answer (--acks none): neither acked nor failed. */
  unacknowledged = 0;
  private pending = 0;
  private waiters: (() => void)[] = [];
  private lastProgress = Date.now();
  private settledCount = 0;
  private settledSeen = 0;
  private failure: Error | null = null;
  private readonly watchdog: NodeJS.Timeout;
  /** Resolves when the first send fails. */
  readonly failed: Promise<Error>;
  private resolveFailed!: (e: Error) => void;

  constructor(
    private readonly stallMs: number,
    private readonly pendingMax = PENDING_MAX,
  ) {
    this.failed = new Promise((resolve) => (this.resolveFailed = resolve));
    this.watchdog = setInterval(() => this.checkStall(), Math.max(100, Math.min(1000, stallMs / 4)));
    this.watchdog.unref();
  }

  get error(): Error | null {
    return this.failure;
  }

  get inFlight(): number {
    return this.pending;
  }

  /** Tracks one send; returns a promise to wait on only while too many are pending. */
  track(send: Promise<SendResult>): Promise<void> | undefined {
    this.pending += 1;
    send.then(this.onAck, this.onError);
    return this.pending >= this.pendingMax && this.failure === null ? this.waitBelowMax() : undefined;
  }

  private readonly onAck = (r: SendResult): void => {
    if (r.unacknowledged === true) this.unacknowledged += 1;
    else this.acks.add(r.shard, r.seq);
    this.settled();
  };

  private readonly onError = (e: unknown): void => {
    this.fail(e instanceof Error ? e : new Error(String(e)));
    this.settled();
  };

  private settled(): void {
    this.pending -= 1;
    this.settledCount += 1;
    if (this.waiters.length > 0) this.wake();
  }

  private async waitBelowMax(): Promise<void> {
    while (this.pending >= this.pendingMax && this.failure === null) await new Promise<void>((r) => this.waiters.push(r));
  }

  fail(e: Error): void {
    if (this.failure !== null) return;
    this.failure = e;
    this.resolveFailed(e);
    this.wake();
  }

  /** Waits until every send has settled, or until the watchdog gives up on the rest. */
  async settle(): Promise<void> {
    while (this.pending > 0 && !this.gaveUp) await new Promise<void>((r) => this.waiters.push(r));
    clearInterval(this.watchdog);
  }

  private gaveUp = false;

  private checkStall(): void {
    const now = Date.now();
    if (this.settledCount !== this.settledSeen || this.pending === 0) {
      this.settledSeen = this.settledCount;
      this.lastProgress = now;
      return;
    }
    if (now - this.lastProgress < this.stallMs) return;
    this.gaveUp = true;
    this.fail(new Error(`${this.pending} records were not acknowledged within ${this.stallMs} ms`));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
