/**
 * Block layout, version 1. This comment is the spec; docs/FORMAT.md (section 12)
 * repeats it with a worked example.
 *
 * A Block is a columnar batch of rows: a 16-byte header, a column directory of
 * 32 bytes per column, the column names, then each column's sections. All
 * integers are little-endian. Every offset is relative to the block start.
 * Every section starts at a multiple of 8 and is zero-padded to a multiple of
 * 8, so the block length is a multiple of 8, and a block at an 8-aligned
 * address can be read through TypedArray views with no copy.
 *
 * Header:
 *   off size field
 *     0   4  magic = "NLBK" (4e 4c 42 4b)
 *     4   1  version u8 = 1
 *     5   1  flags u8 = 0 (reserved)
 *     6   2  columnCount u16 (1..COLUMNS_MAX)
 *     8   4  rowCount u32 (0..BLOCK_ROWS_MAX)
 *    12   4  byteLength u32: the whole block, a multiple of 8
 *
 * Column directory entry i, at 16 + 32 * i:
 *     0   1  type u8 (wire code, see column-type.ts)
 *     1   1  flags u8: bit 0 nullable; other bits zero
 *     2   2  nameLength u16 (1..COLUMN_NAME_BYTES_MAX), UTF-8 bytes
 *                matching [A-Za-z_][A-Za-z0-9_]*, unique in the block
 *     4   4  nameOffset u32
 *     8   4  validityOffset u32: the null bitmap; 0 when not nullable
 *    12   4  valuesOffset u32: fixed-width values, or string offsets
 *    16   4  valuesLength u32 = rowCount * width (strings: (rowCount + 1) * 4)
 *    20   4  bytesOffset u32: string UTF-8 bytes; 0 for other types
 *    24   4  bytesLength u32: string UTF-8 bytes; 0 for other types
 *    28   4  reserved u32 = 0
 *
 * After the directory (at 16 + 32 * columnCount): the names, back to back, in
 * directory order, zero-padded to 8. Then, for each column in directory order:
 * its validity bitmap (nullable columns only), its values, its string bytes
 * (string columns only), each zero-padded to 8.
 *
 * Validity bitmap: ceil(rowCount / 8) bytes; row r is present (not null) when
 * bit (r & 7) of byte (r >> 3) is 1. A null row's value slot is zero (strings:
 * an empty string), so the values array never holds garbage.
 *
 * Strings: offsets u32[rowCount + 1] with offsets[0] = 0, non-decreasing,
 * offsets[rowCount] = bytesLength; row r is bytes[offsets[r], offsets[r+1]).
 *
 * Bool: one byte per row, 0 = false, 1 = true.
 *
 * A reader checks, before it makes any view: magic, version, flags, the
 * bounds below, byteLength equal to the bytes given, each column's type code,
 * flags and reserved field, that every section lies inside the block after
 * the directory, starts 8-aligned and has exactly the length its type and
 * rowCount imply, that names are valid and unique, and that a string
 * column's first and last offsets are 0 and bytesLength. A string value's own
 * offsets are checked when it is read. Writers never overlap sections;
 * readers need not check that (an overlap cannot make a read go out of bounds).
 * Views use the host byte order, so readers refuse big-endian hosts.
 */

/** "NLBK" read as a little-endian u32. */
export const BLOCK_MAGIC = 0x4b424c4e;
export const BLOCK_VERSION_1 = 1;

export const BLOCK_HEADER_BYTES = 16;
export const OFF_BLOCK_MAGIC = 0;
export const OFF_BLOCK_VERSION = 4;
export const OFF_BLOCK_FLAGS = 5;
export const OFF_BLOCK_COLUMN_COUNT = 6;
export const OFF_BLOCK_ROW_COUNT = 8;
export const OFF_BLOCK_BYTE_LENGTH = 12;

export const COLUMN_ENTRY_BYTES = 32;
export const OFF_COL_TYPE = 0;
export const OFF_COL_FLAGS = 1;
export const OFF_COL_NAME_LENGTH = 2;
export const OFF_COL_NAME_OFFSET = 4;
export const OFF_COL_VALIDITY_OFFSET = 8;
export const OFF_COL_VALUES_OFFSET = 12;
export const OFF_COL_VALUES_LENGTH = 16;
export const OFF_COL_BYTES_OFFSET = 20;
export const OFF_COL_BYTES_LENGTH = 24;
export const OFF_COL_RESERVED = 28;

export const COL_FLAG_NULLABLE = 0b0000_0001;

/** Every section starts at, and is padded to, a multiple of this. */
export const BLOCK_ALIGN_BYTES = 8;

/** Bounds. */
export const COLUMNS_MAX = 1024;
export const COLUMN_NAME_BYTES_MAX = 255;
export const BLOCK_ROWS_MAX = 16 * 1024 * 1024;
/** The record format's payload limit (256 MiB); a node's configured record limit is lower. */
export const BLOCK_BYTES_MAX = 256 * 1024 * 1024;

export function blockAlign(n: number): number {
  return Math.ceil(n / BLOCK_ALIGN_BYTES) * BLOCK_ALIGN_BYTES;
}

/** First byte after the column directory: where the names start. */
export function directoryEnd(columnCount: number): number {
  return BLOCK_HEADER_BYTES + COLUMN_ENTRY_BYTES * columnCount;
}

export function validityByteLength(rowCount: number): number {
  return Math.ceil(rowCount / 8);
}
