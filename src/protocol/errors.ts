/**
 * Wire error codes: stable numbers, names and meanings (docs/PROTOCOL.md lists
 * the same table). A code's number and name never change once released; new
 * codes are only added.
 */

export interface ErrorCodeInfo {
  code: number;
  name: string;
  /** True when retrying the same request later may succeed (the client retries these). */
  retriable: boolean;
  meaning: string;
}

export const ERROR_CODES = {
  // 1-19: the frame and the protocol
  BAD_FRAME: { code: 1, name: 'BAD_FRAME', retriable: false, meaning: 'The frame prefix is invalid (length below 16, header length past the frame end); the node closes the connection when it cannot find the next frame.' },
  FRAME_TOO_LARGE: { code: 2, name: 'FRAME_TOO_LARGE', retriable: false, meaning: 'The frame length exceeds frameBytesMax (details: {frameBytes, frameBytesMax}); the node sends this error with request id 0 and closes the connection.' },
  HEADER_TOO_LARGE: { code: 3, name: 'HEADER_TOO_LARGE', retriable: false, meaning: 'The control header exceeds headerBytesMax (details: {headerBytes, headerBytesMax}); the frame is skipped, the connection stays open.' },
  UNSUPPORTED_VERSION: { code: 4, name: 'UNSUPPORTED_VERSION', retriable: false, meaning: 'hello offered no protocol version the node speaks, or a frame carries a version other than the negotiated one (details: {supported}).' },
  HELLO_REQUIRED: { code: 5, name: 'HELLO_REQUIRED', retriable: false, meaning: 'A request other than hello arrived before hello; the node answers and closes the connection.' },
  UNKNOWN_OP: { code: 6, name: 'UNKNOWN_OP', retriable: false, meaning: 'The op code is not one of the documented ops (details: {op}).' },
  BAD_REQUEST: { code: 7, name: 'BAD_REQUEST', retriable: false, meaning: 'The control header is not valid msgpack, or a field is missing or has the wrong type or range; the message names the field.' },
  // 20-39: streams and shards
  UNKNOWN_STREAM: { code: 20, name: 'UNKNOWN_STREAM', retriable: false, meaning: 'No stream of that name in that namespace.' },
  STREAM_EXISTS: { code: 21, name: 'STREAM_EXISTS', retriable: false, meaning: 'createStream: a stream of that name already exists in the namespace.' },
  INVALID_NAME: { code: 22, name: 'INVALID_NAME', retriable: false, meaning: 'A namespace or stream name is not 1-249 characters of [A-Za-z0-9._-], or is "." or "..".' },
  INVALID_ARGUMENT: { code: 23, name: 'INVALID_ARGUMENT', retriable: false, meaning: 'A stream setting is out of its range (shards, replicas, retention, schema).' },
  UNKNOWN_SHARD: { code: 24, name: 'UNKNOWN_SHARD', retriable: false, meaning: 'The shard number is not below the stream\'s shard count (details: {shards}).' },
  SHARD_FAILED: { code: 25, name: 'SHARD_FAILED', retriable: false, meaning: 'The shard could not be opened or its worker could not be restarted; the message gives the reason (also shown by describeStream). Other shards keep serving.' },
  NOT_LEADER: { code: 26, name: 'NOT_LEADER', retriable: true, meaning: 'The node is not the shard\'s sequencer (append) or does not store the shard (fetch); details: {sequencer: node id or null, address: "host:port" or null, replicas: [{id, address}]} name where to go. The client refreshes and retries there; nothing was written.' },
  FENCED: { code: 27, name: 'FENCED', retriable: true, meaning: 'The sequencer\'s epoch was superseded (a newer sequencer fenced it) or a replicated batch carries an older epoch than the replica has seen; nothing was acked. The client refreshes the shard\'s sequencer and retries.' },
  NOT_ENOUGH_REPLICAS: { code: 28, name: 'NOT_ENOUGH_REPLICAS', retriable: true, meaning: 'append with acks=quorum: fewer than a write quorum of the segment\'s replicas stored the batch within the timeout (details: {acked, quorum}); the outcome is unknown until a retry answers it.' },
  SEQ_GAP: { code: 29, name: 'SEQ_GAP', retriable: true, meaning: 'Peer links: a replicated batch does not start at the replica\'s end (details: {endSeq}); the sequencer resends from there.' },
  DIVERGED: { code: 30, name: 'DIVERGED', retriable: false, meaning: 'Peer links: a replicated batch overlaps records the replica holds and differs from them; the replica refuses it (recovery truncates the replica first).' },
  // 40-59: records and data
  OUT_OF_RANGE: { code: 40, name: 'OUT_OF_RANGE', retriable: false, meaning: 'fetch from a sequence number outside [startSeq, endSeq]; details: {startSeq, endSeq}, the valid range.' },
  RECORD_TOO_LARGE: { code: 41, name: 'RECORD_TOO_LARGE', retriable: false, meaning: 'A record exceeds the node\'s recordBytesMax; nothing of that shard\'s part of the append is written.' },
  BAD_RECORD: { code: 42, name: 'BAD_RECORD', retriable: false, meaning: 'A record fails validation (bad CRC, bad lengths, bad magic); nothing of that shard\'s part of the append is written.' },
  OUT_OF_ORDER_SEQUENCE: { code: 43, name: 'OUT_OF_ORDER_SEQUENCE', retriable: false, meaning: 'An idempotent producer sent a batch that does not start right after its last one (older, or leaving a gap) and is not a retry of a remembered batch.' },
  CORRUPT: { code: 44, name: 'CORRUPT', retriable: false, meaning: 'Damaged stored data was met on read; it is never served.' },
  // 60-79: the node
  DISK_FULL: { code: 60, name: 'DISK_FULL', retriable: true, meaning: 'The file system is full or below minFreeBytes; nothing was written.' },
  IO_ERROR: { code: 61, name: 'IO_ERROR', retriable: true, meaning: 'A write or read failed in the storage engine; nothing acked is affected.' },
  NOT_READY: { code: 62, name: 'NOT_READY', retriable: true, meaning: 'The node or the shard is starting or its worker is not available yet.' },
  SHUTTING_DOWN: { code: 63, name: 'SHUTTING_DOWN', retriable: true, meaning: 'The node is stopping; the request was not started. Retry against a node that is up.' },
  TOO_MANY_CONNECTIONS: { code: 64, name: 'TOO_MANY_CONNECTIONS', retriable: true, meaning: 'The node already serves connectionsMax connections; it sends this with request id 0 and closes the new one.' },
  INTERNAL: { code: 65, name: 'INTERNAL', retriable: false, meaning: 'An unexpected failure inside the node; the message says what. The connection stays usable.' },
  META_CORRUPT: { code: 66, name: 'META_CORRUPT', retriable: false, meaning: 'The MetaStore found damaged metadata.' },
  BUSY: { code: 67, name: 'BUSY', retriable: true, meaning: 'The shard has too many calls waiting for its worker; nothing was done. Back off and retry.' },
  SHARD_RESTARTED: { code: 68, name: 'SHARD_RESTARTED', retriable: true, meaning: 'The shard\'s worker died with the request in flight and is being restarted; an append\'s outcome is unknown (an idempotent producer\'s retry is safe).' },
  SHARD_STOPPED: { code: 69, name: 'SHARD_STOPPED', retriable: true, meaning: 'The shard stopped taking requests after an fsync failed (never retried: the kernel may have dropped the written pages) and is reopening from what is durable; an append answered with this was not acked.' },
  // 90-99: raised by the client library only (never sent on the wire)
  TIMEOUT: { code: 90, name: 'TIMEOUT', retriable: false, meaning: 'Client side: no answer within timeoutMs.' },
  CONNECTION_LOST: { code: 91, name: 'CONNECTION_LOST', retriable: true, meaning: 'Client side: the connection closed with the request in flight; its outcome is unknown.' },
  CLIENT_CLOSED: { code: 92, name: 'CLIENT_CLOSED', retriable: false, meaning: 'Client side: the client, producer or consumer was closed.' },
  BAD_RESPONSE: { code: 93, name: 'BAD_RESPONSE', retriable: false, meaning: 'Client side: the node sent a response the client cannot understand.' },
  // 100-119: peer links between nodes (docs/CLUSTER.md, "Peer links")
  PEER_WRONG_NODE: { code: 100, name: 'PEER_WRONG_NODE', retriable: false, meaning: 'Peer hello: the node dialed is not the node id the dialer expects (details: {nodeId}); the acceptor answers and closes.' },
  PEER_CLUSTER_MISMATCH: { code: 101, name: 'PEER_CLUSTER_MISMATCH', retriable: false, meaning: 'Peer hello: the two nodes carry different cluster ids (details: {clusterId}); the acceptor answers and closes.' },
  PEER_UNSUPPORTED_VERSION: { code: 102, name: 'PEER_UNSUPPORTED_VERSION', retriable: false, meaning: 'Peer hello: no common peer protocol version (details: {supported}); the acceptor answers and closes.' },
  PEER_REFUSED: { code: 103, name: 'PEER_REFUSED', retriable: true, meaning: 'Peer hello: the node does not take this peer (its policy refused it, e.g. a removed or wiped node, or the node is not in a cluster); the message says why.' },
  PEER_BAD_MESSAGE: { code: 104, name: 'PEER_BAD_MESSAGE', retriable: false, meaning: 'A frame on a peer link failed the edge checks (frame, version, op, envelope shape, sender id, size); the receiver sends this and closes that link only.' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorName = keyof typeof ERROR_CODES;

const BY_CODE = new Map<number, ErrorCodeInfo>(Object.values(ERROR_CODES).map((e) => [e.code, e]));

export function errorInfoByCode(code: number): ErrorCodeInfo | undefined {
  return BY_CODE.get(code);
}

/** The header of an error response frame. */
export interface WireError {
  code: number;
  name: string;
  message: string;
  details?: unknown;
}

export function wireError(name: ErrorName, message: string, details?: unknown): WireError {
  const info = ERROR_CODES[name];
  return details === undefined ? { code: info.code, name: info.name, message } : { code: info.code, name: info.name, message, details };
}
