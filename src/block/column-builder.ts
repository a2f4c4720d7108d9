/**
 * Collects one column's values row by row, straight into the TypedArray the
 * Block stores (strings into an array), so rowsToBlock hands encodeBlock
 * ready columns to copy in one go. 64-bit values given as safe-integer
 * numbers are written as two 32-bit halves, with no bigint made.
 */
import { RowError } from './block-error.js';
import type { CellValue } from './cell-value.js';
import { type ColumnValues, allocValues } from './column-type.js';
import type { ColumnInput } from './encode-block.js';
import { validityByteLength } from './block-layout.js';
import type { SchemaColumn } from './schema.js';

const TWO_32 = 0x1_0000_0000;

export class ColumnBuilder {
  private readonly strings: (string | null)[] | null;
  private readonly values: ColumnValues | null;
  private readonly halves: Int32Array | null;
  private readonly validity: Uint8Array | null;

  constructor(
    readonly column: SchemaColumn,
    rowCount: number,
  ) {
    const t = column.type;
    this.strings = t === 'string' ? new Array<string | null>(rowCount).fill(null) : null;
    this.values = t === 'string' ? null : allocValues(t, rowCount);
    this.halves = t === 'int64' || t === 'uint64' || t === 'datetime64' ? new Int32Array(this.values!.buffer, 0, rowCount * 2) : null;
    this.validity = column.nullable && t !== 'string' ? new Uint8Array(validityByteLength(rowCount)) : null;
  }

  /** True when `v` is a safe integer this column can take without a bigint (the caller range-checks unsigned). */
  takesNumberDirectly(v: unknown): v is number {
    return this.halves !== null && typeof v === 'number' && Number.isSafeInteger(v) && (this.column.type !== 'uint64' || v >= 0);
  }

  /** Stores a safe integer into a 64-bit column as two 32-bit halves. */
  setNumber64(row: number, v: number): void {
    const hi = Math.floor(v / TWO_32);
    this.halves![2 * row] = (v - hi * TWO_32) | 0;
    this.halves![2 * row + 1] = hi;
    this.markPresent(row);
  }

  /** Stores a checked cell value (of the column's type, or null for a nullable column). */
  set(row: number, v: CellValue, rowNumber: number): void {
    if (v === null) {
      if (!this.column.nullable) throw new RowError(rowNumber, this.column.name, 'null in a non-nullable column');
      return;
    }
    if (this.strings !== null) this.strings[row] = v as string;
    else (this.values as unknown as { [row: number]: number | bigint })[row] = typeof v === 'boolean' ? (v ? 1 : 0) : (v as number | bigint);
    this.markPresent(row);
  }

  /** The column for encodeBlock. */
  input(): ColumnInput {
    if (this.strings !== null) return this.strings;
    return this.validity === null ? this.values! : { values: this.values!, validity: this.validity };
  }

  private markPresent(row: number): void {
    if (this.validity !== null) this.validity[row >> 3]! |= 1 << (row & 7);
  }
}
