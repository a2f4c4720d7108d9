/**
 * Every bound the MetaStore enforces, named in one place (DESIGN invariant 5).
 */

/** Longest namespace or stream name, in characters (they become folder names). */
export const NAME_LENGTH_MAX = 249;
/** Most streams the MetaStore holds across all namespaces. */
export const STREAMS_MAX = 10_000;
/** Most shards one stream may have. */
export const SHARDS_PER_STREAM_MAX = 1024;
/** Most replicas per shard. */
export const REPLICAS_MAX = 7;
/** Longest schema text, in UTF-8 bytes. */
export const SCHEMA_BYTES_MAX = 16 * 1024;
/** Largest encoded command in the command log. */
export const COMMAND_BYTES_MAX = 64 * 1024;
/** Largest snapshot file accepted on open. */
export const SNAPSHOT_BYTES_MAX = 256 * 1024 * 1024;
/** Commands appended to the log before a snapshot truncates it. */
export const SNAPSHOT_EVERY_COMMANDS = 1000;
/** Most segments the MetaStore lists for one shard (retention trims the oldest; past it openSegment fails). */
export const SEGMENTS_PER_SHARD_MAX = 100_000;
/** Most cluster members the MetaStore records (addMember past it fails). */
export const MEMBERS_MAX = 64;
/** Longest member address (host:port), in characters. */
export const MEMBER_ADDRESS_CHARS_MAX = 261;
/** Longest cluster id, in characters (the peer hello carries it: at most its 128). */
export const CLUSTER_ID_CHARS_MAX = 128;
