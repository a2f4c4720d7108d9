/**
 * Column types of a Block: their names (as written in a schema), their wire
 * codes (as written in a Block's column directory), their value widths and
 * the TypedArray that views their values.
 *
 * Fixed-width types store one little-endian value per row. `bool` stores one
 * byte per row (0 = false, 1 = true). `string` stores a u32 offsets array of
 * rowCount + 1 entries plus the UTF-8 bytes. `datetime64` is an i64 of epoch
 * milliseconds.
 */

export const COLUMN_TYPES = [
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float32',
  'float64',
  'bool',
  'string',
  'datetime64',
] as const;

export type ColumnType = (typeof COLUMN_TYPES)[number];

/** A TypedArray that views a column's values (for `string`: its offsets). */
export type ColumnValues =
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** The values array each type is viewed as. */
export interface ColumnValuesOf {
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  float32: Float32Array;
  float64: Float64Array;
  bool: Uint8Array;
  string: Uint32Array;
  datetime64: BigInt64Array;
}

interface TypedArrayConstructorOf<T extends ColumnValues> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  new (length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

interface TypeInfo {
  /** Wire code in the column directory. Never reuse or renumber. */
  code: number;
  /** Bytes per value (for `string`: per offsets entry). */
  width: number;
  array: TypedArrayConstructorOf<ColumnValues>;
}

const TYPE_INFO: Record<ColumnType, TypeInfo> = {
  int8: { code: 1, width: 1, array: Int8Array },
  int16: { code: 2, width: 2, array: Int16Array },
  int32: { code: 3, width: 4, array: Int32Array },
  int64: { code: 4, width: 8, array: BigInt64Array },
  uint8: { code: 5, width: 1, array: Uint8Array },
  uint16: { code: 6, width: 2, array: Uint16Array },
  uint32: { code: 7, width: 4, array: Uint32Array },
  uint64: { code: 8, width: 8, array: BigUint64Array },
  float32: { code: 9, width: 4, array: Float32Array },
  float64: { code: 10, width: 8, array: Float64Array },
  bool: { code: 11, width: 1, array: Uint8Array },
  string: { code: 12, width: 4, array: Uint32Array },
  datetime64: { code: 13, width: 8, array: BigInt64Array },
};

const TYPE_BY_CODE: ReadonlyMap<number, ColumnType> = new Map(COLUMN_TYPES.map((t) => [TYPE_INFO[t].code, t]));
const TYPE_NAMES: ReadonlySet<string> = new Set(COLUMN_TYPES);

export function isColumnType(name: string): name is ColumnType {
  return TYPE_NAMES.has(name);
}

export function typeCode(type: ColumnType): number {
  return TYPE_INFO[type].code;
}

/** The type with this wire code, or undefined for an unknown code. */
export function typeOfCode(code: number): ColumnType | undefined {
  return TYPE_BY_CODE.get(code);
}

/** Bytes per value; for `string`, bytes per offsets entry. */
export function typeWidth(type: ColumnType): number {
  return TYPE_INFO[type].width;
}

/** Bytes of the values (or offsets) section for `rowCount` rows. */
export function valuesByteLength(type: ColumnType, rowCount: number): number {
  return (type === 'string' ? rowCount + 1 : rowCount) * TYPE_INFO[type].width;
}

/** A view of `length` values of `type` over buffer[byteOffset...]; the caller checked bounds and alignment. */
export function viewValues<T extends ColumnType>(
  type: T,
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
): ColumnValuesOf[T] {
  return new TYPE_INFO[type].array(buffer, byteOffset, length) as ColumnValuesOf[T];
}

/** A fresh, zeroed values array of `type` for `length` rows (strings: their offsets). */
export function allocValues<T extends ColumnType>(type: T, length: number): ColumnValuesOf[T] {
  return new TYPE_INFO[type].array(length) as ColumnValuesOf[T];
}

/** True for the types whose values are bigint in JavaScript (64-bit integers and datetime64). */
export function isBigIntType(type: ColumnType): boolean {
  return type === 'int64' || type === 'uint64' || type === 'datetime64';
}
