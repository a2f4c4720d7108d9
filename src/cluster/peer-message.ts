/**
 * The peer message envelope and its edge checks (docs/CLUSTER.md, "Peer
 * links"). A message travels in one frame: op PEER_MESSAGE, flags 0, the
 * negotiated frame version, requestId = the link's message counter (mod 2^32),
 * the envelope as the msgpack control header, and a body: empty, except for
 * the kinds the owner registers as raw (replicated record batches, issue 15),
 * whose body is the record bytes as they are (never through msgpack). A body
 * on any other kind is refused.
 *
 *   envelope = {v: 1, kind, from, to, body}
 *
 * `kind` names what the body is ('raft', ...); the transport's owner registers
 * a shape check per kind. `from` must be the link's authenticated peer and `to`
 * the receiving node, so a peer cannot speak for another.
 */
import { encodeFrame, unpackHeader, type Frame } from '../protocol/frame.js';
import { PEER_OP } from '../protocol/ops.js';
import { isNodeId, type NodeId } from './peer-address.js';
import { PEER_ENVELOPE_VERSION, PEER_KIND_CHARS_MAX } from './peer-limits.js';

/** What the owner sends and receives. */
export interface PeerMessage {
  kind: string;
  /** Any msgpack-encodable value; checked on receipt by the kind's check. */
  body: unknown;
  /** Raw bytes carried as the frame body (raw kinds only). On receipt: a view into the frame, valid during the handler call only. */
  raw?: Uint8Array;
}

export interface PeerEnvelope extends PeerMessage {
  v: number;
  from: NodeId;
  to: NodeId;
}

/**
 * A shape check for one message kind: null when the body is acceptable, else
 * the reason. `from` is the authenticated sender and `to` this node (a check
 * should compare any sender or receiver field inside the body with them).
 */
export type KindCheck = (body: unknown, from: NodeId, to: NodeId) => string | null;

/** Encodes one message as frame parts (for writev). */
export function encodePeerMessage(version: number, seq: number, from: NodeId, to: NodeId, msg: PeerMessage): Uint8Array[] {
  const envelope: PeerEnvelope = { v: PEER_ENVELOPE_VERSION, kind: msg.kind, from, to, body: msg.body };
  return encodeFrame({ version, flags: 0, op: PEER_OP.MESSAGE, requestId: seq >>> 0, header: envelope, ...(msg.raw !== undefined && msg.raw.length > 0 ? { body: [msg.raw] } : {}) });
}

export type InboundVerdict = { message: PeerMessage } | { reason: string };

/**
 * Checks one inbound frame on a link whose peer is `from` and whose receiving
 * node is `to`; every failure is a reason sentence (the link is then closed).
 */
export function checkPeerFrame(frame: Frame, version: number, from: NodeId, to: NodeId, kinds: ReadonlyMap<string, KindCheck>, rawKinds: ReadonlySet<string> = new Set()): InboundVerdict {
  if (frame.version !== version) return { reason: `frame version ${frame.version}; this link speaks ${version}` };
  if (frame.flags !== 0) return { reason: `flags ${frame.flags} on a peer message (must be 0)` };
  if (frame.op !== PEER_OP.MESSAGE) return { reason: `op ${frame.op} on a peer link (only ${PEER_OP.MESSAGE}, peer message, is allowed)` };
  let header: unknown;
  try {
    header = unpackHeader(frame.header);
  } catch (err) {
    return { reason: `the envelope is not valid msgpack: ${(err as Error).message}` };
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return { reason: 'the envelope is not a map' };
  const e = header as Partial<PeerEnvelope>;
  if (e.v !== PEER_ENVELOPE_VERSION) return { reason: `envelope version ${String(e.v)}; this node speaks ${PEER_ENVELOPE_VERSION}` };
  if (typeof e.kind !== 'string' || e.kind.length === 0 || e.kind.length > PEER_KIND_CHARS_MAX) return { reason: 'the envelope has no valid kind' };
  const check = kinds.get(e.kind);
  if (check === undefined) return { reason: `unknown message kind "${e.kind}"` };
  if (frame.body.length !== 0 && !rawKinds.has(e.kind)) return { reason: `a "${e.kind}" message with a ${frame.body.length}-byte body (only raw kinds carry one)` };
  if (!isNodeId(e.from)) return { reason: 'the envelope has no valid from' };
  if (e.from !== from) return { reason: `a message from node ${e.from} on the link of node ${from} (a peer cannot speak for another)` };
  if (e.to !== to) return { reason: `a message for node ${String(e.to)} reached node ${to}` };
  if (!('body' in e) || e.body === undefined) return { reason: 'the envelope has no body' };
  let why: string | null;
  try {
    why = check(e.body, from, to);
  } catch (err) {
    why = `the "${e.kind}" check failed: ${(err as Error).message}`;
  }
  if (why !== null) return { reason: `bad "${e.kind}" message: ${why}` };
  return { message: frame.body.length === 0 ? { kind: e.kind, body: e.body } : { kind: e.kind, body: e.body, raw: frame.body } };
}
