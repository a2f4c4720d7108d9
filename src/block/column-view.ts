/**
 * One column of a decoded Block: TypedArray views over the block's bytes and
 * lazy per-value access. Nothing is decoded until asked for: `values` is the
 * raw column (for `string`, its u32 offsets), `validity` the null bitmap,
 * `bytes` a string column's UTF-8 bytes; `get(row)` turns one value into
 * JavaScript (strings are decoded on each call).
 *
 * String checks: the first string read checks the whole UTF-8 section once
 * (one native pass); each read checks its own offsets and that it neither
 * starts nor ends inside a character. So a bad string is a BlockError, never
 * replacement characters.
 */
import { isUtf8 } from 'node:buffer';
import { BlockError } from './block-error.js';
import type { CellValue } from './cell-value.js';
import type { ColumnType, ColumnValuesOf } from './column-type.js';

const TWO_32 = 0x1_0000_0000;

export class ColumnView<T extends ColumnType = ColumnType> {
  /** Lazily made: a Buffer over `bytes` (string columns), 32-bit halves over `values` (64-bit columns). */
  private text: Buffer | null = null;
  private halves: Int32Array | Uint32Array | null = null;

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
    const text = this.text ?? this.checkedText();
    const start = offsets[row]!;
    const end = offsets[row + 1]!;
    if (start > end || end > text.length) {
      throw new BlockError('bad-value', `column "${this.name}" row ${row}: string offsets [${start}, ${end}) are invalid for ${text.length} bytes`);
    }
    if (start < end && (isContinuation(text[start]!) || (end < text.length && isContinuation(text[end]!)))) {
      throw new BlockError('bad-value', `column "${this.name}" row ${row}: the string is not valid UTF-8 (it cuts a character)`);
    }
    return start === end ? '' : text.toString('utf8', start, end);
  }

  /**
   * The value at `row` as a number, without making a bigint: exact for every
   * type except 64-bit values beyond +-2^53, which are rounded. Null reads as 0.
   * The cheap way to read datetime64 (epoch ms) and ordinary int64 counters.
   */
  numberAt(row: number): number {
    this.checkRow(row);
    switch (this.type) {
      case 'int64':
      case 'uint64':
      case 'datetime64': {
        const h = this.halves ?? this.makeHalves();
        return h[2 * row + 1]! * TWO_32 + (h[2 * row]! >>> 0);
      }
      case 'string':
        throw new TypeError(`column "${this.name}" is string, not a number`);
      default:
        return Number(this.values[row]);
    }
  }

  private checkRow(row: number): void {
    if (!(row >= 0 && row < this.length && Number.isInteger(row))) {
      throw new RangeError(`row ${row} is outside column "${this.name}" of ${this.length} rows`);
    }
  }

  private checkedText(): Buffer {
    const bytes = this.bytes!;
    if (!isUtf8(bytes)) throw new BlockError('bad-value', `column "${this.name}": its string bytes are not valid UTF-8`);
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    return this.text;
  }

  private makeHalves(): Int32Array | Uint32Array {
    const v = this.values;
    const Halves = this.type === 'uint64' ? Uint32Array : Int32Array;
    this.halves = new Halves(v.buffer as ArrayBuffer, v.byteOffset, v.length * 2);
    return this.halves;
  }
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}
