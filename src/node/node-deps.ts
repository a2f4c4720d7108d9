/**
 * What the node is built from, injectable for tests: how to open a shard
 * handle and the MetaStore. The defaults load the real ShardHandle
 * (src/shard/shard-handle.ts) and MetaStore (src/metastore/meta-store.ts).
 */
import type { MetaStoreApi } from '../metastore/types.js';
import type { ShardHandleApi, ShardHandleOptions } from '../shard/types.js';
import { MetaStore } from '../metastore/meta-store.js';

/** Loads a default implementation lazily (the modules are built by other parts of the tree). */
async function loadStatic<T>(spec: string, exportName: string, method: string): Promise<(arg: T) => Promise<unknown>> {
  const mod = (await import(spec)) as Record<string, Record<string, (arg: T) => Promise<unknown>>>;
  const cls = mod[exportName];
  const fn = cls?.[method];
  if (cls === undefined || typeof fn !== 'function') throw new Error(`${spec} does not export ${exportName}.${method}`);
  return (arg: T) => fn.call(cls, arg);
}

export interface NodeDeps {
  openShard(opts: ShardHandleOptions): Promise<ShardHandleApi>;
  openMetaStore(dataDir: string): Promise<MetaStoreApi>;
  /** One line of operator-facing log (default: stderr). */
  log(line: string): void;
}

export function resolveDeps(deps: Partial<NodeDeps> = {}): NodeDeps {
  return {
    openShard:
      deps.openShard ??
      (async (opts) => (await loadStatic<ShardHandleOptions>('../shard/shard-handle.js', 'ShardHandle', 'open'))(opts) as Promise<ShardHandleApi>),
    openMetaStore: deps.openMetaStore ?? ((dir) => MetaStore.open(dir)),
    log: deps.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
}
