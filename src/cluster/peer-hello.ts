/**
 * The peer hello: how a node that dials another proves who it is and who it
 * expects, and how the acceptor answers or refuses (docs/CLUSTER.md, "Peer
 * links"). It is the ordinary hello frame (op 1) with `role: 'peer'`, so one
 * port serves clients and peers.
 *
 *   dialer   -> {versions, role: 'peer', peerVersions, from, to, clusterId, dataDirId}
 *   acceptor -> {version, role: 'peer', peerVersion, nodeId, clusterId, dataDirId}
 *            or an error frame (PEER_WRONG_NODE, PEER_CLUSTER_MISMATCH,
 *               PEER_UNSUPPORTED_VERSION, PEER_REFUSED, UNSUPPORTED_VERSION,
 *               BAD_REQUEST) with one clear sentence, then closes.
 *
 * Both sides apply the same checks: the built-in ones (versions, node id,
 * cluster id when both sides have one) and then the owner's policy callback.
 * dataDirId is the random id of the data dir the sender runs on
 * (<data-dir>/@cluster/node.json); the owner's policy compares it with the
 * one the cluster bound to that node id, so a wiped node re-using its id is
 * refused. Absent (an older sender) reads as null.
 */
import { wireError, type ErrorName, type WireError } from '../protocol/errors.js';
import { FieldError, arr, asFields, int, oneOf } from '../protocol/fields.js';
import { PROTOCOL_VERSIONS } from '../protocol/limits.js';
import { isNodeId, type NodeId } from './peer-address.js';
import { NODE_ID_MAX, PEER_CLUSTER_ID_CHARS_MAX, PEER_PROTOCOL_VERSIONS } from './peer-limits.js';

export interface PeerHelloRequest {
  /** Frame protocol versions the dialer speaks (as in a client hello). */
  versions: number[];
  role: 'peer';
  /** Peer protocol versions the dialer speaks. */
  peerVersions: number[];
  /** The dialer's node id. */
  from: NodeId;
  /** The node id the dialer expects to reach at this address. */
  to: NodeId;
  /** The dialer's cluster id; null while it has none (a node not yet bootstrapped or joined). */
  clusterId: string | null;
  /** The id of the dialer's data dir; null if it did not send one. */
  dataDirId: string | null;
  /** The dialer's roles (absent: both). */
  roles?: NodeRole[];
}

export type NodeRole = 'sequencer' | 'storage';

export interface PeerHelloAnswer {
  roles?: NodeRole[];
  /** Chosen frame protocol version. */
  version: number;
  role: 'peer';
  /** Chosen peer protocol version. */
  peerVersion: number;
  nodeId: NodeId;
  clusterId: string | null;
  dataDirId: string | null;
}

/** What a policy callback sees of the node at the other end. */
export interface RemotePeer {
  nodeId: NodeId;
  clusterId: string | null;
  /** The id of its data dir (null: it sent none). */
  dataDirId: string | null;
  /** Its roles (absent from the hello: both). */
  roles?: NodeRole[];
  /** The other end's socket address (inbound) or the address dialed (outbound). */
  address: string;
  /** 'inbound': it dialed us; 'outbound': we dialed it. */
  direction: 'inbound' | 'outbound';
}

/** Owner policy: null to accept, or one sentence saying why the peer is refused. */
export type AcceptPeer = (remote: RemotePeer) => string | null;

/** Who this node is, for the checks. */
export interface LocalIdentity {
  nodeId: NodeId;
  clusterId: string | null;
  /** The id of this node's data dir (node.json); null when the owner has none (tests of the transport alone). */
  dataDirId: string | null;
  /** This node's roles (absent: both). */
  roles?: NodeRole[];
}

/** True when a hello header (already msgpack-decoded) comes from a peer rather than a client. */
export function isPeerHello(header: unknown): boolean {
  return typeof header === 'object' && header !== null && (header as { role?: unknown }).role === 'peer';
}

export function wrongNodeSentence(address: string, actual: NodeId, expected: NodeId): string {
  return `${address} is node ${actual}, not node ${expected}`;
}

export function clusterMismatchSentence(localId: NodeId, local: string, remoteId: NodeId, remote: string): string {
  return `cluster id mismatch: node ${localId} belongs to cluster "${local}" but node ${remoteId} belongs to cluster "${remote}"`;
}

function clusterIdField(h: Record<string, unknown>): string | null {
  const v = h['clusterId'];
  if (v === null) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > PEER_CLUSTER_ID_CHARS_MAX) {
    throw new FieldError(`field "clusterId" must be null or a string of 1-${PEER_CLUSTER_ID_CHARS_MAX} characters`);
  }
  return v;
}

function dataDirIdField(h: Record<string, unknown>): string | null {
  const v = h['dataDirId'];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > PEER_CLUSTER_ID_CHARS_MAX) {
    throw new FieldError(`field "dataDirId" must be null or a string of 1-${PEER_CLUSTER_ID_CHARS_MAX} characters`);
  }
  return v;
}

function rolesField(h: Record<string, unknown>): NodeRole[] | undefined {
  const v = h['roles'];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > 2 || !v.every((r) => r === 'sequencer' || r === 'storage')) throw new FieldError('field "roles" must be a list of "sequencer" and "storage"');
  return v as NodeRole[];
}

function versionList(h: Record<string, unknown>, key: string): number[] {
  const list = arr(h, key, 64);
  if (!list.every((v) => typeof v === 'number' && Number.isSafeInteger(v))) throw new FieldError(`field "${key}" must be a list of integers`);
  return list as number[];
}

/** Checks the shape of a dialer's hello; throws FieldError naming the bad field. */
export function parsePeerHello(header: unknown): PeerHelloRequest {
  const h = asFields(header);
  return {
    versions: versionList(h, 'versions'),
    role: oneOf(h, 'role', ['peer'] as const),
    peerVersions: versionList(h, 'peerVersions'),
    from: int(h, 'from', 1, NODE_ID_MAX),
    to: int(h, 'to', 1, NODE_ID_MAX),
    clusterId: clusterIdField(h),
    dataDirId: dataDirIdField(h),
    ...(rolesField(h) === undefined ? {} : { roles: rolesField(h)! }),
  };
}

/** Checks the shape of an acceptor's answer; throws FieldError naming the bad field. */
export function parsePeerHelloAnswer(header: unknown): PeerHelloAnswer {
  const h = asFields(header);
  return {
    version: int(h, 'version', 1, 255),
    role: oneOf(h, 'role', ['peer'] as const),
    peerVersion: int(h, 'peerVersion', 1, 255),
    nodeId: int(h, 'nodeId', 1, NODE_ID_MAX),
    clusterId: clusterIdField(h),
    dataDirId: dataDirIdField(h),
    ...(rolesField(h) === undefined ? {} : { roles: rolesField(h)! }),
  };
}

export function helloRequest(self: LocalIdentity, to: NodeId): PeerHelloRequest {
  return { versions: [...PROTOCOL_VERSIONS], role: 'peer', peerVersions: [...PEER_PROTOCOL_VERSIONS], from: self.nodeId, to, clusterId: self.clusterId, dataDirId: self.dataDirId, ...(self.roles === undefined ? {} : { roles: self.roles }) };
}

export type HelloVerdict = { answer: PeerHelloAnswer } | { refusal: WireError };

function refuse(name: ErrorName, message: string, details?: unknown): HelloVerdict {
  return { refusal: wireError(name, message, details) };
}

/**
 * The acceptor's decision on a dialer's hello. `localAddress` is this node's
 * address as the socket sees it (used in the wrong-node sentence),
 * `remoteAddress` the dialer's.
 */
export function judgePeerHello(header: unknown, self: LocalIdentity, localAddress: string, remoteAddress: string, policy: AcceptPeer | undefined): HelloVerdict {
  let req: PeerHelloRequest;
  try {
    req = parsePeerHello(header);
  } catch (err) {
    return refuse('BAD_REQUEST', `Bad peer hello: ${(err as Error).message}.`);
  }
  const version = Math.max(0, ...PROTOCOL_VERSIONS.filter((v) => req.versions.includes(v)));
  if (version === 0) {
    return refuse('UNSUPPORTED_VERSION', `No common protocol version: the node speaks ${PROTOCOL_VERSIONS.join(', ')}.`, { supported: PROTOCOL_VERSIONS });
  }
  const peerVersion = Math.max(0, ...PEER_PROTOCOL_VERSIONS.filter((v) => req.peerVersions.includes(v)));
  if (peerVersion === 0) {
    return refuse('PEER_UNSUPPORTED_VERSION', `No common peer protocol version: node ${self.nodeId} speaks ${PEER_PROTOCOL_VERSIONS.join(', ')}, node ${req.from} offered ${req.peerVersions.join(', ') || 'none'}.`, {
      supported: PEER_PROTOCOL_VERSIONS,
    });
  }
  if (req.to !== self.nodeId) return refuse('PEER_WRONG_NODE', wrongNodeSentence(localAddress, self.nodeId, req.to), { nodeId: self.nodeId });
  if (req.from === self.nodeId) return refuse('PEER_REFUSED', `node ${req.from} at ${remoteAddress} claims this node's own id ${self.nodeId}`);
  if (self.clusterId !== null && req.clusterId !== null && self.clusterId !== req.clusterId) {
    return refuse('PEER_CLUSTER_MISMATCH', clusterMismatchSentence(self.nodeId, self.clusterId, req.from, req.clusterId), { clusterId: self.clusterId });
  }
  const why = runPolicy(policy, { nodeId: req.from, clusterId: req.clusterId, dataDirId: req.dataDirId, ...(req.roles === undefined ? {} : { roles: req.roles }), address: remoteAddress, direction: 'inbound' });
  if (why !== null) return refuse('PEER_REFUSED', why);
  return { answer: { version, role: 'peer', peerVersion, nodeId: self.nodeId, clusterId: self.clusterId, dataDirId: self.dataDirId, ...(self.roles === undefined ? {} : { roles: self.roles }) } };
}

/**
 * The dialer's decision on the acceptor's answer: null to go on, or why the
 * link is refused (an acceptor that skipped its own checks is caught here).
 */
export function judgePeerHelloAnswer(answer: PeerHelloAnswer, self: LocalIdentity, expected: NodeId, dialedAddress: string, policy: AcceptPeer | undefined): string | null {
  if (!PROTOCOL_VERSIONS.includes(answer.version)) return `${dialedAddress} chose protocol version ${answer.version}, which this node does not speak`;
  if (!PEER_PROTOCOL_VERSIONS.includes(answer.peerVersion)) return `${dialedAddress} chose peer protocol version ${answer.peerVersion}, which this node does not speak`;
  if (answer.nodeId !== expected) return wrongNodeSentence(dialedAddress, answer.nodeId, expected);
  if (self.clusterId !== null && answer.clusterId !== null && self.clusterId !== answer.clusterId) {
    return clusterMismatchSentence(self.nodeId, self.clusterId, answer.nodeId, answer.clusterId);
  }
  return runPolicy(policy, { nodeId: answer.nodeId, clusterId: answer.clusterId, dataDirId: answer.dataDirId, ...(answer.roles === undefined ? {} : { roles: answer.roles }), address: dialedAddress, direction: 'outbound' });
}

/** A policy that throws refuses (it never throws into the transport). */
function runPolicy(policy: AcceptPeer | undefined, remote: RemotePeer): string | null {
  if (policy === undefined) return null;
  try {
    return policy(remote);
  } catch (err) {
    return `the peer policy failed: ${(err as Error).message}`;
  }
}

/** The sentence a dialer shows for an acceptor's refusal (a wrong-node refusal names the address it dialed). */
export function refusalSentence(err: WireError, dialedAddress: string, expected: NodeId): string {
  const details = err.details as { nodeId?: unknown } | undefined;
  if (err.name === 'PEER_WRONG_NODE' && details !== undefined && isNodeId(details.nodeId)) return wrongNodeSentence(dialedAddress, details.nodeId, expected);
  return `${dialedAddress} refused the peer link: ${err.message}`;
}
