/**
 * A node's settings: names, defaults and meanings in one table, so that
 * `nativelog start --help`, the config file (--config, JSON with these keys),
 * the environment (NATIVELOG_<KEY IN UPPER SNAKE CASE>, e.g.
 * NATIVELOG_DATA_DIR) and the docs all come from the same place.
 * Precedence: flags > config file > environment > defaults.
 */

export interface NodeConfig {
  dataDir: string;
  host: string;
  port: number;
  nodeId: number;
  /** "id@host:port,..." (replication, milestone 3; parsed and kept for now). */
  peers: string;
  /** fsync policy: "always" | "bytes:N" | "interval:MS" | "roll". */
  fsync: string;
  segmentBytesMax: number;
  segmentMsMax: number;
  indexIntervalBytes: number;
  minFreeBytes: number;
  recordBytesMax: number;
  /** Largest frame accepted from a client (header + records). */
  frameBytesMax: number;
  /** Requests in flight per connection before the node stops reading from it. */
  inFlightPerConnectionMax: number;
  connectionsMax: number;
  /** Bytes of each SharedArrayBuffer ring between the main thread and a shard worker. */
  ringBytes: number;
  /** Longest a fetch may long-poll. */
  fetchWaitMsMax: number;
}

export interface ConfigEntry<K extends keyof NodeConfig = keyof NodeConfig> {
  key: K;
  flag: string;
  description: string;
  default: NodeConfig[K];
}
