/**
 * Record layout, version 1. This comment is the spec; docs/FORMAT.md repeats
 * it with a worked hex example.
 *
 * A record is an 80-byte header, then the key, the headers, zero padding to an
 * 8-byte boundary, the payload, and zero padding to an 8-byte boundary. All
 * integers are little-endian. Because every record's length is a multiple of
 * 8 and payloads start 8-aligned inside the record, a reader that holds a run
 * of records at an 8-aligned address can view a columnar payload (a Block)
 * with TypedArrays and no copy.
 *
 *   off size field            written by  covered by
 *   --- ---- ---------------- ----------  ----------
 *     0   4  length u32       producer    (checked: must equal the sum below)
 *     4   4  crc u32          producer    -  CRC-32 of bytes [32, length)
 *     8   8  seq u64          node        serverCrc
 *    16   8  appendTime i64   node        serverCrc   (epoch ms)
 *    24   4  epoch u32        node        serverCrc   (sequencer epoch)
 *    28   4  serverCrc u32    node        -  CRC-32 of bytes [8, 28)
 *   ---- CRC_START = 32: everything from here on is covered by crc ----
 *    32   1  magic u8 = 1     producer    crc  (record format version)
 *    33   1  attributes u8    producer    crc  bits 0-2 codec, bit 3 tombstone,
 *                                              bit 4 event time = append time,
 *                                              bits 5-7 zero
 *    34   2  schemaVersion u16 producer   crc  (0 = no schema)
 *    36   4  rowCount u32     producer    crc  (rows in a Block payload, else 1)
 *    40   8  eventTimeMin i64 producer    crc  (epoch ms)
 *    48   8  eventTimeMax i64 producer    crc  (epoch ms)
 *    56   8  producerId u64   producer    crc  (0 = not idempotent)
 *    64   4  producerSeq u32  producer    crc  (per producer and shard)
 *    68   2  keyLength u16    producer    crc
 *    70   2  reserved u16 = 0 producer    crc
 *    72   4  headersLength u32 producer   crc
 *    76   4  payloadLength u32 producer   crc
 *    80   .  key, headers, pad to 8, payload, pad to 8 (pad bytes are zero)
 *
 * length == align8(align8(80 + keyLength + headersLength) + payloadLength).
 *
 * Headers are a run of entries: nameLength u16, name (UTF-8), valueLength u32,
 * value bytes; they fill exactly headersLength bytes.
 *
 * The node patches seq, appendTime and epoch in place and writes serverCrc
 * over them; it never recomputes the record crc (zero serde). The producer
 * leaves bytes [8, 32) zero.
 */

export const RECORD_MAGIC_V1 = 1;

export const OFF_LENGTH = 0;
export const OFF_CRC = 4;
export const OFF_SEQ = 8;
export const OFF_APPEND_TIME = 16;
export const OFF_EPOCH = 24;
export const OFF_SERVER_CRC = 28;
/** First byte covered by the record crc. */
export const CRC_START = 32;
/** Server-assigned bytes covered by serverCrc: [SERVER_CRC_START, OFF_SERVER_CRC). */
export const SERVER_CRC_START = OFF_SEQ;
export const OFF_MAGIC = 32;
export const OFF_ATTRIBUTES = 33;
export const OFF_SCHEMA_VERSION = 34;
export const OFF_ROW_COUNT = 36;
export const OFF_EVENT_TIME_MIN = 40;
export const OFF_EVENT_TIME_MAX = 48;
export const OFF_PRODUCER_ID = 56;
export const OFF_PRODUCER_SEQ = 64;
export const OFF_KEY_LENGTH = 68;
export const OFF_RESERVED = 70;
export const OFF_HEADERS_LENGTH = 72;
export const OFF_PAYLOAD_LENGTH = 76;
export const RECORD_HEADER_BYTES = 80;
/** Every record length and every payload start is a multiple of this. */
export const RECORD_ALIGN_BYTES = 8;

export const ATTR_CODEC_MASK = 0b0000_0111;
export const ATTR_TOMBSTONE = 0b0000_1000;
export const ATTR_EVENT_TIME_IS_APPEND_TIME = 0b0001_0000;
export const ATTR_RESERVED_MASK = 0b1110_0000;

/** Payload codecs (attributes bits 0-2). The node never looks inside either. */
export const CODEC_RAW = 0;
export const CODEC_BLOCK = 1;
export const CODEC_MAX = CODEC_BLOCK;

/** Hard format bounds. Nodes configure a lower record size limit. */
export const KEY_BYTES_MAX = 0xffff;
export const HEADERS_BYTES_MAX = 1024 * 1024;
/** Largest record the format allows (the node's configured maximum must not exceed it). */
export const RECORD_BYTES_LIMIT = 256 * 1024 * 1024;
/** Default configured maximum record size. */
export const RECORD_BYTES_MAX_DEFAULT = 8 * 1024 * 1024;

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Byte offset of the payload inside a record, from its key and headers lengths. */
export function payloadOffset(keyLength: number, headersLength: number): number {
  return align8(RECORD_HEADER_BYTES + keyLength + headersLength);
}

/** Total record length from its key, headers and payload lengths. */
export function recordLengthFor(keyLength: number, headersLength: number, payloadLength: number): number {
  return align8(payloadOffset(keyLength, headersLength) + payloadLength);
}
