/**
 * The recovery checkpoint of a shard: file `checkpoint` in the shard folder,
 * replaced atomically (written to checkpoint.tmp, fsync'd, renamed, folder
 * fsync'd). It records what is known durable, so that recovery after a crash
 * reads this file, the active segment's index, and only the active
 * segment's bytes after activeBytes (plus any segment created after it).
 * It is written after an fsync of the log and index, on roll, on retention,
 * by tick() at most every CHECKPOINT_INTERVAL_MS, and on close; with
 * background fsync (ShardStoreOptions.syncInBackground) a roll's checkpoint is
 * written by its seal job (seal-job.ts) once the old segment is durable, and
 * tick() writes none.
 *
 * Layout (little-endian; times are epoch ms, TIME_NONE when there is no record):
 *
 *   off size field
 *     0   4  magic u32 = 0x4B434C4E ("NLCK")
 *     4   2  version u16 = 1
 *     6   2  reserved u16 = 0
 *     8   4  totalLength u32         bytes of the whole file
 *    12   4  crc u32                 CRC-32 of bytes [16, totalLength)
 *    16   8  startSeq u64            lowest retained seq
 *    24   8  activeBaseSeq u64       the active segment
 *    32   8  activeBytes u64         durable length of the active segment
 *    40   8  activeNextSeq u64       seq of the record at activeBytes
 *    48   8  activeFirstAppendTime i64
 *    56   8  activeAppendTimeMax i64 (within the active segment, up to activeBytes)
 *    64   8  activeEventTimeMax i64  (within the active segment, up to activeBytes)
 *    72   4  activeIndexEntries u32  index entries covering [0, activeBytes)
 *    76   4  sealedCount u32
 *    80   4  producerCount u32
 *    84   4  reserved u32 = 0
 *    88   8  lastAppendTime i64      shard-wide clamp: append time never goes below it
 *    96      sealedCount sealed segments, 56 bytes each:
 *              baseSeq u64, endSeq u64 (one past the last seq), bytes u64,
 *              firstAppendTime i64, appendTimeMax i64, eventTimeMax i64,
 *              indexEntries u32, reserved u32 = 0
 *      then  producerCount producers (least recently used first), each:
 *              producerId u64, batchCount u32, reserved u32 = 0, then
 *              batchCount batches of 24 bytes: producerSeqFirst u32,
 *              producerSeqLast u32, seqFirst u64, appendTime i64
 */
import { crc32 } from '../record/crc32.js';
import { dataViewOf, getI64, getU64, setI64, setU64 } from '../record/record.js';
import type { ProducerBatch } from './producer-state.js';

export const CHECKPOINT_MAGIC = 0x4b434c4e;
export const CHECKPOINT_VERSION = 1;
const HEADER_BYTES = 96;
const SEALED_BYTES = 56;
const PRODUCER_HEAD_BYTES = 16;
const BATCH_BYTES = 24;
const CRC_START = 16;
/** "No record yet" in time fields. */
export const TIME_NONE = Number.MIN_SAFE_INTEGER;

/** What the engine knows about one segment without reading it. */
export interface SegmentMeta {
  baseSeq: number;
  /** One past the last seq (== baseSeq when empty). */
  endSeq: number;
  bytes: number;
  firstAppendTime: number;
  appendTimeMax: number;
  eventTimeMax: number;
  indexEntries: number;
}

export interface Checkpoint {
  startSeq: number;
  active: SegmentMeta;
  sealed: SegmentMeta[];
  lastAppendTime: number;
  producers: Array<[number, ProducerBatch[]]>;
}

export function encodeCheckpoint(cp: Checkpoint): Uint8Array {
  let length = HEADER_BYTES + cp.sealed.length * SEALED_BYTES;
  for (const [, batches] of cp.producers) length += PRODUCER_HEAD_BYTES + batches.length * BATCH_BYTES;
  const bytes = new Uint8Array(length);
  const dv = dataViewOf(bytes);
  dv.setUint32(0, CHECKPOINT_MAGIC, true);
  dv.setUint16(4, CHECKPOINT_VERSION, true);
  dv.setUint32(8, length, true);
  setU64(dv, 16, cp.startSeq);
  setU64(dv, 24, cp.active.baseSeq);
  setU64(dv, 32, cp.active.bytes);
  setU64(dv, 40, cp.active.endSeq);
  setI64(dv, 48, cp.active.firstAppendTime);
  setI64(dv, 56, cp.active.appendTimeMax);
  setI64(dv, 64, cp.active.eventTimeMax);
  dv.setUint32(72, cp.active.indexEntries, true);
  dv.setUint32(76, cp.sealed.length, true);
  dv.setUint32(80, cp.producers.length, true);
  setI64(dv, 88, cp.lastAppendTime);
  let o = HEADER_BYTES;
  for (const s of cp.sealed) {
    setU64(dv, o, s.baseSeq);
    setU64(dv, o + 8, s.endSeq);
    setU64(dv, o + 16, s.bytes);
    setI64(dv, o + 24, s.firstAppendTime);
    setI64(dv, o + 32, s.appendTimeMax);
    setI64(dv, o + 40, s.eventTimeMax);
    dv.setUint32(o + 48, s.indexEntries, true);
    o += SEALED_BYTES;
  }
  for (const [id, batches] of cp.producers) {
    setU64(dv, o, id);
    dv.setUint32(o + 8, batches.length, true);
    o += PRODUCER_HEAD_BYTES;
    for (const b of batches) {
      dv.setUint32(o, b.producerSeqFirst, true);
      dv.setUint32(o + 4, b.producerSeqLast, true);
      setU64(dv, o + 8, b.seqFirst);
      setI64(dv, o + 16, b.appendTime);
      o += BATCH_BYTES;
    }
  }
  dv.setUint32(12, crc32(bytes, CRC_START, length), true);
  return bytes;
}

/** Decodes a checkpoint; throws Error naming the problem when it is damaged. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const dv = dataViewOf(bytes);
  if (bytes.length < HEADER_BYTES) throw new Error(`checkpoint is ${bytes.length} bytes, shorter than its ${HEADER_BYTES}-byte header`);
  if (dv.getUint32(0, true) !== CHECKPOINT_MAGIC) throw new Error('checkpoint has a bad magic number');
  if (dv.getUint16(4, true) !== CHECKPOINT_VERSION) throw new Error(`checkpoint version ${dv.getUint16(4, true)} is not supported`);
  if (dv.getUint16(6, true) !== 0) throw new Error('checkpoint reserved bytes are not zero');
  const length = dv.getUint32(8, true);
  if (length !== bytes.length) throw new Error(`checkpoint says ${length} bytes but the file has ${bytes.length}`);
  if (dv.getUint32(12, true) !== crc32(bytes, CRC_START, length)) throw new Error('checkpoint fails its CRC');
  const sealedCount = dv.getUint32(76, true);
  const producerCount = dv.getUint32(80, true);
  const active: SegmentMeta = {
    baseSeq: getU64(dv, 24),
    bytes: getU64(dv, 32),
    endSeq: getU64(dv, 40),
    firstAppendTime: getI64(dv, 48),
    appendTimeMax: getI64(dv, 56),
    eventTimeMax: getI64(dv, 64),
    indexEntries: dv.getUint32(72, true),
  };
  let o = HEADER_BYTES;
  const need = (n: number): void => {
    if (o + n > length) throw new Error('checkpoint is cut short');
  };
  const sealed: SegmentMeta[] = [];
  for (let i = 0; i < sealedCount; i++) {
    need(SEALED_BYTES);
    sealed.push({
      baseSeq: getU64(dv, o),
      endSeq: getU64(dv, o + 8),
      bytes: getU64(dv, o + 16),
      firstAppendTime: getI64(dv, o + 24),
      appendTimeMax: getI64(dv, o + 32),
      eventTimeMax: getI64(dv, o + 40),
      indexEntries: dv.getUint32(o + 48, true),
    });
    o += SEALED_BYTES;
  }
  const producers: Array<[number, ProducerBatch[]]> = [];
  for (let i = 0; i < producerCount; i++) {
    need(PRODUCER_HEAD_BYTES);
    const id = getU64(dv, o);
    const count = dv.getUint32(o + 8, true);
    o += PRODUCER_HEAD_BYTES;
    const batches: ProducerBatch[] = [];
    for (let j = 0; j < count; j++) {
      need(BATCH_BYTES);
      batches.push({
        producerSeqFirst: dv.getUint32(o, true),
        producerSeqLast: dv.getUint32(o + 4, true),
        seqFirst: getU64(dv, o + 8),
        appendTime: getI64(dv, o + 16),
      });
      o += BATCH_BYTES;
    }
    producers.push([id, batches]);
  }
  if (o !== length) throw new Error(`checkpoint has ${length - o} unexpected trailing bytes`);
  checkConsistent(active, sealed, getU64(dv, 16));
  return { startSeq: getU64(dv, 16), active, sealed, lastAppendTime: getI64(dv, 88), producers };
}

function checkConsistent(active: SegmentMeta, sealed: SegmentMeta[], startSeq: number): void {
  let expect = sealed.length > 0 ? sealed[0]!.baseSeq : active.baseSeq;
  if (startSeq !== expect) throw new Error(`checkpoint startSeq ${startSeq} is not its first segment's base ${expect}`);
  for (const s of sealed) {
    if (s.baseSeq !== expect || s.endSeq < s.baseSeq) throw new Error(`checkpoint segment ${s.baseSeq} does not continue at ${expect}`);
    expect = s.endSeq;
  }
  if (active.baseSeq !== expect || active.endSeq < active.baseSeq) {
    throw new Error(`checkpoint active segment ${active.baseSeq} does not continue at ${expect}`);
  }
}
