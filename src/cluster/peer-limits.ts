/**
 * Bounds and timings of peer links (docs/CLUSTER.md, "Peer links"). Every
 * PeerTransport option defaults to one of these; tests shrink them.
 */

/** Peer protocol versions this code speaks, newest last (negotiated at hello, separate from the frame version). */
export const PEER_PROTOCOL_VERSIONS: readonly number[] = [1];
export const PEER_PROTOCOL_VERSION = 1;
/** Version of the message envelope ({v, kind, from, to, body}). */
export const PEER_ENVELOPE_VERSION = 1;

/** Messages waiting in one outbound link's queue; past it the newest message is dropped and counted. */
export const PEER_QUEUE_MESSAGES_MAX = 4096;
/** Encoded bytes waiting in one outbound link's queue; past it the newest message is dropped and counted. */
export const PEER_QUEUE_BYTES_MAX = 64 * 1024 * 1024;
/** Largest peer frame sent or accepted (a Raft snapshot travels in one message). */
export const PEER_FRAME_BYTES_MAX = 32 * 1024 * 1024;
/** First reconnect delay after a link fails. */
export const PEER_BACKOFF_MS_MIN = 20;
/** Longest reconnect delay (the delay doubles per failure up to this, with jitter). */
export const PEER_BACKOFF_MS_MAX = 1000;
/** A dial that is not connected and answered (hello) within this is abandoned. */
export const PEER_HANDSHAKE_MS_MAX = 2000;
/** A connected link whose socket has not drained for this long is treated as dead and redialed. */
export const PEER_WRITE_STALL_MS_MAX = 5000;
/** A refused or cut-off peer socket is destroyed this long after its error frame, even if the other end never reads. */
export const PEER_CLOSE_LINGER_MS = 1000;
/** TCP keepalive probe delay on peer sockets. */
export const PEER_KEEPALIVE_MS = 5000;
/** Longest message kind name. */
export const PEER_KIND_CHARS_MAX = 32;
/** Longest cluster id. */
export const PEER_CLUSTER_ID_CHARS_MAX = 128;
/** Largest node id (node ids are positive integers). */
export const NODE_ID_MAX = 2 ** 31 - 1;
