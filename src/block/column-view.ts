/**
 * One column of a decoded Block: TypedArray views over the block's bytes and
 * lazy per-value access. Nothing is decoded until asked for: `values` is the
 * raw column (for `string`, its u32 offsets), `validity` the null bitmap,
 * `bytes` a string column's UTF-8 bytes; `get(row)` turns one value into
 * JavaScript (strings are decoded on each call).
 */
import { BlockError } from './block-error.js';
import type { CellValue } from './cell-value.js';
import type { ColumnType, ColumnValuesOf } from './column-type.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Strings up to this many bytes that are all ASCII skip TextDecoder (cheaper for short values). */
const ASCII_FAST_PATH_BYTES_MAX = 64;

export class ColumnView<T extends ColumnType = ColumnType> {
  constructor(
    readonly name: string,
    readonly type: T,
    readonly nullable: boolean,
    /** Rows in the column (the block's rowCount). */
    readonly length: number,
    /** The values, a view over the block bytes; for `string` the rowCount + 1 offsets. Null rows hold 0. */
    readonly values: ColumnValuesOf[T],
    /** Null bitmap (bit set = present), or null when the column is not nullable. */
    readonly validity: Uint8Array | null,
    /** A string column's UTF-8 bytes; null for other types. */
    readonly bytes: Uint8Array | null,
  ) {}

  isNull(row: number): boolean {
    this.checkRow(row);
    return this.validity !== null && (this.validity[row >> 3]! & (1 << (row & 7))) === 0;
  }

  /**
   * The value at `row` as JavaScript: number (8- to 32-bit ints, floats),
   * bigint (int64, uint64, datetime64), boolean, string, or null.
   */
  get(row: number): CellValue {
    if (this.isNull(row)) return null;
    switch (this.type) {
      case 'string':
        return this.stringAt(row);
      case 'bool':
        return this.values[row] !== 0;
      default:
        return this.values[row]!;
    }
  }

  /** A string column's value at `row` (an empty string for null), decoded now; throws BlockError on bad offsets or UTF-8. */
  stringAt(row: number): string {
    this.checkRow(row);
    if (this.type !== 'string') throw new TypeError(`column "${this.name}" is ${this.type}, not string`);
    const offsets = this.values as Uint32Array;
    const bytes = this.bytes!;
    const start = offsets[row]!;
    const end = offsets[row + 1]!;
    if (start > end || end > bytes.length) {
      throw new BlockError('bad-value', `column "${this.name}" row ${row}: string offsets [${start}, ${end}) are invalid for ${bytes.length} bytes`);
    }
    return decodeUtf8(bytes, start, end, this.name, row);
  }

  private checkRow(row: number): void {
    if (!(row >= 0 && row < this.length && Number.isInteger(row))) {
      throw new RangeError(`row ${row} is outside column "${this.name}" of ${this.length} rows`);
    }
  }
}

function decodeUtf8(bytes: Uint8Array, start: number, end: number, column: string, row: number): string {
  if (end - start <= ASCII_FAST_PATH_BYTES_MAX) {
    let s = '';
    let i = start;
    for (; i < end; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) break;
      s += String.fromCharCode(b);
    }
    if (i === end) return s;
  }
  try {
    return utf8.decode(bytes.subarray(start, end));
  } catch {
    throw new BlockError('bad-value', `column "${column}" row ${row}: the string is not valid UTF-8`);
  }
}
