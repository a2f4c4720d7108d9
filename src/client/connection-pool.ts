/**
 * The client's connections: the primary one (over the whole server list
 * given to connect(), which answers admin calls and everything that has no
 * better place to go) plus one connection per other node address that a
 * producer or consumer was sent to (a shard's sequencer, a replica that
 * stores a shard). In a cluster, appends must reach a shard's sequencer and
 * fetches a node that stores the shard, so a client that talks to several
 * shards talks to several nodes.
 *
 * A pooled connection fails a request at once when its node cannot be
 * reached (failFastDial, dial bounded by POOLED_CONNECT_TIMEOUT_MS): the
 * producer or consumer then reads the metadata again and goes elsewhere,
 * instead of redialing a dead node until the request's deadline.
 *
 * Bounded: at most POOLED_CONNECTIONS_MAX connections besides the primary.
 * Past the bound the least recently used idle one is closed; when every one
 * is busy, the caller gets the primary instead (the node there answers
 * NOT_LEADER again with the same hint, and the caller retries after its
 * backoff, by when a pooled connection may have gone idle).
 */
import { ClientConnection, type ConnectionOptions } from './connection.js';
import { formatAddress, parseServer } from './server-address.js';

/** Connections to other nodes a client keeps open at most, besides its primary connection. */
export const POOLED_CONNECTIONS_MAX = 16;
/** Longest a pooled connection's dial may take (capped by the client's timeoutMs). */
export const POOLED_CONNECT_TIMEOUT_MS = 2000;

export class ConnectionPool {
  /** By "host:port"; Map order is the use order (a use moves the entry to the end). */
  private readonly byAddress = new Map<string, ClientConnection>();

  constructor(
    readonly primary: ClientConnection,
    private readonly opts: ConnectionOptions,
    private readonly max = POOLED_CONNECTIONS_MAX,
  ) {}

  /** Connections open besides the primary. */
  get size(): number {
    return this.byAddress.size;
  }

  /** The addresses of the pooled connections, least recently used first. */
  addresses(): string[] {
    return [...this.byAddress.keys()];
  }

  /**
   * The connection to `address` ("host:port"): the primary when it is linked
   * there, else a pooled one, opened (lazily: it dials on first use) when
   * needed. Throws a TypeError for an address that is not host:port.
   */
  forAddress(address: string): ClientConnection {
    const key = formatAddress(parseServer(address));
    if (this.primary.address === key) return this.primary;
    const known = this.byAddress.get(key);
    if (known !== undefined && !known.isClosed) {
      this.byAddress.delete(key);
      this.byAddress.set(key, known);
      return known;
    }
    this.byAddress.delete(key);
    if (this.byAddress.size >= this.max && !this.evictIdle()) return this.primary;
    const conn = new ClientConnection([parseServer(key)], { ...this.opts, failFastDial: true, connectTimeoutMs: Math.min(this.opts.timeoutMs, POOLED_CONNECT_TIMEOUT_MS) });
    this.byAddress.set(key, conn);
    return conn;
  }

  /** Closes the least recently used idle pooled connection; false when every one is busy. */
  private evictIdle(): boolean {
    for (const [key, conn] of this.byAddress) {
      if (!conn.idle) continue;
      this.byAddress.delete(key);
      void conn.close();
      return true;
    }
    return false;
  }

  async close(): Promise<void> {
    const all = [...this.byAddress.values()];
    this.byAddress.clear();
    await Promise.all([this.primary.close(), ...all.map((c) => c.close())]);
  }
}
