/**
 * The node-wide memory budget for every byte held on behalf of clients
 * (clientMemoryBytesMax).
 *
 * Per-connection bounds alone do not bound a node: a thousand connections
 * times their in-flight windows times 16 MiB fetch answers is far more than
 * any machine has, and one client that pipelines fetches and never reads its
 * socket used to make the node copy every answer out of the ring and queue it
 * in the socket's user-space write buffer. So every such byte is counted here,
 * in one place:
 *
 *   - request frames: from the moment a frame's length prefix is seen (its
 *     full length is reserved before its body is read, so a started frame can
 *     always be finished) until its answer is handed to the socket;
 *   - answers: a fetch reserves its maxBytes before it reads (so the bytes
 *     copied out of the ring are already paid for); once the answer frame is
 *     handed to the socket the reservation becomes the frame's actual size,
 *     held until the socket's write callback says the kernel took it (a
 *     client that does not read keeps holding it);
 *   - read-ahead (fetch-readahead.ts): only from room nobody waits for, and
 *     dropped (shed) as soon as an answer has to wait.
 *
 * Rules (the shape of Kafka's memory pool, plus a share per connection):
 *   - a connection starts reading a new request frame only while the node
 *     holds less than bytesMax and the connection holds less than its share
 *     (connectionBytesMax = bytesMax / CONNECTION_SHARES); otherwise its
 *     socket is paused and it is woken when room comes back. Since the test
 *     is "less than", one request is always let through when nothing is held;
 *   - an answer of `want` bytes is granted when it fits in the node's room and
 *     in the connection's share, or when nothing is held for answers at all
 *     (node-wide, resp. by that connection): that is what keeps a request
 *     bigger than the room from waiting forever. Waiting answers are granted
 *     in arrival order; one blocked only by its own connection's share does
 *     not hold up the others. A fetch never asks for more than the share
 *     (the node clamps its maxBytes; the shard still returns at least one
 *     record), so one slow reader holds at most about one share, and the
 *     other connections keep going (several slow readers can of course fill
 *     the budget between them; then everyone else waits for them, which is
 *     backpressure, not loss).
 *
 * Nothing here drops or fails a request: past the budget the node stops
 * reading new requests and waits; only read-ahead is ever dropped. Holding
 * more than bytesMax is possible by at most one request frame and one answer
 * (the let-through rules above), which the docs count as slack.
 *
 * Accounting is per request and per answer, never per record.
 */
import { ProtocolError } from './protocol-error.js';

/** A connection may hold at most 1/CONNECTION_SHARES of the budget (plus one answer when it holds none). */
export const CONNECTION_SHARES = 4;
/** Default clientMemoryBytesMax (src/node/config.ts; docs/ARCHITECTURE.md "Memory budget" says why). */
export const CLIENT_MEMORY_BYTES_MAX_DEFAULT = 512 * 1024 * 1024;

interface AnswerWaiter {
  account: ClientAccount;
  bytes: number;
  resolve(lease: AnswerLease): void;
  reject(err: Error): void;
}

export class MemoryBudget {
  /** Most bytes a single connection may hold (requests + answers), see CONNECTION_SHARES. */
  readonly connectionBytesMax: number;
  private held = 0;
  private highWater = 0;
  private requests = 0;
  private answers = 0;
  private readahead = 0;
  private readonly answerWaiters: AnswerWaiter[] = [];
  private roomWaiters = new Set<() => void>();
  private wakeScheduled = false;
  private shedder: (() => void) | null = null;
  private closed = false;
  /** grantWaiting is running (a release inside it, from shedding read-ahead, asks for another pass instead of re-entering). */
  private granting = false;
  private grantAgain = false;
  /** An answer waits for node-wide room (not just for its own connection's share): read-ahead must not take any. */
  private nodeBlocked = false;

  constructor(readonly bytesMax: number = CLIENT_MEMORY_BYTES_MAX_DEFAULT) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 1) throw new RangeError(`clientMemoryBytesMax must be a positive integer, got ${bytesMax}`);
    this.connectionBytesMax = Math.max(1, Math.floor(bytesMax / CONNECTION_SHARES));
  }

  /** Bytes held for clients right now (requests + answers + read-ahead). */
  get heldBytes(): number {
    return this.held;
  }

  /** The most ever held at once (for metrics). */
  get highWaterBytes(): number {
    return this.highWater;
  }

  /** Held right now, by kind (for metrics and tests). */
  get breakdown(): { requestBytes: number; answerBytes: number; readaheadBytes: number; answersWaiting: number; connectionsWaiting: number } {
    return { requestBytes: this.requests, answerBytes: this.answers, readaheadBytes: this.readahead, answersWaiting: this.answerWaiters.length, connectionsWaiting: this.roomWaiters.size };
  }

  /** A connection's account. */
  account(): ClientAccount {
    return new ClientAccount(this);
  }

  /** Read-ahead takes only room that fits and that no answer is waiting for. */
  tryReserveReadahead(bytes: number): boolean {
    if (this.closed || this.nodeBlocked || this.held + bytes > this.bytesMax) return false;
    this.readahead += bytes;
    this.add(bytes);
    return true;
  }

  releaseReadahead(bytes: number): void {
    this.readahead -= bytes;
    this.sub(bytes);
  }

  /** Called when an answer has to wait: drops every read-ahead (fetch-readahead.ts registers it). */
  setShedder(shed: (() => void) | null): void {
    this.shedder = shed;
  }

  /** Shutdown: answers waiting for room, and any asked for later, fail with SHUTTING_DOWN, so in-flight requests finish at once. */
  close(): void {
    this.closed = true;
    for (const w of this.answerWaiters.splice(0)) w.reject(shuttingDown());
    this.nodeBlocked = false;
    this.wakeRoomWaiters();
  }

  // --- for ClientAccount ---

  /** Room to start reading one more request frame. */
  mayStart(account: ClientAccount): boolean {
    return this.held < this.bytesMax && account.heldBytes < this.connectionBytesMax;
  }

  /** Calls wake once (asynchronously) after room may have come back. */
  waitForRoom(wake: () => void): void {
    this.roomWaiters.add(wake);
  }

  addRequests(delta: number): void {
    this.requests += delta;
    if (delta >= 0) this.add(delta);
    else this.sub(-delta);
  }

  addAnswers(delta: number): void {
    this.answers += delta;
    if (delta >= 0) this.add(delta);
    else this.sub(-delta);
  }

  acquire(account: ClientAccount, bytes: number): Promise<AnswerLease> {
    if (this.closed) return Promise.reject(shuttingDown());
    return new Promise((resolve, reject) => {
      this.answerWaiters.push({ account, bytes, resolve, reject });
      this.grantWaiting();
    });
  }

  /** Forgets a closed connection's waiting answers (they fail with CONNECTION_CLOSED internally; nobody reads them). */
  cancel(account: ClientAccount): void {
    for (let i = this.answerWaiters.length - 1; i >= 0; i--) {
      const w = this.answerWaiters[i]!;
      if (w.account !== account) continue;
      this.answerWaiters.splice(i, 1);
      w.reject(new ProtocolError('SHUTTING_DOWN', 'The connection closed while its answer waited for room in the memory budget.'));
    }
    this.grantWaiting();
  }

  private grant(account: ClientAccount, bytes: number): AnswerLease {
    account.addAnswers(bytes);
    return new AnswerLease(account, bytes);
  }

  private add(bytes: number): void {
    this.held += bytes;
    if (this.held > this.highWater) this.highWater = this.held;
  }

  private sub(bytes: number): void {
    this.held -= bytes;
    if (this.answerWaiters.length > 0) this.grantWaiting();
    if (this.roomWaiters.size > 0 && this.held < this.bytesMax) this.wakeRoomWaiters();
  }

  /** Grants waiting answers in order; one blocked by the node's room stops the scan (no overtaking), one blocked by its own share is skipped. */
  private grantWaiting(): void {
    if (this.granting) {
      this.grantAgain = true;
      return;
    }
    this.granting = true;
    try {
      do {
        this.grantAgain = false;
        this.grantPass();
      } while (this.grantAgain);
    } finally {
      this.granting = false;
    }
  }

  private grantPass(): void {
    let shed = false;
    this.nodeBlocked = false;
    for (let i = 0; i < this.answerWaiters.length; ) {
      const w = this.answerWaiters[i]!;
      if (this.held + w.bytes > this.bytesMax) {
        // Read-ahead goes first (its reads still running return their bytes when they settle).
        if (!shed && this.shedder !== null && this.readahead > 0) {
          shed = true;
          this.shedder(); // releases come back as grantAgain
          continue;
        }
        if (this.answers !== 0) {
          this.nodeBlocked = true;
          return;
        }
      }
      if (!(w.account.answerBytes + w.bytes <= this.connectionBytesMax || w.account.answerBytes === 0)) {
        i++;
        continue;
      }
      this.answerWaiters.splice(i, 1);
      w.resolve(this.grant(w.account, w.bytes));
    }
  }

  private wakeRoomWaiters(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    // After the current callback: the woken connections read (and may fill
    // the room again) without re-entering whoever released.
    queueMicrotask(() => {
      this.wakeScheduled = false;
      const waiters = this.roomWaiters;
      this.roomWaiters = new Set();
      for (const wake of waiters) wake();
    });
  }
}

/** What one connection holds: request frames (reserved and in flight) and answers (leases and bytes queued in its socket). */
export class ClientAccount {
  private requests = 0;
  private answers = 0;
  private closed = false;

  constructor(readonly budget: MemoryBudget) {}

  get heldBytes(): number {
    return this.requests + this.answers;
  }

  get answerBytes(): number {
    return this.answers;
  }

  get requestBytes(): number {
    return this.requests;
  }

  /** Room to start reading a new request frame on this connection. */
  mayStart(): boolean {
    return this.budget.mayStart(this);
  }

  /** Sets the request bytes this connection holds (reserved partial frame + frames in flight). */
  setRequestBytes(bytes: number): void {
    const delta = bytes - this.requests;
    if (delta === 0) return;
    this.requests = bytes;
    this.budget.addRequests(delta);
  }

  /** A fetch's answer of up to `bytes`: resolves once the budget has room (see MemoryBudget). */
  acquireAnswer(bytes: number): Promise<AnswerLease> {
    if (this.closed) return Promise.reject(new ProtocolError('SHUTTING_DOWN', 'The connection is closed.'));
    return this.budget.acquire(this, bytes);
  }

  /** Adds (positive) or returns (negative) answer bytes. */
  addAnswers(delta: number): void {
    this.answers += delta;
    this.budget.addAnswers(delta);
  }

  /** The socket closed: answers still waiting for room are cancelled. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.budget.cancel(this);
  }
}

/** Answer bytes granted to one fetch; resized to the answer's real size, released once (idempotent). */
export class AnswerLease {
  private released = false;

  constructor(
    readonly account: ClientAccount,
    private held: number,
  ) {}

  get bytes(): number {
    return this.released ? 0 : this.held;
  }

  /** The answer turned out `bytes` long (smaller, or larger by at most one record): hold that instead. */
  resize(bytes: number): void {
    if (this.released || bytes === this.held) return;
    this.account.addAnswers(bytes - this.held);
    this.held = bytes;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.account.addAnswers(-this.held);
  }
}

function shuttingDown(): ProtocolError {
  return new ProtocolError('SHUTTING_DOWN', 'The node is shutting down; the request was not started.');
}
