/**
 * The payload of a Raft log frame (raft-disk-frame.ts): msgpackr of
 * `{ v: 1, r: [record, ...] }`, records applied in order on replay
 * (raft-disk-replay.ts). One persist call writes one frame holding, in the
 * Persist contract's order, at most one of each:
 *
 *   { t: 'snap', index, term, keep }   the snapshot file snap-<index>.snap
 *        is now the base of the log: entries <= index are dropped; entries
 *        after it are kept when `keep` (the log held (index, term)), else
 *        dropped too (install-snapshot over a diverging log).
 *   { t: 'append', e: [[index, term, kind, voters, data], ...] }
 *        discard every entry >= e[0].index, then append; indexes
 *        contiguous. kind 0 normal (data: bytes, voters: nil), 1 noop (both
 *        nil), 2 config (voters: array of node ids, data: nil).
 *   { t: 'hs', term, vote }            the hard state.
 *
 * The first frame of every segment starts with
 *   { t: 'start', seq, last, lastTerm, snap: [index, term] | nil, hs: [term, vote] }
 * a summary of the log when the segment was opened (segment number, last
 * index and its term, current snapshot, current hard state), so older
 * segments can be deleted after a snapshot without losing the hard state
 * or the snapshot reference, and a replay that does run through the older
 * segment checks that the summary agrees with what it rebuilt.
 */
import { Packr } from 'msgpackr';
import type { Entry, EntryKind, HardState, NodeId } from '../consensus/types.js';
import { ENTRY_BYTES_MAX, VOTERS_MAX } from './raft-disk-limits.js';

export const RECORDS_VERSION = 1;

export type DiskRecord =
  | { readonly t: 'start'; readonly seq: number; readonly last: number; readonly lastTerm: number; readonly snap: SnapRef | null; readonly hs: HardState }
  | { readonly t: 'snap'; readonly index: number; readonly term: number; readonly keep: boolean }
  | { readonly t: 'append'; readonly entries: readonly Entry[] }
  | { readonly t: 'hs'; readonly term: number; readonly vote: NodeId };

export interface SnapRef {
  readonly index: number;
  readonly term: number;
}

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

const KINDS: readonly EntryKind[] = ['normal', 'noop', 'config'];

function encodeRecord(r: DiskRecord): unknown {
  switch (r.t) {
    case 'start':
      return { t: 'start', seq: r.seq, last: r.last, lastTerm: r.lastTerm, snap: r.snap === null ? null : [r.snap.index, r.snap.term], hs: [r.hs.term, r.hs.vote] };
    case 'snap':
      return { t: 'snap', index: r.index, term: r.term, keep: r.keep };
    case 'append':
      return { t: 'append', e: r.entries.map((e) => [e.index, e.term, KINDS.indexOf(e.kind), e.voters === null ? null : [...e.voters], e.data]) };
    case 'hs':
      return { t: 'hs', term: r.term, vote: r.vote };
  }
}

export function encodeRecords(records: readonly DiskRecord[]): Uint8Array {
  return packr.pack({ v: RECORDS_VERSION, r: records.map(encodeRecord) });
}

// ------------------------------------------------------------ decoding: every shape checked

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function uint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`${what} is not a non-negative integer`);
  return v;
}

function voterList(v: unknown, what: string): NodeId[] {
  if (!Array.isArray(v) || v.length > VOTERS_MAX) throw new Error(`${what} is not a list of at most ${VOTERS_MAX} node ids`);
  return v.map((x, i) => {
    const id = uint(x, `${what}[${i}]`);
    if (id === 0) throw new Error(`${what}[${i}] is node id 0`);
    return id;
  });
}

function decodeEntry(v: unknown, i: number): Entry {
  if (!Array.isArray(v) || v.length !== 5) throw new Error(`entry ${i} is not [index, term, kind, voters, data]`);
  const index = uint(v[0], `entry ${i} index`);
  const term = uint(v[1], `entry ${i} term`);
  const kind = KINDS[uint(v[2], `entry ${i} kind`)];
  if (index < 1 || term < 1) throw new Error(`entry ${i} has index ${index} term ${term} (both must be >= 1)`);
  if (kind === undefined) throw new Error(`entry ${i} has an unknown kind ${String(v[2])}`);
  const voters = v[3] === null ? null : voterList(v[3], `entry ${i} voters`);
  const raw = v[4];
  if (raw !== null && !(raw instanceof Uint8Array)) throw new Error(`entry ${i} data is neither bytes nor nil`);
  if (raw !== null && raw.length > ENTRY_BYTES_MAX) throw new Error(`entry ${i} data is ${raw.length} bytes, past ENTRY_BYTES_MAX`);
  if ((kind === 'normal') !== (raw !== null)) throw new Error(`entry ${i} of kind ${kind} ${raw === null ? 'lacks' : 'has'} data`);
  if ((kind === 'config') !== (voters !== null)) throw new Error(`entry ${i} of kind ${kind} ${voters === null ? 'lacks' : 'has'} voters`);
  // A copy: the decoded bytes are a view of the whole segment buffer.
  const data = raw === null ? null : new Uint8Array(raw);
  return { index, term, kind, data, voters };
}

function pair(v: unknown, what: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw new Error(`${what} is not a pair`);
  return [uint(v[0], `${what}[0]`), uint(v[1], `${what}[1]`)];
}

function decodeRecord(v: unknown, i: number): DiskRecord {
  if (!isObj(v)) throw new Error(`record ${i} is not a map`);
  switch (v['t']) {
    case 'start': {
      const snap = v['snap'] === null ? null : pair(v['snap'], 'start.snap');
      const hs = pair(v['hs'], 'start.hs');
      return {
        t: 'start',
        seq: uint(v['seq'], 'start.seq'),
        last: uint(v['last'], 'start.last'),
        lastTerm: uint(v['lastTerm'], 'start.lastTerm'),
        snap: snap === null ? null : { index: snap[0], term: snap[1] },
        hs: { term: hs[0], vote: hs[1] },
      };
    }
    case 'snap':
      if (typeof v['keep'] !== 'boolean') throw new Error('snap.keep is not a boolean');
      return { t: 'snap', index: uint(v['index'], 'snap.index'), term: uint(v['term'], 'snap.term'), keep: v['keep'] };
    case 'append': {
      const e = v['e'];
      if (!Array.isArray(e) || e.length === 0) throw new Error('append.e is not a non-empty list');
      return { t: 'append', entries: e.map(decodeEntry) };
    }
    case 'hs':
      return { t: 'hs', term: uint(v['term'], 'hs.term'), vote: uint(v['vote'], 'hs.vote') };
    default:
      throw new Error(`record ${i} has an unknown type ${JSON.stringify(v['t'])}`);
  }
}

/** The records of a frame payload; throws a sentence (no file name) when the bytes are not version-1 records. */
export function decodeRecords(payload: Uint8Array): DiskRecord[] {
  let v: unknown;
  try {
    v = packr.unpack(payload);
  } catch (e) {
    throw new Error(`the payload is not msgpack (${(e as Error).message})`);
  }
  if (!isObj(v)) throw new Error('the payload is not a map');
  if (v['v'] !== RECORDS_VERSION) throw new Error(`unknown records version ${String(v['v'])}`);
  const r = v['r'];
  if (!Array.isArray(r) || r.length === 0) throw new Error('no records');
  return r.map(decodeRecord);
}
