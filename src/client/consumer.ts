/**
 * The consumer: an async iterator over one shard or all of a stream's shards.
 * One fetch per shard is kept in flight (the next one is sent as soon as the
 * previous answer arrives, before its records are handed out), records come
 * out in sequence order per shard, shards interleave by arrival.
 *
 * Without follow it stops at each shard's end as of the start; with follow
 * it long-polls (maxWaitMs) at the end.
 *
 * batches() hands out the same records one fetch answer at a time (an array
 * per answer), which spares the await per record of the async iterator.
 */
import { decodeRecord } from '../record/record.js';
import { OP } from '../protocol/ops.js';
import { clientError } from './errors.js';
import { ns, type Client } from './client.js';
import type { Response } from './connection.js';
import type { ConsumedRecord, ConsumerApi, ConsumerOptions, StartPosition, StreamDescription } from './types.js';

function decodeOrThrow(body: Uint8Array, off: number): ReturnType<typeof decodeRecord> {
  try {
    return decodeRecord(body, off);
  } catch (err) {
    throw clientError('BAD_RESPONSE', `The node sent a record that fails validation: ${(err as Error).message}`);
  }
}

export const CONSUMER_DEFAULTS = { maxBytes: 4 * 1024 * 1024, maxWaitMs: 500, follow: false };

interface Cursor {
  shard: number;
  next: number;
  /** Stop before this seq (Infinity when following). */
  end: number;
  fetching: boolean;
  done: boolean;
}

type Arrival = { cursor: Cursor; response: Response } | { cursor: Cursor; error: Error };

export class Consumer implements ConsumerApi {
  private readonly arrivals: Arrival[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private started = false;
  private readonly maxBytes: number;
  private readonly maxWaitMs: number;
  private readonly follow: boolean;

  constructor(
    private readonly client: Client,
    private readonly stream: string,
    private readonly opts: ConsumerOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? CONSUMER_DEFAULTS.maxBytes;
    this.maxWaitMs = opts.maxWaitMs ?? CONSUMER_DEFAULTS.maxWaitMs;
    this.follow = opts.follow ?? CONSUMER_DEFAULTS.follow;
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumedRecord> {
    this.start();
    return this.records();
  }

  /** The records, one array per fetch answer (never empty), in the same order as iterating the consumer. */
  batches(): AsyncIterable<ConsumedRecord[]> {
    this.start();
    const it = this.batchIterator();
    return { [Symbol.asyncIterator]: () => it };
  }

  private start(): void {
    if (this.started) throw new TypeError('A consumer can be iterated once; create another consumer.');
    this.started = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
  }

  private async *records(): AsyncGenerator<ConsumedRecord> {
    for await (const batch of this.batchIterator()) {
      for (const r of batch) {
        if (this.closed) return;
        yield r;
      }
    }
  }

  private async *batchIterator(): AsyncGenerator<ConsumedRecord[]> {
    const cursors = await this.startCursors();
    for (const c of cursors) this.fetchNext(c);
    try {
      while (!this.closed) {
        if (cursors.every((c) => c.done)) return;
        const a = this.arrivals.shift();
        if (a === undefined) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = undefined;
          continue;
        }
        a.cursor.fetching = false;
        if ('error' in a) throw a.error;
        const batch = this.deliver(a.cursor, a.response);
        if (batch.length > 0) yield batch;
      }
    } finally {
      this.closed = true; // a break out of for-await stops the prefetching
    }
  }

  private deliver(c: Cursor, r: Response): ConsumedRecord[] {
    const next = r.header['nextSeq'];
    if (typeof next !== 'number') throw clientError('BAD_RESPONSE', 'fetch: no nextSeq in the answer.');
    c.next = next;
    if (c.next >= c.end) c.done = true;
    else this.fetchNext(c); // prefetch while the records are handed out
    const body = r.body;
    const out: ConsumedRecord[] = [];
    let off = 0;
    while (off < body.length) {
      const d = decodeOrThrow(body, off);
      off += d.length;
      if (d.seq >= c.end) {
        c.done = true;
        break;
      }
      out.push({
        shard: c.shard,
        seq: d.seq,
        appendTime: d.appendTime,
        eventTime: d.eventTimeMin,
        eventTimeMax: d.eventTimeMax,
        key: d.key,
        value: d.payload,
        headers: d.headers,
        codec: d.codec,
        schemaVersion: d.schemaVersion,
        rowCount: d.rowCount,
      });
    }
    return out;
  }

  private fetchNext(c: Cursor): void {
    if (c.fetching || c.done || this.closed) return;
    c.fetching = true;
    const waitMs = this.follow ? this.maxWaitMs : 0;
    const header = { namespace: ns(this.opts), name: this.stream, shard: c.shard, fromSeq: c.next, maxBytes: this.maxBytes, maxWaitMs: waitMs };
    const timeoutMs = this.client.connection.opts.timeoutMs + waitMs;
    this.client.connection.request(OP.FETCH, header, { retry: true, timeoutMs }).then(
      (response) => this.arrive({ cursor: c, response }),
      (error: Error) => this.arrive({ cursor: c, error }),
    );
  }

  private arrive(a: Arrival): void {
    this.arrivals.push(a);
    this.wake?.();
  }

  private async startCursors(): Promise<Cursor[]> {
    const desc = await this.client.describeStream(this.stream, { namespace: ns(this.opts) });
    const shards = this.opts.shard === undefined ? desc.shardInfo.map((s) => s.shard) : [this.opts.shard];
    return Promise.all(shards.map((shard) => this.startCursor(desc, shard)));
  }

  private async startCursor(desc: StreamDescription, shard: number): Promise<Cursor> {
    const info = desc.shardInfo[shard];
    if (info === undefined) throw clientError('UNKNOWN_SHARD', `Stream "${this.stream}" has ${desc.shards} shards; there is no shard ${shard}.`, { shards: desc.shards });
    const next = await this.startSeq(info.shard, info.startSeq, info.endSeq, this.opts.from ?? 'earliest');
    const end = this.follow ? Infinity : info.endSeq;
    return { shard, next, end, fetching: false, done: next >= end };
  }

  private async startSeq(shard: number, startSeq: number, endSeq: number, from: StartPosition): Promise<number> {
    if (from === 'earliest') return startSeq;
    if (from === 'latest') return endSeq;
    if ('seq' in from) return Math.max(from.seq, startSeq);
    const kind = 'appendTime' in from ? 'append' : 'event';
    const t = 'appendTime' in from ? from.appendTime : from.eventTime;
    return this.client.seqForTime(this.stream, shard, kind, t, { namespace: ns(this.opts) });
  }
}
