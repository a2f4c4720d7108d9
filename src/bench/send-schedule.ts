/**
 * When each record is meant to be sent. Closed loop (no rate): "now", as soon
 * as the in-flight window has room. Fixed rate: record k of a producer is due
 * at start + k / rate, whatever happened to earlier records; latency is then
 * measured from that due time, not from the moment send() was finally
 * called, so a stall that delays later sends shows up in their latency
 * (coordinated omission corrected, as wrk2 does).
 */

export class SendSchedule {
  private readonly intervalMs: number;

  /** ratePerSec null: closed loop. */
  constructor(readonly startMs: number, readonly ratePerSec: number | null) {
    this.intervalMs = ratePerSec === null ? 0 : 1000 / ratePerSec;
  }

  get fixedRate(): boolean {
    return this.ratePerSec !== null;
  }

  /** Due time of the k-th record (0-based); in closed loop, the start. */
  dueMs(k: number): number {
    return this.startMs + k * this.intervalMs;
  }
}
