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
  private pending = 0;
  private waiters: (() => void)[] = [];
  private lastProgress = Date.now();
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

  /** Tracks one send; waits while too many are pending. */
  async track(send: Promise<SendResult>): Promise<void> {
    this.pending += 1;
    send.then(
      (r) => this.acks.add(r.shard, r.seq),
      (e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))),
    ).finally(() => {
      this.pending -= 1;
      this.lastProgress = Date.now();
      this.wake();
    });
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
    if (this.pending === 0 || Date.now() - this.lastProgress < this.stallMs) return;
    this.gaveUp = true;
    this.fail(new Error(`${this.pending} records were not acknowledged within ${this.stallMs} ms`));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
