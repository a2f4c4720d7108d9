/**
 * The snapshot file of the Raft storage: `snap-<index, 20 digits>.snap`,
 * written whole to a `.tmp` name, fsynced, renamed, directory fsynced, and
 * only then referenced by a log frame (a `snap` record), so a snapshot file
 * that no frame references (a crash between the two) is ignored and removed
 * at open.
 *
 *   off size field (little endian)
 *     0   4  magic u32 = 0x4e4c5253 ("SRLN" in file order)
 *     4   4  bodyLength u32 (the file is at most SNAPSHOT_BYTES_MAX)
 *     8   4  bodyCrc u32: CRC-32 (IEEE) of the body
 *    12   4  headerCrc u32: CRC-32 of bytes [0, 12)
 *    16   .  body: msgpackr { v: 1, index, term, voters: [id, ...], data: bytes }
 *
 * Any mismatch (size, magic, CRC, shape, index differing from the name) is
 * RAFT_DISK_CORRUPT naming the file and offset: a referenced snapshot is
 * never repaired or skipped.
 */
import { Packr } from 'msgpackr';
import { crc32 } from '../record/crc32.js';
import type { NodeId, Snapshot } from '../consensus/types.js';
import { corrupt } from './raft-disk-error.js';
import { VOTERS_MAX } from './raft-disk-limits.js';

export const SNAPSHOT_MAGIC = 0x4e4c5253;
export const SNAPSHOT_HEADER_BYTES = 16;
const SNAPSHOT_VERSION = 1;

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export function snapshotFileName(index: number): string {
  return `snap-${String(index).padStart(20, '0')}.snap`;
}

/** The index in a snapshot file name, or null when the name is not one. */
export function parseSnapshotFileName(name: string): number | null {
  const m = /^snap-(\d{20})\.snap$/.exec(name);
  return m === null ? null : Number(m[1]);
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const body = packr.pack({ v: SNAPSHOT_VERSION, index: s.index, term: s.term, voters: [...s.voters], data: s.data });
  const out = new Uint8Array(SNAPSHOT_HEADER_BYTES + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, SNAPSHOT_MAGIC, true);
  view.setUint32(4, body.length, true);
  view.setUint32(8, crc32(body), true);
  view.setUint32(12, crc32(out, 0, 12), true);
  out.set(body, SNAPSHOT_HEADER_BYTES);
  return out;
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses a snapshot file's bytes; `file` names it in errors. */
export function decodeSnapshot(bytes: Uint8Array, file: string): Snapshot {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) throw corrupt(file, 0, `the file is ${bytes.length} bytes, short of the header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SNAPSHOT_MAGIC) throw corrupt(file, 0, 'no snapshot magic');
  if (view.getUint32(12, true) !== crc32(bytes, 0, 12)) throw corrupt(file, 0, 'the header fails its CRC');
  const length = view.getUint32(4, true);
  if (SNAPSHOT_HEADER_BYTES + length !== bytes.length) throw corrupt(file, 4, `the header says ${length} body bytes, the file has ${bytes.length - SNAPSHOT_HEADER_BYTES}`);
  if (view.getUint32(8, true) !== crc32(bytes, SNAPSHOT_HEADER_BYTES, bytes.length)) throw corrupt(file, SNAPSHOT_HEADER_BYTES, 'the body fails its CRC');
  let v: unknown;
  try {
    v = packr.unpack(bytes.subarray(SNAPSHOT_HEADER_BYTES));
  } catch (e) {
    throw corrupt(file, SNAPSHOT_HEADER_BYTES, `the body is not msgpack (${(e as Error).message})`);
  }
  const o = v as Record<string, unknown>;
  const bad = (what: string) => corrupt(file, SNAPSHOT_HEADER_BYTES, what);
  if (typeof v !== 'object' || v === null || o['v'] !== SNAPSHOT_VERSION) throw bad('the body is not a version-1 snapshot');
  if (!isUint(o['index']) || o['index'] < 1 || !isUint(o['term']) || o['term'] < 1) throw bad('index or term is not a positive integer');
  const voters = o['voters'];
  if (!Array.isArray(voters) || voters.length > VOTERS_MAX || !voters.every((x) => isUint(x) && x > 0)) throw bad('voters is not a list of node ids');
  if (!(o['data'] instanceof Uint8Array)) throw bad('data is not bytes');
  return { index: o['index'], term: o['term'], voters: voters as NodeId[], data: new Uint8Array(o['data']) };
}

