/**
 * What the node is built from, injectable for tests: how to open a shard
 * handle and the MetaStore. The defaults are the real ShardHandle
 * (src/shard/shard-handle.ts) and MetaStore (src/metastore/meta-store.ts).
 */
import { MetaStore } from '../metastore/meta-store.js';
import type { MetaStoreApi } from '../metastore/types.js';
import { ShardHandle } from '../shard/shard-handle.js';
import type { ShardHandleApi, ShardHandleOptions } from '../shard/types.js';

export interface NodeDeps {
  openShard(opts: ShardHandleOptions): Promise<ShardHandleApi>;
  openMetaStore(dataDir: string): Promise<MetaStoreApi>;
  /** One line of operator-facing log (default: stderr). */
  log(line: string): void;
}

export function resolveDeps(deps: Partial<NodeDeps> = {}): NodeDeps {
  return {
    openShard: deps.openShard ?? ((opts) => ShardHandle.open(opts)),
    openMetaStore: deps.openMetaStore ?? ((dir) => MetaStore.open(dir)),
    log: deps.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
}
