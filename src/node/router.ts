/**
 * Maps (namespace, stream, shard) to the shard's handle and its append signal.
 * The MetaStore says which streams exist; the router holds the ones whose
 * shard handles are open (or opening).
 *
 * Ownership rule: a stream's shards are opened exactly once per incarnation.
 * Every path that needs them (createStream, start-up, a request that meets a
 * stream not opened yet) goes through open(), which registers the opening
 * synchronously, before its first await, so a second caller in the same or a
 * later event-loop turn gets the same promise instead of a second set of
 * handles on the same folders (the create/produce race: two stores both
 * believing endSeq = 0 acked two records as seq 0). The shard worker's folder
 * lock (src/lock) backs this rule up across threads.
 */
import type { StreamConfig } from '../metastore/types.js';
import type { ShardHandleApi } from '../shard/types.js';
import { AppendSignal } from './append-signal.js';
import { FailedShard } from './failed-shard.js';
import { FetchReadahead, ReadaheadBudget } from './fetch-readahead.js';
import { ProtocolError } from './protocol-error.js';
import type { OpenedShard } from './shard-opener.js';

export interface RoutedShard {
  /** The shard's handle; a FailedShard (every call rejects with SHARD_FAILED) when it could not be opened. */
  handle: ShardHandleApi;
  signal: AppendSignal;
  /** Read-ahead for sequential fetches (fetch-readahead.ts). */
  readahead: FetchReadahead;
  unsubscribe: () => void;
}

export interface RoutedStream {
  config: StreamConfig;
  shards: RoutedShard[];
}

/** Finds a stream's config (the MetaStore) and opens its shard handles. */
export interface StreamSource {
  lookup(namespace: string, name: string): StreamConfig | undefined;
  /** Makes lookups current (a cluster follower may lag the leader); absent for a node alone. */
  current?(): Promise<void>;
  /** Opens each shard; never rejects for one shard's failure (that shard comes back with its reason). */
  open(config: StreamConfig): Promise<OpenedShard[]>;
  /**
   * What wakes a shard's fetch long-polls: by default the handle's appends;
   * in a cluster, the commit point (records become readable when committed,
   * not when stored). Returns the unsubscribe.
   */
  subscribe?(config: StreamConfig, shard: number, handle: ShardHandleApi, notify: (endSeq: number) => void): () => void;
}

interface Entry {
  config: StreamConfig;
  ready: Promise<RoutedStream>;
  /** Set once every shard is opened (or failed). */
  routed: RoutedStream | null;
  /** Set by remove(): the entry is no longer routed. */
  removed: boolean;
}

/** Why a routed shard does not serve, or null when it does. */
export function shardFailure(s: RoutedShard): string | null {
  return s.handle.failedReason ?? null;
}

export class Router {
  private readonly entries = new Map<string, Entry>();
  /** Node-wide bound on bytes held by fetch read-aheads. */
  readonly readaheadBudget: ReadaheadBudget;

  constructor(
    private readonly source: StreamSource,
    readaheadBytesMax?: number,
  ) {
    this.readaheadBudget = new ReadaheadBudget(readaheadBytesMax);
  }

  static key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  /**
   * The routed stream the MetaStore currently holds under this name, its
   * shards opened now (once) if they are not yet.
   */
  async stream(namespace: string, name: string): Promise<RoutedStream> {
    let config = this.source.lookup(namespace, name);
    if (config === undefined && this.source.current !== undefined) {
      await this.source.current(); // created through another node and not applied here yet?
      config = this.source.lookup(namespace, name);
    }
    if (config === undefined) throw new ProtocolError('UNKNOWN_STREAM', `Stream "${name}" does not exist in namespace "${namespace}".`);
    const e = this.entries.get(Router.key(namespace, name));
    if (e !== undefined && e.routed !== null && e.config.incarnation === config.incarnation) return e.routed;
    return this.open(config);
  }

  /**
   * Opens the shards of this incarnation of a stream, or joins the opening
   * already under way; the entry is registered before this returns.
   */
  open(config: StreamConfig): Promise<RoutedStream> {
    const key = Router.key(config.namespace, config.name);
    const e = this.entries.get(key);
    if (e !== undefined && e.config.incarnation !== config.incarnation && this.source.current !== undefined && e.routed !== null && e.routed.shards.every((s) => s.handle instanceof FailedShard)) {
      // A cluster: the name was deleted and re-created through another node; the old life held nothing here.
      this.remove(config.namespace, config.name);
      return this.open(config);
    }
    if (e !== undefined) {
      if (e.config.incarnation === config.incarnation) return e.routed !== null ? Promise.resolve(e.routed) : e.ready;
      // Another life of the name is still routed: its delete has not finished (admin operations on one
      // stream are serialised, so a request met this in between). Nothing was done.
      return Promise.reject(new ProtocolError('NOT_READY', `Stream "${config.name}" is being deleted or re-created; retry.`));
    }
    const entry: Entry = { config, ready: undefined as unknown as Promise<RoutedStream>, routed: null, removed: false };
    entry.ready = this.source.open(config).then(
      (opened) => {
        const routed = { config, shards: opened.map((o, shard) => this.route(config, shard, o)) };
        entry.routed = routed;
        if (entry.removed) this.unroute(routed); // removed while opening: its remover destroys the handles
        return routed;
      },
      (err: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key); // a later call tries again
        throw err;
      },
    );
    this.entries.set(key, entry);
    return entry.ready;
  }

  private route(config: StreamConfig, shard: number, o: OpenedShard): RoutedShard {
    const handle = o.ok ? o.handle : new FailedShard(`Shard ${shard} of stream "${config.name}" in namespace "${config.namespace}" does not serve: ${o.reason.replace(/\.$/, '')}.`);
    const signal = new AppendSignal();
    const notify = (endSeq: number): void => signal.notify(endSeq);
    const unsubscribe = this.source.subscribe !== undefined ? this.source.subscribe(config, shard, handle, notify) : handle.onAppend(notify);
    return { handle, signal, readahead: new FetchReadahead(this.readaheadBudget), unsubscribe };
  }

  private unroute(s: RoutedStream): void {
    for (const sh of s.shards) {
      sh.unsubscribe();
      sh.readahead.drop();
      sh.signal.wakeAll();
    }
  }

  async shard(namespace: string, name: string, shard: number): Promise<RoutedShard> {
    const s = await this.stream(namespace, name);
    const routed = s.shards[shard];
    if (routed === undefined) {
      throw new ProtocolError('UNKNOWN_SHARD', `Stream "${name}" has ${s.shards.length} shards; there is no shard ${shard}.`, { shards: s.shards.length });
    }
    return routed;
  }

  /**
   * Stops routing a stream. Resolves to its routed shards (once opened), whose
   * handles stay open for the caller to destroy, or undefined when none were routed.
   */
  remove(namespace: string, name: string): Promise<RoutedStream> | undefined {
    const key = Router.key(namespace, name);
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    e.removed = true;
    if (e.routed !== null) this.unroute(e.routed);
    return e.ready;
  }

  /** Streams whose shards are open. */
  all(): RoutedStream[] {
    return [...this.entries.values()].flatMap((e) => (e.routed === null ? [] : [e.routed]));
  }

  /** Waits for every opening under way (so that close finds every handle). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.entries.values()].map((e) => e.ready));
  }

  wakeAll(): void {
    for (const s of this.all()) for (const sh of s.shards) sh.signal.wakeAll();
  }
}
