/**
 * Producers at full speed through the client library: each keeps `window`
 * sends outstanding at all times (never waiting on one ack before sending the
 * next), with unique, seeded payloads, and reports every outcome to a Ledger.
 */
import type { Client } from '../../../src/client/client.js';
import type { Producer } from '../../../src/client/producer.js';
import type { Ledger } from './ledger.js';
import type { Rng } from './rng.js';

export interface LoadOptions {
  ns: string;
  stream: string;
  /** Sends outstanding per producer. */
  window: number;
  payloadBytesMin: number;
  payloadBytesMax: number;
  /** Send timeout of the producer (retries across a node restart must fit in it). */
  timeoutMs?: number;
  maxBatchBytes?: number;
  tag: string;
}

export class LoadProducer {
  private readonly producer: Producer;
  private stopped = false;
  private outstanding = 0;
  private room: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private allSettled: (() => void) | undefined;
  sent = 0;
  acked = 0;
  failures = 0;
  lastError: string | undefined;

  constructor(
    client: Client,
    private readonly ledger: Ledger,
    private readonly rng: Rng,
    private readonly o: LoadOptions,
  ) {
    this.producer = client.producer(o.stream, { namespace: o.ns, timeoutMs: o.timeoutMs ?? 30_000, maxBatchBytes: o.maxBatchBytes ?? 64 * 1024 });
  }

  start(): void {
    this.loopDone = this.loop();
  }

  /** Stops sending and waits until every outstanding send has an outcome. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.room?.();
    await this.loopDone;
    if (this.outstanding > 0) await new Promise<void>((resolve) => (this.allSettled = resolve));
  }

  /** Stop sending after this many (Infinity: until stop()). */
  limit = Infinity;

  private async loop(): Promise<void> {
    let n = 0;
    while (!this.stopped && this.sent < this.limit) {
      if (this.outstanding >= this.o.window) {
        await new Promise<void>((resolve) => (this.room = resolve));
        this.room = undefined;
        continue;
      }
      const len = this.rng.int(this.o.payloadBytesMin, this.o.payloadBytesMax);
      const head = `${this.o.tag}:${n++}|`;
      const payload = head + this.rng.text(Math.max(0, len - head.length));
      this.ledger.attempt(payload);
      this.outstanding++;
      this.sent++;
      this.producer.send({ value: payload }).then(
        (r) => {
          this.acked++;
          this.ledger.ack(payload, r.shard, r.seq);
          this.settled();
        },
        (err: unknown) => {
          this.failures++;
          this.lastError = err instanceof Error ? err.message : String(err);
          this.ledger.fail(payload, err);
          this.settled();
        },
      );
      // Yield now and then so acks and the socket are served.
      if (n % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private settled(): void {
    this.outstanding--;
    this.room?.();
    if (this.outstanding === 0) this.allSettled?.();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls cond every pollMs until it holds; fails after timeoutMs (a liveness bound, not a performance threshold). */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** Sends `count` records at full speed (window outstanding) and waits for every outcome. */
export async function produceCount(client: Client, ledger: Ledger, rng: Rng, o: LoadOptions, count: number): Promise<void> {
  const lp = new LoadProducer(client, ledger, rng, o);
  lp.limit = count;
  lp.start();
  await waitFor(`${count} sends`, () => lp.sent >= count, 120_000, 5);
  await lp.stop();
  if (lp.failures > 0) throw new Error(`${lp.failures} of ${lp.sent} sends failed; last: ${lp.lastError}`);
}
