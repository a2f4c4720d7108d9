/**
 * MetaStore snapshots (<data-dir>/@meta/snapshot): the whole state as of a
 * log index. Layout: magic "NLMSNAP1" (8 bytes), payloadLength u32 LE,
 * payloadCrc u32 LE, then the msgpackr payload { lastIndex, streams,
 * placements, members, clusterId, dataDirs } (members, clusterId, dataDirs: absent in
 * snapshots written before clusters existed, read as none; placements: one ShardPlacement per shard; absent in
 * snapshots written before placements existed, read as initial placements).
 * Written atomically (temp, fsync, rename, fsync dir), so a damaged snapshot
 * is corruption (META_CORRUPT), never a torn write.
 */
import { readFile } from 'node:fs/promises';
import { Packr } from 'msgpackr';
import { crc32 } from '../record/crc32.js';
import { SNAPSHOT_BYTES_MAX } from './bounds.js';
import { replaceFileAtomically } from './durable-fs.js';
import { isClusterCommand, isClusterId, isMetaCommand, isShardPlacement } from './command-codec.js';
import { MetaError, type ShardPlacement, type StreamConfig } from './types.js';

export interface Snapshot {
  /** Index of the last command the snapshot includes (0: none). */
  lastIndex: number;
  streams: StreamConfig[];
  /** Every shard's sequencer, epoch and segments (placement.ts); undefined in older snapshots. */
  placements?: ShardPlacement[];
  /** Cluster members by node id (addMember); undefined in older snapshots (read as none). */
  members?: { node: number; address: string }[];
  /** The cluster id (initCluster); undefined in older snapshots, null while not set. */
  clusterId?: string | null;
  /** Node id -> data dir id (bindDataDir); undefined in older snapshots (read as none). */
  dataDirs?: { node: number; dataDirId: string }[];
}

const MAGIC = Buffer.from('NLMSNAP1', 'latin1');
const HEADER_BYTES = 16;
const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const payload = packr.pack(snapshot);
  const out = Buffer.alloc(HEADER_BYTES + payload.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(payload.length, 8);
  out.writeUInt32LE(crc32(payload), 12);
  out.set(payload, HEADER_BYTES);
  return out;
}

function corrupt(path: string, what: string): MetaError {
  return new MetaError('META_CORRUPT', `MetaStore snapshot ${path} is corrupt: ${what}.`);
}

function isSnapshot(v: unknown): v is Snapshot {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  if (!Number.isSafeInteger(s.lastIndex) || (s.lastIndex as number) < 0 || !Array.isArray(s.streams)) return false;
  if (s.placements !== undefined && (!Array.isArray(s.placements) || !s.placements.every(isShardPlacement))) return false;
  if (s.members !== undefined && (!Array.isArray(s.members) || !s.members.every((m) => isClusterCommand({ op: 'addMember', ...(m as object) })))) return false;
  if (s.clusterId !== undefined && s.clusterId !== null && !isClusterId(s.clusterId)) return false;
  if (s.dataDirs !== undefined && (!Array.isArray(s.dataDirs) || !s.dataDirs.every((d) => isClusterCommand({ op: 'bindDataDir', ...(d as object) })))) return false;
  return s.streams.every((stream) => isMetaCommand({ op: 'createStream', stream }));
}

export function decodeSnapshot(bytes: Uint8Array, path: string): Snapshot {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) throw corrupt(path, 'bad magic');
  const length = buf.readUInt32LE(8);
  if (HEADER_BYTES + length !== buf.length) throw corrupt(path, `length ${length} does not match the file size`);
  const payload = buf.subarray(HEADER_BYTES);
  if (buf.readUInt32LE(12) !== crc32(payload)) throw corrupt(path, 'CRC mismatch');
  let value: unknown;
  try {
    value = packr.unpack(payload);
  } catch {
    throw corrupt(path, 'payload cannot be decoded');
  }
  if (!isSnapshot(value)) throw corrupt(path, 'payload is not a snapshot');
  return value;
}

/** The snapshot at `path`, or null when there is none. */
export async function readSnapshot(path: string): Promise<Snapshot | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if (bytes.length > SNAPSHOT_BYTES_MAX) throw corrupt(path, `larger than ${SNAPSHOT_BYTES_MAX} bytes`);
  return decodeSnapshot(bytes, path);
}

export async function writeSnapshot(path: string, snapshot: Snapshot): Promise<void> {
  await replaceFileAtomically(path, encodeSnapshot(snapshot));
}
