/**
 * Test helper: a node in this process on a free port over a temp data dir,
 * with fake shard handles (fast; the real-process tests live in test/client).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_CONFIG, type NodeConfig } from '../../src/node/config.js';
import { startNode, type RunningNode } from '../../src/node/start-node.js';
import { FakeShardHandle } from './fake-shard-handle.js';

export interface TestNode {
  node: RunningNode;
  address: string;
  dataDir: string;
  /** Every shard opened, in the order their opening finished. */
  shards: FakeShardHandle[];
  /** The fake handle of one shard. */
  shard(name: string, shard: number, namespace?: string): FakeShardHandle;
  stop(): Promise<void>;
}

/** failOpens: the first N shard opens throw (to test recovery from a failed open). */
export async function startTestNode(overrides: Partial<NodeConfig> = {}, failOpens = 0): Promise<TestNode> {
  let failsLeft = failOpens;
  const dataDir = await mkdtemp(join(tmpdir(), 'nativelog-node-'));
  const shards: FakeShardHandle[] = [];
  const node = await startNode(
    { ...DEFAULT_CONFIG, dataDir, port: 0, minFreeBytes: 0, ...overrides },
    {
      openShard: async (opts) => {
        if (failsLeft > 0) {
          failsLeft--;
          throw new Error('injected open failure');
        }
        const h = await FakeShardHandle.open(opts);
        shards.push(h);
        return h;
      },
      log: () => undefined,
    },
  );
  return {
    node,
    address: `127.0.0.1:${node.port}`,
    dataDir,
    shards,
    shard: (name, shard, namespace = 'default') => {
      const h = [...shards].reverse().find((s) => isShardDir(s.opts.dir, dataDir, namespace, name, shard));
      if (h === undefined) throw new Error(`no shard ${namespace}/${name}/${shard}`);
      return h;
    },
    stop: async () => {
      await node.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** dir is <dataDir>/<namespace>/<name>/<incarnation>/<shard> (or the legacy <name>/<shard>). */
function isShardDir(dir: string, dataDir: string, namespace: string, name: string, shard: number): boolean {
  if (basename(dir) !== String(shard)) return false;
  const up = dirname(dir);
  return up === join(dataDir, namespace, name) || (dirname(up) === join(dataDir, namespace, name) && /^[0-9a-f]{16}$/.test(basename(up)));
}
