/**
 * startNode: takes <data-dir>/LOCK (one process per data dir; a live holder
 * fails the start at once), opens the MetaStore, reconciles shard folders
 * with it, opens one ShardHandle per shard, and serves the wire protocol on
 * host:port.
 *
 * close(): stop accepting, stop reading requests, finish the ones in flight
 * (long-polls return at once), close connections, close every shard handle
 * (fsync + clean-shutdown marker), close the MetaStore, release the lock.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { acquireOwnerLock } from '../lock/owner-lock.js';
import { wireError } from '../protocol/errors.js';
import { FLAG_ERROR, FLAG_RESPONSE, encodeFrameBytes } from '../protocol/frame.js';
import { PROTOCOL_VERSION } from '../protocol/limits.js';
import type { NodeConfig } from './config.js';
import { parseFsyncPolicy } from './fsync-policy.js';
import { MemoryBudget } from './memory-budget.js';
import type { NodeContext } from './node-context.js';
import { resolveDeps, type NodeDeps } from './node-deps.js';
import { reconcileShardFolders } from './reconcile.js';
import { KeyedLock } from './keyed-lock.js';
import { Router, shardFailure } from './router.js';
import { ServerConnection } from './server-connection.js';
import { openStreamShards } from './shard-opener.js';
import { ClusterNode, type JoinAnswer } from '../cluster/cluster-node.js';
import type { PeerMessage } from '../cluster/peer-message.js';
import type { NodeRole } from '../cluster/peer-hello.js';
import { keyOf } from '../replication/messages.js';
import { REPLICATION_KINDS, REPLICATION_RAW_KINDS, ReplicationService, shardKey } from '../replication/service.js';
import { connect } from '../client/client.js';
import { parsePeers, type PeerAddress } from '../cluster/peer-address.js';
import { nodeFileLayer } from '../fs/file-layer.js';

export interface RunningNode {
  host: string;
  port: number;
  /** Open client connections right now. */
  readonly connections: number;
  /** Bytes held for clients (held, high-water mark). */
  readonly memory: MemoryBudget;
  close(): Promise<void>;
}

export async function startNode(config: NodeConfig, deps: Partial<NodeDeps> = {}): Promise<RunningNode> {
  // One process per data dir (docs/FORMAT.md, "Lock files"): taken before anything is opened, released last.
  const lock = acquireOwnerLock(config.dataDir, { what: 'data dir', owner: 'nativelog start', createDir: true, hint: 'stop it first or use another --data-dir' });
  const ctx = await openContext(config, resolveDeps(deps)).catch((err: unknown) => {
    lock.release();
    throw err;
  });
  const conns = new Set<ServerConnection>();
  const server = createServer((socket) => accept(ctx, conns, socket));
  try {
    await listen(server, config.host, config.port);
  } catch (err) {
    await closeShards(ctx).finally(() => lock.release());
    throw err;
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  ctx.cluster?.setSelfAddress(`${config.host}:${port}`);
  let closing: Promise<void> | undefined;
  return {
    host: config.host,
    port,
    get connections() {
      return conns.size;
    },
    memory: ctx.memory,
    close: () => (closing ??= shutdown(ctx, server, conns).finally(() => lock.release())),
  };
}

async function openContext(config: NodeConfig, deps: NodeDeps): Promise<NodeContext> {
  const fsync = parseFsyncPolicy(config.fsync);
  const memory = new MemoryBudget(config.clientMemoryBytesMax);
  const peers = config.peers.trim() === '' ? [] : parsePeers(config.peers, config.nodeId);
  if (peers.length > 0 || config.join.trim() !== '') return openClusterContext(config, deps, fsync, memory, peers);
  if (parseRoles(config.roles).length !== 2) throw new Error(`--roles ${config.roles} needs a cluster (--peers or --join): a node alone must sequence and store its shards.`);
  const meta = await deps.openMetaStore(config.dataDir);
  const ctx: NodeContext = { config, fsync, meta, router: undefined as unknown as Router, streamLocks: new KeyedLock(), deps, closing: false, memory };
  ctx.router = new Router({ lookup: (ns, name) => meta.getStream(ns, name), open: (stream) => openStreamShards(ctx, stream) }, config.readaheadBytesMax);
  ctx.router.readaheadBudget.useNodeBudget(memory);
  try {
    const streams = meta.listStreams();
    const report = await reconcileShardFolders(config.dataDir, streams);
    for (const dir of report.removed) deps.log(`removed the folder of a deleted stream or shard: ${dir}`);
    for (const f of report.failed) deps.log(`could not create the shard folder ${f.dir}: ${f.reason}`);
    // One shard that fails to open is marked failed (describe shows why); the node starts all the same.
    for (const stream of streams) {
      const routed = await ctx.router.open(stream);
      routed.shards.forEach((s, shard) => {
        const why = shardFailure(s);
        if (why !== null) deps.log(`stream ${stream.namespace}/${stream.name} shard ${shard} failed to open and does not serve: ${why}`);
      });
    }
  } catch (err) {
    await closeShards(ctx);
    throw err;
  }
  return ctx;
}

/**
 * A member of a cluster (--peers): the MetaStore is the Raft-replicated one
 * (src/cluster/cluster-node.ts) and records are replicated by
 * src/replication (docs/REPLICATION.md): every node opens a store for every
 * shard (stores of shards whose replica sets do not include the node stay
 * empty); appends go through the shard's sequencer, reads stop at the
 * commit point. No start-up reconcile of folders: this node's MetaStore
 * state may lag the leader's until it has caught up.
 */
async function openClusterContext(config: NodeConfig, deps: NodeDeps, fsync: NodeContext['fsync'], memory: MemoryBudget, peers: PeerAddress[]): Promise<NodeContext> {
  const join = config.join.trim() === '' ? null : config.join.trim();
  let replication: ReplicationService | null = null;
  const extension = { kinds: REPLICATION_KINDS, rawKinds: REPLICATION_RAW_KINDS, onMessage: (from: number, msg: PeerMessage) => replication?.onMessage(from, msg) };
  const roles = parseRoles(config.roles);
  const cluster = ClusterNode.open({ dataDir: config.dataDir, nodeId: config.nodeId, peers, layer: nodeFileLayer, log: deps.log, join, requestJoin, extension, roles }, `${config.host}:${config.port}`);
  const meta = cluster.meta;
  const ctx: NodeContext = { config, fsync, meta, router: undefined as unknown as Router, streamLocks: new KeyedLock(), cluster, deps, closing: false, memory };
  const signals = new Map<string, (endSeq: number) => void>();
  ctx.router = new Router(
    {
      lookup: (ns, name) => meta.getStream(ns, name),
      open: (stream) => openStreamShards(ctx, stream),
      current: () => meta.current(),
      subscribe: (stream, shard, _handle, notify) => {
        const k = keyOf(shardKey(stream, shard));
        signals.set(k, notify);
        return () => {
          if (signals.get(k) === notify) signals.delete(k);
        };
      },
    },
    config.readaheadBytesMax,
  );
  ctx.router.readaheadBudget.useNodeBudget(memory);
  replication = new ReplicationService({ self: config.nodeId, cluster, meta, router: ctx.router, log: deps.log });
  replication.onCommit((key, commit) => signals.get(keyOf(key))?.(commit));
  ctx.replication = replication;
  // A stream deleted through another node: stop routing it here and remove its folders.
  meta.onApplied((cmd) => {
    if (cmd.op !== 'deleteStream') return;
    void ctx.router
      .remove(cmd.namespace, cmd.name)
      ?.then((s) => Promise.allSettled(s.shards.map((sh) => sh.handle.destroy())))
      .catch(() => undefined);
  });
  replication.start();
  return ctx;
}

/** --roles: "sequencer,storage" (either order) or "storage"; anything else is refused with one sentence. */
export function parseRoles(text: string): NodeRole[] {
  const roles = [...new Set(text.split(',').map((r) => r.trim()).filter((r) => r !== ''))];
  if (roles.length === 0 || !roles.every((r) => r === 'sequencer' || r === 'storage')) {
    throw new Error(`--roles must be "sequencer,storage" or "storage", not "${text}".`);
  }
  if (!roles.includes('storage')) throw new Error('--roles sequencer is refused: a sequencer stores the segments it writes; use "sequencer,storage" (or "storage" for a storage-only node).');
  return roles as NodeRole[];
}

/** A join request to a member, as a client (op CLUSTER_JOIN); the member forwards it to the leader. */
async function requestJoin(member: string, node: number, address: string): Promise<JoinAnswer> {
  const client = await connect(member);
  try {
    return await client.clusterJoin(node, address);
  } finally {
    await client.close();
  }
}

function accept(ctx: NodeContext, conns: Set<ServerConnection>, socket: Socket): void {
  if (ctx.closing || conns.size >= ctx.config.connectionsMax) {
    const why = ctx.closing
      ? wireError('SHUTTING_DOWN', 'The node is shutting down.')
      : wireError('TOO_MANY_CONNECTIONS', `The node serves at most ${ctx.config.connectionsMax} connections.`, { connectionsMax: ctx.config.connectionsMax });
    socket.on('error', () => undefined);
    socket.end(encodeFrameBytes({ version: PROTOCOL_VERSION, flags: FLAG_RESPONSE | FLAG_ERROR, op: 0, requestId: 0, header: why }));
    return;
  }
  const conn = new ServerConnection(socket, ctx, () => conns.delete(conn));
  conns.add(conn);
  socket.on('close', () => conns.delete(conn));
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function shutdown(ctx: NodeContext, server: Server, conns: Set<ServerConnection>): Promise<void> {
  ctx.closing = true;
  ctx.memory.close();
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const c of conns) c.stopReading();
  ctx.router.wakeAll();
  await Promise.all([...conns].map((c) => c.idle()));
  for (const c of conns) c.end();
  await closeShards(ctx);
  await serverClosed;
}

async function closeShards(ctx: NodeContext): Promise<void> {
  await ctx.router.settled();
  const handles = ctx.router.all().flatMap((s) => s.shards.map((sh) => sh.handle));
  const results = await Promise.allSettled(handles.map((h) => h.close()));
  ctx.replication?.close();
  await ctx.meta.close();
  await ctx.cluster?.close();
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
