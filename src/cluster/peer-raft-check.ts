/**
 * The edge check of 'raft' peer messages: the body must be a well-formed
 * consensus Message (src/consensus/types.ts, docs/CONSENSUS.md section 3)
 * whose `from` and `to` are the link's authenticated sender and this node.
 * Register it as `kinds: { raft: checkRaftMessage }`; a body that passes can
 * be given to RaftNode.step as `{type: 'message', message: body as Message}`.
 *
 * Only shape and ranges are checked here; Raft itself judges terms and
 * indexes. Entry and snapshot data arrive as Uint8Array (msgpack bin).
 */
import type { MessageType } from '../consensus/types.js';
import { isNodeId, type NodeId } from './peer-address.js';

/** Most entries in one raft message (RaftConfig.appendEntriesMax must not exceed it). */
export const PEER_RAFT_ENTRIES_MAX = 65_536;
/** Most voters in a config entry or snapshot. */
export const PEER_RAFT_VOTERS_MAX = 1024;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function counts(m: Obj, keys: readonly string[]): string | null {
  for (const k of keys) if (!isCount(m[k])) return `field "${k}" must be a non-negative integer`;
  return null;
}

function bools(m: Obj, keys: readonly string[]): string | null {
  for (const k of keys) if (typeof m[k] !== 'boolean') return `field "${k}" must be a boolean`;
  return null;
}

function voters(v: unknown, what: string): string | null {
  if (!Array.isArray(v) || v.length > PEER_RAFT_VOTERS_MAX || !v.every(isNodeId) || new Set(v).size !== v.length) return `${what} must be a list of at most ${PEER_RAFT_VOTERS_MAX} distinct node ids`;
  return null;
}

function entry(e: unknown, i: number): string | null {
  if (!isObj(e)) return `entry ${i} is not a map`;
  const c = counts(e, ['index', 'term']);
  if (c !== null) return `entry ${i}: ${c}`;
  switch (e['kind']) {
    case 'normal':
      return e['data'] instanceof Uint8Array && e['voters'] === null ? null : `entry ${i}: a normal entry has bytes as data and null voters`;
    case 'noop':
      return e['data'] === null && e['voters'] === null ? null : `entry ${i}: a noop entry has null data and voters`;
    case 'config':
      return e['data'] === null ? voters(e['voters'], `entry ${i} voters`) : `entry ${i}: a config entry has null data`;
    default:
      return `entry ${i} has an unknown kind`;
  }
}

const FIELDS: Record<MessageType, (m: Obj) => string | null> = {
  'pre-vote': (m) => counts(m, ['lastIndex', 'lastTerm']),
  'pre-vote-resp': (m) => bools(m, ['granted']),
  vote: (m) => counts(m, ['lastIndex', 'lastTerm']) ?? bools(m, ['transfer']),
  'vote-resp': (m) => bools(m, ['granted']),
  append: (m) => {
    const c = counts(m, ['prevIndex', 'prevTerm', 'commit']);
    if (c !== null) return c;
    const es = m['entries'];
    if (!Array.isArray(es) || es.length > PEER_RAFT_ENTRIES_MAX) return `field "entries" must be a list of at most ${PEER_RAFT_ENTRIES_MAX} entries`;
    for (let i = 0; i < es.length; i++) {
      const why = entry(es[i], i);
      if (why !== null) return why;
      // The core appends entries at prevIndex + 1, + 2, ...: a gap or a reordering is a bug or a hostile peer.
      if ((es[i] as Obj)['index'] !== (m['prevIndex'] as number) + i + 1) return `entry ${i} has index ${String((es[i] as Obj)['index'])}, not prevIndex + ${i + 1}`;
      if ((es[i] as Obj)['term'] as number > (m['term'] as number)) return `entry ${i} has a term above the message's`;
    }
    return null;
  },
  'append-resp': (m) => bools(m, ['success']) ?? counts(m, ['index', 'hint']),
  heartbeat: (m) => counts(m, ['commit', 'seq']),
  'heartbeat-resp': (m) => counts(m, ['seq', 'lastIndex']),
  snapshot: (m) => {
    const s = m['snapshot'];
    if (!isObj(s)) return 'field "snapshot" must be a map';
    const c = counts(s, ['index', 'term']);
    if (c !== null) return `snapshot: ${c}`;
    if (!(s['data'] instanceof Uint8Array)) return 'snapshot: field "data" must be bytes';
    return voters(s['voters'], 'snapshot voters');
  },
  'timeout-now': () => null,
};

/** KindCheck for 'raft' (see the file comment). */
export function checkRaftMessage(body: unknown, from: NodeId, to: NodeId): string | null {
  if (!isObj(body)) return 'the body is not a map';
  const type = body['type'];
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) return `unknown raft message type ${JSON.stringify(type)}`;
  if (body['from'] !== from) return `a raft message from node ${String(body['from'])} on the link of node ${from}`;
  if (body['to'] !== to) return `a raft message for node ${String(body['to'])} reached node ${to}`;
  const c = counts(body, ['term']);
  if (c !== null) return c;
  return FIELDS[type as MessageType](body);
}
