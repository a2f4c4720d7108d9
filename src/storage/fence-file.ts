/**
 * The fence epoch of a shard: file `fence` in the shard folder (absent: 0).
 * A replicated shard's recovery raises it on every replica
 * (ShardStore.fence) so that a deposed sequencer, whose epoch is lower, can
 * never get another record stored there: appendStamped() of a lower epoch,
 * and append() by a store whose epoch is lower, fail FENCED. It must
 * survive a crash, so it is its own small file replaced atomically and
 * durably (written to `fence.tmp`, fsync'd, renamed, folder fsync'd) before
 * fence() returns, and is never derived from the log.
 *
 * Layout (16 bytes, little-endian):
 *
 *   off size field
 *     0   4  magic u32 = 0x45434E46 ("FNCE")
 *     4   2  version u16 = 1
 *     6   2  reserved u16 = 0
 *     8   4  fenceEpoch u32
 *    12   4  crc u32  CRC-32 of bytes [0, 12)
 *
 * A file that is present but fails these checks stops the open (CORRUPT):
 * taking it as 0 would let a fenced sequencer write again.
 */
import { join } from 'node:path';
import { crc32 } from '../record/crc32.js';
import { type FileLayer, readWholeFile, writeFileAtomic } from './file-layer.js';
import { StorageError } from './types.js';

export const FENCE_FILE = 'fence';
export const FENCE_MAGIC = 0x45434e46;
export const FENCE_VERSION = 1;
export const FENCE_FILE_BYTES = 16;
/** Epochs are u32 in the record header, so the fence is one too. */
export const EPOCH_MAX = 0xffffffff;

export function encodeFence(epoch: number): Uint8Array {
  const bytes = new Uint8Array(FENCE_FILE_BYTES);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, FENCE_MAGIC, true);
  dv.setUint16(4, FENCE_VERSION, true);
  dv.setUint32(8, epoch >>> 0, true);
  dv.setUint32(12, crc32(bytes, 0, 12), true);
  return bytes;
}

/** The fence epoch stored in dir (0 when there is no fence file); CORRUPT when the file is damaged. */
export function readFence(layer: FileLayer, dir: string): number {
  const path = join(dir, FENCE_FILE);
  const bytes = readWholeFile(layer, path);
  if (bytes === null) return 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ok =
    bytes.length === FENCE_FILE_BYTES &&
    dv.getUint32(0, true) === FENCE_MAGIC &&
    dv.getUint16(4, true) === FENCE_VERSION &&
    dv.getUint16(6, true) === 0 &&
    dv.getUint32(12, true) === crc32(bytes, 0, 12);
  if (!ok) throw new StorageError('CORRUPT', `fence file ${path} is damaged (${bytes.length} bytes, bad magic, version or CRC); the shard cannot know which epochs are fenced`);
  return dv.getUint32(8, true);
}

/** Replaces the fence file atomically and durably. */
export function writeFence(layer: FileLayer, dir: string, epoch: number): void {
  writeFileAtomic(layer, dir, FENCE_FILE, encodeFence(epoch));
}
