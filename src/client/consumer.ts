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
 *
 * Moving between nodes (replicated shards): each shard's fetches go to one
 * connection at a time, the primary one at first. A fetch refused with
 * NOT_LEADER (the node does not store the shard) moves the shard to one of
 * the replicas the answer names; a lost connection or any other retriable
 * refusal waits (exponential backoff) and then, in a cluster, moves it to a
 * node that stores the segment holding its next seq (metadata read again
 * through the primary connection, which reconnects over the whole server
 * list). Either way the shard resumes at its next seq, and it gives up once
 * it has failed for timeoutMs without an answer. Every answer is checked to
 * start at the seq asked for and to be dense (assertDense): a record is
 * never handed out twice or skipped, whichever node answers.
 */
import { crcsPassedEnd, decodeHeaders, getI64, getU64, validateRecord, validateStructure } from '../record/record.js';
import {
  ATTR_CODEC_MASK,
  ATTR_EVENT_TIME_IS_APPEND_TIME,
  OFF_APPEND_TIME,
  OFF_ATTRIBUTES,
  OFF_EVENT_TIME_MAX,
  OFF_EVENT_TIME_MIN,
  OFF_EPOCH,
  OFF_HEADERS_LENGTH,
  OFF_KEY_LENGTH,
  OFF_PAYLOAD_LENGTH,
  OFF_ROW_COUNT,
  OFF_SCHEMA_VERSION,
  OFF_SEQ,
  RECORD_HEADER_BYTES,
  payloadOffset,
} from '../record/layout.js';
import { OP } from '../protocol/ops.js';
import { clientError, isRetriable } from './errors.js';
import { ns, type Client } from './client.js';
import { sleep, type ClientConnection, type Response } from './connection.js';
import { REDIRECTS_WITHOUT_BACKOFF_MAX, fetchRoutes, replicaAddresses } from './shard-routes.js';
import { NativeLogError } from './types.js';
import type { ConsumedRecord, ConsumerApi, ConsumerOptions, StartPosition, StreamDescription } from './types.js';

/** The key of every record without one: a zero-length array has no bytes to share or change. */
const NO_KEY = new Uint8Array(0);

function badRecord(err: unknown): Error {
  return clientError('BAD_RESPONSE', `The node sent a record that fails validation: ${(err as Error).message}`);
}

/**
 * The records of a fetch answer's body, decoded the way decodeRecord does
 * (each one validated first, its CRC included: a record that fails is never
 * handed out) but straight into ConsumedRecords, with one DataView for the
 * whole body. Stops before the first record at or past `end` (sets
 * `endReached`). Key, value and header values are views into `body`.
 */
export function decodeFetchBody(body: Uint8Array, shard: number, end: number, out: ConsumedRecord[]): boolean {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const n = body.length;
  // Every record CRC of the body in one native call where the addon is built; the records past crcEnd (none, or the one that failed) are checked one by one.
  const crcEnd = crcsPassedEnd(body, 0, n);
  let off = 0;
  while (off < n) {
    let length: number;
    try {
      length = off < crcEnd ? validateStructure(dv, off, n) : validateRecord(dv, off, n);
    } catch (err) {
      throw badRecord(err);
    }
    const seq = getU64(dv, off + OFF_SEQ);
    if (seq >= end) return true;
    const attributes = dv.getUint8(off + OFF_ATTRIBUTES);
    const keyLength = dv.getUint16(off + OFF_KEY_LENGTH, true);
    const headersLength = dv.getUint32(off + OFF_HEADERS_LENGTH, true);
    const payloadLength = dv.getUint32(off + OFF_PAYLOAD_LENGTH, true);
    const keyStart = off + RECORD_HEADER_BYTES;
    const payloadStart = off + payloadOffset(keyLength, headersLength);
    const appendTime = getI64(dv, off + OFF_APPEND_TIME);
    const eventTimeIsAppendTime = (attributes & ATTR_EVENT_TIME_IS_APPEND_TIME) !== 0;
    let headers: ConsumedRecord['headers'];
    if (headersLength === 0) headers = [];
    else {
      try {
        headers = decodeHeaders(dv, keyStart + keyLength, headersLength);
      } catch (err) {
        throw badRecord(err);
      }
    }
    out.push({
      shard,
      seq,
      epoch: dv.getUint32(off + OFF_EPOCH, true),
      appendTime,
      eventTime: eventTimeIsAppendTime ? appendTime : getI64(dv, off + OFF_EVENT_TIME_MIN),
      eventTimeMax: eventTimeIsAppendTime ? appendTime : getI64(dv, off + OFF_EVENT_TIME_MAX),
      key: keyLength === 0 ? NO_KEY : body.subarray(keyStart, keyStart + keyLength),
      value: body.subarray(payloadStart, payloadStart + payloadLength),
      headers,
      codec: attributes & ATTR_CODEC_MASK,
      schemaVersion: dv.getUint16(off + OFF_SCHEMA_VERSION, true),
      rowCount: dv.getUint32(off + OFF_ROW_COUNT, true),
    });
    off += length;
  }
  return false;
}

/**
 * In a cluster, longest a fetch waits for its answer beyond its long-poll
 * wait before the consumer treats the node as gone (a paused or partitioned
 * node keeps its TCP link but never answers) and moves the shard to another
 * replica. A fetch is a read, so asking elsewhere is always safe.
 */
export const CLUSTER_FETCH_ANSWER_WAIT_MS = 3000;

export const CONSUMER_DEFAULTS = { maxBytes: 4 * 1024 * 1024, maxWaitMs: 500, follow: false };

interface Cursor {
  shard: number;
  next: number;
  /** Stop before this seq (Infinity when following). */
  end: number;
  fetching: boolean;
  done: boolean;
  /** Where the shard's fetches go: null for the primary connection, else a node's "host:port". */
  route: string | null;
  conn: ClientConnection;
  /** When the current run of failed fetches began (undefined while fetches succeed). */
  failingSince: number | undefined;
  /** Failed fetches in the current run (sets the backoff). */
  attempts: number;
}

type Arrival = { cursor: Cursor; response: Response; fromSeq: number } | { cursor: Cursor; error: Error };

/**
 * Checks a fetch answer against the seq asked for: its records are
 * fromSeq, fromSeq+1, ... and nextSeq follows the last one. A node that
 * answered otherwise would make the consumer re-deliver or skip records.
 */
export function assertDense(fromSeq: number, records: readonly ConsumedRecord[], nextSeq: number, endReached: boolean): void {
  for (let i = 0; i < records.length; i++) {
    if (records[i]!.seq !== fromSeq + i) {
      throw clientError('BAD_RESPONSE', `A fetch from seq ${fromSeq} of shard ${records[i]!.shard} answered seq ${records[i]!.seq} at position ${i}; the consumer never re-delivers or skips a record.`);
    }
  }
  if (!endReached && nextSeq !== fromSeq + records.length) {
    throw clientError('BAD_RESPONSE', `A fetch from seq ${fromSeq} with ${records.length} records answered nextSeq ${nextSeq}; the consumer never re-delivers or skips a record.`);
  }
}

export class Consumer implements ConsumerApi {
  private readonly arrivals: Arrival[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private started = false;
  private readonly maxBytes: number;
  private readonly maxWaitMs: number;
  private readonly follow: boolean;
  /** True once the stream's shards turned out to be placed on a cluster's nodes (then a lost connection moves a shard). */
  private clustered = false;

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
        if ('error' in a) {
          this.retryOrThrow(a.cursor, a.error);
          continue;
        }
        const batch = this.deliver(a.cursor, a.response, a.fromSeq);
        if (batch.length > 0) yield batch;
      }
    } finally {
      this.closed = true; // a break out of for-await stops the prefetching
    }
  }

  private deliver(c: Cursor, r: Response, fromSeq: number): ConsumedRecord[] {
    const next = r.header['nextSeq'];
    if (typeof next !== 'number') throw clientError('BAD_RESPONSE', 'fetch: no nextSeq in the answer.');
    if (fromSeq !== c.next) throw clientError('BAD_RESPONSE', `A fetch answer for seq ${fromSeq} arrived while shard ${c.shard} is at seq ${c.next}.`);
    c.failingSince = undefined;
    c.attempts = 0;
    c.next = next;
    if (c.next >= c.end) c.done = true;
    else this.fetchNext(c); // prefetch while the records are decoded and handed out
    const out: ConsumedRecord[] = [];
    const endReached = decodeFetchBody(r.body, c.shard, c.end, out);
    assertDense(fromSeq, out, next, endReached);
    if (endReached) c.done = true;
    return out;
  }

  private fetchNext(c: Cursor): void {
    if (c.fetching || c.done || this.closed) return;
    c.fetching = true;
    const waitMs = this.follow ? this.maxWaitMs : 0;
    const fromSeq = c.next;
    const header = { namespace: ns(this.opts), name: this.stream, shard: c.shard, fromSeq, maxBytes: this.maxBytes, maxWaitMs: waitMs };
    const timeoutMs = (this.inCluster(c) ? Math.min(this.client.connection.opts.timeoutMs, CLUSTER_FETCH_ANSWER_WAIT_MS) : this.client.connection.opts.timeoutMs) + waitMs;
    // Not retried by the connection: the consumer retries itself, possibly on another node (retryOrThrow).
    c.conn.request(OP.FETCH, header, { timeoutMs }).then(
      (response) => this.arrive({ cursor: c, response, fromSeq }),
      (error: Error) => this.arrive({ cursor: c, error }),
    );
  }

  /**
   * A failed fetch: a retriable one is sent again (after the backoff, on
   * another node when the failure says so) until the shard has failed for
   * timeoutMs in a row; anything else ends the iteration with the error.
   */
  /** True when the shard's fetches may go to several nodes (the stream is placed on a cluster, or a node sent it elsewhere). */
  private inCluster(c: Cursor): boolean {
    return this.clustered || c.route !== null;
  }

  private retryOrThrow(c: Cursor, err: Error): void {
    if (err instanceof NativeLogError && err.codeName === 'TIMEOUT' && this.inCluster(c)) {
      err = clientError('CONNECTION_LOST', `No fetch answer from the node within ${CLUSTER_FETCH_ANSWER_WAIT_MS} ms past its wait; trying another replica.`);
    }
    const now = Date.now();
    c.failingSince ??= now;
    if (!isRetriable(err) || now - c.failingSince >= this.client.connection.opts.timeoutMs) throw err;
    const opts = this.client.connection.opts;
    const code = err instanceof NativeLogError ? err.codeName : '';
    const replicas = code === 'NOT_LEADER' ? hintedReplicas(err as NativeLogError) : [];
    const here = c.route ?? this.client.connection.address ?? null;
    const elsewhere = replicas.filter((a) => a !== here);
    c.fetching = true; // nothing else fetches this shard while it waits
    const attempt = c.attempts++;
    if (elsewhere.length > 0) {
      // The node does not store the shard and names those that do: go there (at once for the first few hops).
      this.setRoute(c, elsewhere[attempt % elsewhere.length]!);
      const hopWait = attempt < REDIRECTS_WITHOUT_BACKOFF_MAX ? 0 : Math.min(opts.reconnectMaxMs, opts.reconnectMinMs * 2 ** attempt);
      void sleep(hopWait).then(() => {
        c.fetching = false;
        this.fetchNext(c);
      });
      return;
    }
    const wait = Math.min(opts.reconnectMaxMs, opts.reconnectMinMs * 2 ** attempt);
    const move = code === 'NOT_LEADER' || code === 'FENCED' || (code === 'CONNECTION_LOST' && this.inCluster(c));
    void sleep(wait)
      .then(() => (move ? this.moveToReplica(c, here, Math.max(1, c.failingSince! + opts.timeoutMs - Date.now())) : undefined))
      .then(() => {
        c.fetching = false;
        this.fetchNext(c);
      });
  }

  /** Reads the metadata again and moves the shard to a node that stores the segment holding its next seq (another than `failed` when there is one). */
  private async moveToReplica(c: Cursor, failed: string | null, timeoutMs: number): Promise<void> {
    try {
      const routes = await fetchRoutes(this.client, this.stream, ns(this.opts), timeoutMs);
      this.clustered ||= routes.clustered;
      const all = replicaAddresses(routes, c.shard, c.next);
      const others = all.filter((a) => a !== failed);
      const pick = others[0] ?? all[0];
      this.setRoute(c, pick ?? null);
    } catch {
      this.setRoute(c, null); // no metadata: the primary connection, which reconnects over the server list
    }
  }

  private setRoute(c: Cursor, route: string | null): void {
    if (route !== null && route === this.client.connection.address) route = null;
    try {
      c.conn = route === null ? this.client.connection : this.client.pool.forAddress(route);
      c.route = route;
    } catch {
      c.conn = this.client.connection;
      c.route = null;
    }
  }

  private arrive(a: Arrival): void {
    this.arrivals.push(a);
    this.wake?.();
  }

  private async startCursors(): Promise<Cursor[]> {
    const desc = await this.client.describeStream(this.stream, { namespace: ns(this.opts) });
    this.clustered = desc.shardInfo.some((s) => s.sequencer !== null || s.segments.length > 0);
    const shards = this.opts.shard === undefined ? desc.shardInfo.map((s) => s.shard) : [this.opts.shard];
    return Promise.all(shards.map((shard) => this.startCursor(desc, shard)));
  }

  private async startCursor(desc: StreamDescription, shard: number): Promise<Cursor> {
    const info = desc.shardInfo[shard];
    if (info === undefined) throw clientError('UNKNOWN_SHARD', `Stream "${this.stream}" has ${desc.shards} shards; there is no shard ${shard}.`, { shards: desc.shards });
    if (info.failed !== null || info.startSeq === null || info.endSeq === null) {
      throw clientError('SHARD_FAILED', `Shard ${shard} of stream "${this.stream}" does not serve: ${info.failed ?? 'no figures in its description'}`);
    }
    const next = await this.startSeq(info.shard, info.startSeq, info.endSeq, this.opts.from ?? 'earliest');
    const end = this.follow ? Infinity : info.endSeq;
    return { shard, next, end, fetching: false, done: next >= end, route: null, conn: this.client.connection, failingSince: undefined, attempts: 0 };
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

/** The replicas' addresses a NOT_LEADER answer names (details.replicas[].address). */
function hintedReplicas(err: NativeLogError): string[] {
  const d = err.details;
  if (typeof d !== 'object' || d === null) return [];
  const r = (d as Record<string, unknown>)['replicas'];
  if (!Array.isArray(r)) return [];
  return r.flatMap((x: unknown) => {
    const a = typeof x === 'object' && x !== null ? (x as Record<string, unknown>)['address'] : undefined;
    return typeof a === 'string' && a.length > 0 ? [a] : [];
  });
}
