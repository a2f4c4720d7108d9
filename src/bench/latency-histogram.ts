/**
 * Latency recording with an HDR histogram (hdr-histogram-js): values are
 * recorded in microseconds, 3 significant digits, 1 us to 1 hour; anything
 * above the bound is clamped to it (and counted), never dropped.
 */
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

export const LATENCY_US_MAX = 3_600_000_000; // 1 hour

export interface LatencySummaryMs {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** Values above LATENCY_US_MAX, recorded as LATENCY_US_MAX. */
  clamped: number;
}

export class LatencyHistogram {
  private readonly h: Histogram;
  private clamped = 0;

  constructor() {
    this.h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: 3, autoResize: false, bitBucketSize: 64 });
  }

  /** Records one latency given in milliseconds (fractions kept down to 1 us). */
  recordMs(ms: number): void {
    let us = Math.round(ms * 1000);
    if (us < 1) us = 1;
    if (us > LATENCY_US_MAX) {
      us = LATENCY_US_MAX;
      this.clamped++;
    }
    this.h.recordValue(us);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Value at a percentile (0-100) in ms (never above the max: HDR reports a bucket's highest equivalent value). */
  percentileMs(p: number): number {
    return this.h.totalCount === 0 ? 0 : Math.min(this.h.getValueAtPercentile(p), this.h.maxValue) / 1000;
  }

  summary(): LatencySummaryMs {
    const r = (v: number): number => Math.round(v * 1000) / 1000;
    if (this.h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, clamped: 0 };
    return {
      count: this.h.totalCount,
      mean: r(this.h.mean / 1000),
      p50: r(this.percentileMs(50)),
      p90: r(this.percentileMs(90)),
      p99: r(this.percentileMs(99)),
      p999: r(this.percentileMs(99.9)),
      max: r(this.h.maxValue / 1000),
      clamped: this.clamped,
    };
  }

  /** Adds another histogram's counts to this one. */
  add(other: LatencyHistogram): void {
    this.h.add(other.h);
    this.clamped += other.clamped;
  }
}
