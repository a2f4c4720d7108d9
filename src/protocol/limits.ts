/**
 * Protocol bounds (DESIGN invariant 5). Nodes configure frameBytesMax,
 * inFlightPerConnectionMax and connectionsMax (src/node/config.ts); these are
 * the defaults and the fixed ones.
 */

/** The protocol versions this code speaks, newest last. */
export const PROTOCOL_VERSIONS: readonly number[] = [1];
export const PROTOCOL_VERSION = 1;

/** Largest msgpack control header in a frame (fixed; not configurable). */
export const HEADER_BYTES_MAX = 64 * 1024;
/** Default largest frame a node accepts (prefix + header + records). */
export const FRAME_BYTES_MAX_DEFAULT = 32 * 1024 * 1024;
/** Largest frame a client accepts from a node (responses carry at most a fetch's maxBytes plus one record). */
export const CLIENT_FRAME_BYTES_MAX = 512 * 1024 * 1024;
/** Default requests in flight per connection before the node stops reading from it. */
export const IN_FLIGHT_PER_CONNECTION_MAX_DEFAULT = 256;
/** Default connections a node serves at once. */
export const CONNECTIONS_MAX_DEFAULT = 1024;
/** Most shard parts in one append frame. */
export const APPEND_PARTS_MAX = 1024;
/** Default longest fetch long-poll. */
export const FETCH_WAIT_MS_MAX_DEFAULT = 30_000;
/** Largest maxBytes a fetch may ask for. */
export const FETCH_BYTES_MAX = 64 * 1024 * 1024;
