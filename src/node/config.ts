/**
 * A node's settings: names, defaults and meanings in one table, so that
 * `nativelog start --help`, the config file (--config, JSON with these keys),
 * the environment (NATIVELOG_<KEY IN UPPER SNAKE CASE>, e.g.
 * NATIVELOG_DATA_DIR) and the docs all come from the same place.
 * Precedence: flags > config file > environment > defaults.
 */

import { CLIENT_MEMORY_BYTES_MAX_DEFAULT } from './memory-budget.js';

export interface NodeConfig {
  dataDir: string;
  host: string;
  port: number;
  nodeId: number;
  /** "id@host:port,...": the other voters of an initial cluster; '' = a node alone. */
  peers: string;
  /** A member's host:port to join through (a new node added as a voter); '' = none. Ignored once the data dir has Raft state. */
  join: string;
  /** What this node does in a cluster: "sequencer,storage" (default) or "storage" (never elected sequencer; stores segments). */
  roles: string;
  /** fsync policy: "always" | "bytes:N" | "interval:MS" | "roll". */
  fsync: string;
  /** 1: with fsync interval:MS or bytes:N, fsync on a thread-pool thread while appends go on; 0: inline on the shard's worker thread. */
  fsyncBackground: number;
  segmentBytesMax: number;
  segmentMsMax: number;
  indexIntervalBytes: number;
  minFreeBytes: number;
  recordBytesMax: number;
  /** Largest frame accepted from a client (header + records). */
  frameBytesMax: number;
  /** Requests in flight per connection before the node stops reading from it. */
  inFlightPerConnectionMax: number;
  /** Request bytes (frames) in flight per connection before the node stops reading from it (one request is always let through). */
  inFlightBytesPerConnectionMax: number;
  connectionsMax: number;
  /** Bytes of each SharedArrayBuffer ring between the main thread and a shard worker. */
  ringBytes: number;
  /** Longest a fetch may long-poll. */
  fetchWaitMsMax: number;
  /** Bytes all shards' fetch read-aheads may hold at once (0 = no read-ahead); src/node/fetch-readahead.ts. */
  readaheadBytesMax: number;
  /** Node-wide bytes held for clients (request frames, fetch answers until flushed, read-ahead); src/node/memory-budget.ts. */
  clientMemoryBytesMax: number;
}

export interface ConfigEntry<K extends keyof NodeConfig = keyof NodeConfig> {
  key: K;
  flag: string;
  description: string;
  default: NodeConfig[K];
}

/** Every setting with its flag, meaning and default (the one source for --help, --config, env and docs). */
export const CONFIG_ENTRIES: ConfigEntry[] = [
  { key: 'dataDir', flag: '--data-dir', description: 'folder holding the MetaStore and every shard', default: './data' },
  { key: 'host', flag: '--host', description: 'address to listen on', default: '127.0.0.1' },
  { key: 'port', flag: '--port', description: 'TCP port for clients (0 = any free port)', default: 7070 },
  { key: 'nodeId', flag: '--node-id', description: 'this node\'s id in the cluster', default: 1 },
  { key: 'peers', flag: '--peers', description: 'the other voters of an initial cluster as id@host:port,... (the address this node dials each at); empty: a node alone', default: '' },
  { key: 'join', flag: '--join', description: 'join an existing cluster through the member at HOST:PORT (a new node; a restarted one just rejoins)', default: '' },
  { key: 'roles', flag: '--roles', description: 'in a cluster: sequencer,storage (default) or storage (a storage-only node: it stores segments and is never a shard\'s sequencer). A sequencer always stores what it sequences, so "sequencer" alone is refused', default: 'sequencer,storage' },
  { key: 'fsync', flag: '--fsync', description: 'when appends are fsynced: always | bytes:N | interval:MS | roll (default: interval:1000, kill -9 loses nothing acked, power loss at most ~1 s)', default: 'interval:1000' },
  { key: 'fsyncBackground', flag: '--fsync-background', description: '1: with fsync interval:MS or bytes:N, fsync off the shard worker thread while appends go on (power-loss window: MS plus the fsync time, at most 2 x MS); 0: fsync inline, appends wait', default: 1 },
  { key: 'segmentBytesMax', flag: '--segment-bytes-max', description: 'roll a segment once it holds this many bytes', default: 128 * 1024 * 1024 },
  { key: 'segmentMsMax', flag: '--segment-ms-max', description: 'roll a segment once it is this old (ms)', default: 7 * 24 * 3600 * 1000 },
  { key: 'indexIntervalBytes', flag: '--index-interval-bytes', description: 'bytes between sparse index entries', default: 4096 },
  { key: 'minFreeBytes', flag: '--min-free-bytes', description: 'appends fail with DISK_FULL below this much free disk space', default: 64 * 1024 * 1024 },
  { key: 'recordBytesMax', flag: '--record-bytes-max', description: 'largest record accepted', default: 8 * 1024 * 1024 },
  { key: 'frameBytesMax', flag: '--frame-bytes-max', description: 'largest frame accepted from a client (header + records)', default: 32 * 1024 * 1024 },
  { key: 'inFlightPerConnectionMax', flag: '--in-flight-per-connection-max', description: 'requests in flight per connection before the node stops reading it', default: 256 },
  { key: 'inFlightBytesPerConnectionMax', flag: '--in-flight-bytes-per-connection-max', description: 'request bytes in flight per connection before the node stops reading it', default: 64 * 1024 * 1024 },
  { key: 'connectionsMax', flag: '--connections-max', description: 'client connections served at once; more are refused', default: 1024 },
  { key: 'ringBytes', flag: '--ring-bytes', description: 'bytes of each ring between the main thread and a shard worker (at least recordBytesMax + 64)', default: 16 * 1024 * 1024 },
  { key: 'fetchWaitMsMax', flag: '--fetch-wait-ms-max', description: 'longest a fetch may long-poll (ms)', default: 30_000 },
  { key: 'readaheadBytesMax', flag: '--readahead-bytes-max', description: 'bytes all shards may hold read ahead for consumers catching up (0 = no read-ahead)', default: 128 * 1024 * 1024 },
  { key: 'clientMemoryBytesMax', flag: '--client-memory-bytes-max', description: 'bytes the node holds for all clients at once (request frames, fetch answers until the socket flushes them, read-ahead); past it the node stops reading requests until answers drain; one connection gets at most a quarter', default: CLIENT_MEMORY_BYTES_MAX_DEFAULT },
];

/** The defaults as one NodeConfig (from CONFIG_ENTRIES). */
export const DEFAULT_CONFIG: NodeConfig = Object.fromEntries(CONFIG_ENTRIES.map((e) => [e.key, e.default])) as unknown as NodeConfig;
