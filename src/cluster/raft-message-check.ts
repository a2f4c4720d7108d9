/**
 * The edge check of a Raft message that arrived from a peer (after msgpackr
 * decoding): every field the core reads is present with the right type and
 * range, entries are contiguous and well-formed, and `from` is the peer the
 * link authenticated. A message that fails is never stepped into the core;
 * the link that carried it is cut (the transport logs the reason). This is
 * where a bug or a hostile peer is stopped before it can corrupt a replica.
 */
import type { Entry, Message, Snapshot } from '../consensus/index.js';

/** Entries in one append message (the core sends at most appendEntriesMax). */
export const RAFT_ENTRIES_PER_MESSAGE_MAX = 4096;
/** Bytes of one entry's data (a MetaStore command is at most COMMAND_BYTES_MAX = 64 KiB). */
export const RAFT_ENTRY_BYTES_MAX = 1024 * 1024;
/** Voters in a config entry or snapshot. */
export const RAFT_VOTERS_MAX = 64;

const TYPES = new Set(['pre-vote', 'pre-vote-resp', 'vote', 'vote-resp', 'append', 'append-resp', 'heartbeat', 'heartbeat-resp', 'snapshot', 'timeout-now']);

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function votersProblem(v: unknown): string | null {
  if (!Array.isArray(v) || v.length > RAFT_VOTERS_MAX || !v.every(isId) || new Set(v).size !== v.length) return 'voters must be distinct node ids';
  return null;
}

function entryProblem(e: unknown, i: number): string | null {
  if (typeof e !== 'object' || e === null) return `entry ${i} is not a map`;
  const x = e as Partial<Entry>;
  if (!isId(x.index) || !isCount(x.term)) return `entry ${i} has a bad index or term`;
  if (x.kind === 'normal') {
    if (!isBytes(x.data) || x.data.length > RAFT_ENTRY_BYTES_MAX) return `entry ${i} (normal) needs data of at most ${RAFT_ENTRY_BYTES_MAX} bytes`;
    if (x.voters !== null) return `entry ${i} (normal) carries voters`;
  } else if (x.kind === 'config') {
    const vp = votersProblem(x.voters);
    if (vp !== null) return `entry ${i} (config): ${vp}`;
    if (x.data !== null) return `entry ${i} (config) carries data`;
  } else if (x.kind === 'noop') {
    if (x.data !== null || x.voters !== null) return `entry ${i} (noop) carries data or voters`;
  } else return `entry ${i} has an unknown kind`;
  return null;
}

function snapshotProblem(s: unknown): string | null {
  if (typeof s !== 'object' || s === null) return 'the snapshot is not a map';
  const x = s as Partial<Snapshot>;
  if (!isCount(x.index) || !isCount(x.term) || !isBytes(x.data)) return 'the snapshot needs index, term and data';
  return votersProblem(x.voters);
}

/** null when `body` is a well-formed Raft message from `from`, else the reason. */
export function raftMessageProblem(body: unknown, from: number, to: number): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'not a map';
  const m = body as Record<string, unknown>;
  if (typeof m.type !== 'string' || !TYPES.has(m.type)) return `unknown Raft message type ${JSON.stringify(m.type)}`;
  if (m.from !== from) return `from ${String(m.from)} on the link of node ${from}`;
  if (m.to !== to) return `to ${String(m.to)} reached node ${to}`;
  if (!isCount(m.term)) return 'bad term';
  switch (m.type as Message['type']) {
    case 'pre-vote':
    case 'vote':
      if (!isCount(m.lastIndex) || !isCount(m.lastTerm)) return 'bad lastIndex/lastTerm';
      if (m.type === 'vote' && typeof m.transfer !== 'boolean') return 'vote without transfer flag';
      return null;
    case 'pre-vote-resp':
    case 'vote-resp':
      return typeof m.granted === 'boolean' ? null : 'bad granted';
    case 'append': {
      if (!isCount(m.prevIndex) || !isCount(m.prevTerm) || !isCount(m.commit)) return 'bad prevIndex/prevTerm/commit';
      if (!Array.isArray(m.entries) || m.entries.length > RAFT_ENTRIES_PER_MESSAGE_MAX) return 'bad entries';
      for (let i = 0; i < m.entries.length; i++) {
        const p = entryProblem(m.entries[i], i);
        if (p !== null) return p;
        if ((m.entries[i] as Entry).index !== (m.prevIndex as number) + i + 1) return `entry ${i} is not contiguous with prevIndex ${String(m.prevIndex)}`;
      }
      return null;
    }
    case 'append-resp':
      return typeof m.success === 'boolean' && isCount(m.index) && isCount(m.hint) ? null : 'bad success/index/hint';
    case 'heartbeat':
      return isCount(m.commit) && isCount(m.seq) ? null : 'bad commit/seq';
    case 'heartbeat-resp':
      return isCount(m.seq) && isCount(m.lastIndex) ? null : 'bad seq/lastIndex';
    case 'snapshot':
      return snapshotProblem(m.snapshot);
    case 'timeout-now':
      return null;
  }
}
