/**
 * Seeded randomness for the torture suite. Every scenario takes a seed, draws
 * everything random from one Rng built from it, and names the seed in every
 * failure message, so a failing run is replayed with TORTURE_SEED=<seed>.
 */

/** The seed of this run: TORTURE_SEED when set (decimal), else a fresh random one. */
export function runSeed(): number {
  const env = process.env['TORTURE_SEED'];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`TORTURE_SEED must be a non-negative integer, got ${JSON.stringify(env)}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}

/** splitmix32 -> mulberry32: small, fast, good enough for fault placement. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }

  /** Uniform in [0, 2^32). */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`int(${min}, ${max}): empty range`);
    return min + Math.floor(this.float() * (max - min + 1));
  }

  bool(p = 0.5): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** Printable ASCII letters and digits (payload filler that survives the CLI's line protocol). */
  text(n: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.u32() % alphabet.length];
    return s;
  }

  /** A child generator with its own stream (so adding draws in one place does not shift another). */
  fork(label: string): Rng {
    let h = this.seed ^ 0x811c9dc5;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Rng(h >>> 0);
  }
}

/** Wraps a failure so its message names the seed (and the scenario) to replay it. */
export function withSeed(scenario: string, seed: number, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const e = new Error(`[${scenario} seed=${seed}; replay with TORTURE_SEED=${seed}] ${msg}`);
  if (err instanceof Error && err.stack !== undefined) e.stack = `${e.message}\n${err.stack.split('\n').slice(1).join('\n')}`;
  return e;
}
