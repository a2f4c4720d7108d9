/**
 * Maps (namespace, stream, shard) to the shard's handle and its append signal.
 * The MetaStore says which streams exist; the router holds the ones whose
 * shard handles are open.
 */
import type { StreamConfig } from '../metastore/types.js';
import type { ShardHandleApi } from '../shard/types.js';
import { AppendSignal } from './append-signal.js';
import { FetchReadahead, ReadaheadBudget } from './fetch-readahead.js';
import { ProtocolError } from './protocol-error.js';

export interface RoutedShard {
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
  open(config: StreamConfig): Promise<ShardHandleApi[]>;
}

export class Router {
  private readonly streams = new Map<string, RoutedStream>();
  private readonly opening = new Map<string, Promise<RoutedStream>>();
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

  add(config: StreamConfig, handles: ShardHandleApi[]): RoutedStream {
    const shards = handles.map((handle) => {
      const signal = new AppendSignal();
      const unsubscribe = handle.onAppend((endSeq) => signal.notify(endSeq));
      return { handle, signal, readahead: new FetchReadahead(this.readaheadBudget), unsubscribe };
    });
    const routed = { config, shards };
    this.streams.set(Router.key(config.namespace, config.name), routed);
    return routed;
  }

  /**
   * The routed stream; a stream the MetaStore holds whose shards are not open
   * (its creation's shard opening failed, say) is opened now, once.
   */
  async stream(namespace: string, name: string): Promise<RoutedStream> {
    const key = Router.key(namespace, name);
    const s = this.streams.get(key);
    if (s !== undefined) return s;
    const config = this.source.lookup(namespace, name);
    if (config === undefined) throw new ProtocolError('UNKNOWN_STREAM', `Stream "${name}" does not exist in namespace "${namespace}".`);
    let p = this.opening.get(key);
    if (p === undefined) {
      p = this.source
        .open(config)
        .then(async (handles) => {
          const now = this.source.lookup(namespace, name);
          if (now !== undefined && now.createdAt === config.createdAt && now.shards === config.shards) return this.add(now, handles);
          await Promise.allSettled(handles.map((h) => h.close())); // deleted (or re-created) while opening
          throw new ProtocolError('NOT_READY', `Stream "${name}" changed while its shards were opening; retry.`);
        })
        .finally(() => this.opening.delete(key));
      this.opening.set(key, p);
    }
    return p;
  }

  async shard(namespace: string, name: string, shard: number): Promise<RoutedShard> {
    const s = await this.stream(namespace, name);
    const routed = s.shards[shard];
    if (routed === undefined) {
      throw new ProtocolError('UNKNOWN_SHARD', `Stream "${name}" has ${s.shards.length} shards; there is no shard ${shard}.`, { shards: s.shards.length });
    }
    return routed;
  }

  /** Forgets a stream (its handles stay open for the caller to destroy). */
  remove(namespace: string, name: string): RoutedStream | undefined {
    const key = Router.key(namespace, name);
    const s = this.streams.get(key);
    if (s === undefined) return undefined;
    this.streams.delete(key);
    for (const sh of s.shards) {
      sh.unsubscribe();
      sh.readahead.drop();
      sh.signal.wakeAll();
    }
    return s;
  }

  all(): RoutedStream[] {
    return [...this.streams.values()];
  }

  wakeAll(): void {
    for (const s of this.streams.values()) for (const sh of s.shards) sh.signal.wakeAll();
  }
}
