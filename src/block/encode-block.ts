/**
 * Encodes columns of JavaScript values into a Block (layout in block-layout.ts).
 *
 *   encodeBlock(schema, { host: ['a', 'b'], cpu: new Float64Array([0.5, 1]) })
 *
 * Every schema column must be given, nothing else; all columns the same
 * length (the row count). A column is an array of values (see cell-value.ts
 * for what each type accepts; null or undefined only in a nullable column)
 * or, faster, the TypedArray its type is viewed as (Float64Array for
 * float64, BigInt64Array for int64 and datetime64, Uint8Array of 0/1 for
 * bool, ...), which is copied in one go, or for a nullable column such a
 * TypedArray plus a validity bitmap ({ values, validity }, bit set = present,
 * layout as in block-layout.ts). Bad values throw RowError with the 1-based
 * row and the column name; a missing, extra or wrong-length column throws
 * SchemaError; a malformed { values, validity } throws TypeError.
 */
import {
  BLOCK_BYTES_MAX,
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  BLOCK_ROWS_MAX,
  BLOCK_VERSION_1,
  COL_FLAG_NULLABLE,
  COLUMN_ENTRY_BYTES,
  OFF_BLOCK_BYTE_LENGTH,
  OFF_BLOCK_COLUMN_COUNT,
  OFF_BLOCK_MAGIC,
  OFF_BLOCK_ROW_COUNT,
  OFF_BLOCK_VERSION,
  OFF_COL_BYTES_LENGTH,
  OFF_COL_BYTES_OFFSET,
  OFF_COL_FLAGS,
  OFF_COL_NAME_LENGTH,
  OFF_COL_NAME_OFFSET,
  OFF_COL_TYPE,
  OFF_COL_VALIDITY_OFFSET,
  OFF_COL_VALUES_LENGTH,
  OFF_COL_VALUES_OFFSET,
  blockAlign,
  directoryEnd,
  validityByteLength,
} from './block-layout.js';
import { BlockError, RowError, SchemaError } from './block-error.js';
import { type CellInput, toBigInt64, toBool, toDatetime64, toFloat, toSmallInt, describe } from './cell-value.js';
import { type ColumnType, type ColumnValues, typeCode, valuesByteLength, viewValues } from './column-type.js';
import { type Schema, type SchemaColumn, makeSchema } from './schema.js';

/** A column as its TypedArray plus a validity bitmap (bit set = present); null slots are zeroed on encode. */
export interface ColumnWithValidity {
  values: ColumnValues;
  validity: Uint8Array;
}

/** One column's values: an array of cell values, the TypedArray its type is viewed as, or that plus a validity bitmap. */
export type ColumnInput = ArrayLike<CellInput> | ColumnValues | ColumnWithValidity;

/** Columns by name. */
export type ColumnsInput = Readonly<Record<string, ColumnInput>>;

interface Planned {
  column: SchemaColumn;
  input: ColumnInput;
  name: Uint8Array;
  nameOffset: number;
  validityOffset: number;
  valuesOffset: number;
  valuesLength: number;
  bytesOffset: number;
  bytesLength: number;
  /** String columns: the offsets, measured before layout. */
  stringOffsets: Uint32Array | null;
}

const textEncoder = new TextEncoder();

/** Encodes `columns` (by name) as a Block of `schema`'s columns, in schema order. */
export function encodeBlock(schema: Schema, columns: ColumnsInput): Uint8Array {
  const checked = makeSchema(schema.columns);
  const rowCount = rowCountOf(checked, columns);
  const planned = checked.columns.map((column) => planColumn(column, columns[column.name]!, rowCount));
  const byteLength = layOut(planned, rowCount);
  const block = new Uint8Array(byteLength);
  writeHeader(block, planned.length, rowCount, byteLength);
  planned.forEach((p, i) => writeColumn(block, p, i, rowCount));
  return block;
}

function rowCountOf(schema: Schema, columns: ColumnsInput): number {
  for (const name of Object.keys(columns)) {
    if (!schema.columns.some((c) => c.name === name)) throw new SchemaError(`column "${name}" is not in the schema`);
  }
  let rowCount = -1;
  for (const c of schema.columns) {
    const input = columns[c.name];
    if (input === undefined) throw new SchemaError(`column "${c.name}" of the schema is missing`);
    const length = inputLength(input);
    if (rowCount === -1) rowCount = length;
    if (length !== rowCount) {
      throw new SchemaError(`column "${c.name}" has ${length} rows; column "${schema.columns[0]!.name}" has ${rowCount}`);
    }
    if (isWithValidity(input)) checkValidityInput(c, input, length);
  }
  if (rowCount > BLOCK_ROWS_MAX) throw new BlockError('too-large', `block has ${rowCount} rows; the limit is ${BLOCK_ROWS_MAX}`);
  return rowCount;
}

function isWithValidity(input: ColumnInput): input is ColumnWithValidity {
  return !ArrayBuffer.isView(input) && !Array.isArray(input) && typeof input === 'object' && 'validity' in input;
}

function inputLength(input: ColumnInput): number {
  return isWithValidity(input) ? input.values.length : input.length;
}

function checkValidityInput(c: SchemaColumn, input: ColumnWithValidity, rowCount: number): void {
  if (c.type === 'string') throw new TypeError(`column "${c.name}": a string column takes an array of strings and nulls, not { values, validity }`);
  if (!(input.validity instanceof Uint8Array) || input.validity.length !== validityByteLength(rowCount)) {
    throw new TypeError(`column "${c.name}": the validity bitmap must be a Uint8Array of ${validityByteLength(rowCount)} bytes for ${rowCount} rows`);
  }
  if (!c.nullable) {
    for (let i = 0; i < rowCount; i++) {
      if (!isPresent(input.validity, i)) throw new RowError(i + 1, c.name, 'null in a non-nullable column');
    }
  }
}

function isPresent(validity: Uint8Array, row: number): boolean {
  return (validity[row >> 3]! & (1 << (row & 7))) !== 0;
}

function planColumn(column: SchemaColumn, input: ColumnInput, rowCount: number): Planned {
  const stringOffsets = column.type === 'string' ? measureStrings(column, input as ArrayLike<CellInput>, rowCount) : null;
  return {
    column,
    input,
    name: textEncoder.encode(column.name),
    nameOffset: 0,
    validityOffset: 0,
    valuesOffset: 0,
    valuesLength: valuesByteLength(column.type, rowCount),
    bytesOffset: 0,
    bytesLength: stringOffsets === null ? 0 : stringOffsets[rowCount]!,
    stringOffsets,
  };
}

/** Offsets of each string's UTF-8 bytes; the last entry is the total. */
function measureStrings(column: SchemaColumn, input: ArrayLike<CellInput>, rowCount: number): Uint32Array {
  const offsets = new Uint32Array(rowCount + 1);
  let total = 0;
  for (let i = 0; i < rowCount; i++) {
    const v = input[i];
    if (typeof v === 'string') total += Buffer.byteLength(v, 'utf8');
    else if (v !== null && v !== undefined) throw new RowError(i + 1, column.name, `expected a string, got ${describe(v)}`);
    else if (!column.nullable) throw new RowError(i + 1, column.name, 'null in a non-nullable column');
    if (total > BLOCK_BYTES_MAX) throw new BlockError('too-large', `column "${column.name}" holds more than ${BLOCK_BYTES_MAX} bytes of strings`);
    offsets[i + 1] = total;
  }
  return offsets;
}

/** Assigns every section its offset; returns the block length. */
function layOut(planned: Planned[], rowCount: number): number {
  let pos = directoryEnd(planned.length);
  for (const p of planned) {
    p.nameOffset = pos;
    pos += p.name.length;
  }
  pos = blockAlign(pos);
  for (const p of planned) {
    if (p.column.nullable) {
      p.validityOffset = pos;
      pos = blockAlign(pos + validityByteLength(rowCount));
    }
    p.valuesOffset = pos;
    pos = blockAlign(pos + p.valuesLength);
    if (p.stringOffsets !== null) {
      p.bytesOffset = pos;
      pos = blockAlign(pos + p.bytesLength);
    }
  }
  if (pos > BLOCK_BYTES_MAX) throw new BlockError('too-large', `block would be ${pos} bytes; the limit is ${BLOCK_BYTES_MAX}`);
  return pos;
}

function writeHeader(block: Uint8Array, columnCount: number, rowCount: number, byteLength: number): void {
  const dv = new DataView(block.buffer, block.byteOffset, BLOCK_HEADER_BYTES);
  dv.setUint32(OFF_BLOCK_MAGIC, BLOCK_MAGIC, true);
  dv.setUint8(OFF_BLOCK_VERSION, BLOCK_VERSION_1);
  dv.setUint16(OFF_BLOCK_COLUMN_COUNT, columnCount, true);
  dv.setUint32(OFF_BLOCK_ROW_COUNT, rowCount, true);
  dv.setUint32(OFF_BLOCK_BYTE_LENGTH, byteLength, true);
}

function writeColumn(block: Uint8Array, p: Planned, index: number, rowCount: number): void {
  const dv = new DataView(block.buffer, block.byteOffset + BLOCK_HEADER_BYTES + index * COLUMN_ENTRY_BYTES, COLUMN_ENTRY_BYTES);
  dv.setUint8(OFF_COL_TYPE, typeCode(p.column.type));
  dv.setUint8(OFF_COL_FLAGS, p.column.nullable ? COL_FLAG_NULLABLE : 0);
  dv.setUint16(OFF_COL_NAME_LENGTH, p.name.length, true);
  dv.setUint32(OFF_COL_NAME_OFFSET, p.nameOffset, true);
  dv.setUint32(OFF_COL_VALIDITY_OFFSET, p.validityOffset, true);
  dv.setUint32(OFF_COL_VALUES_OFFSET, p.valuesOffset, true);
  dv.setUint32(OFF_COL_VALUES_LENGTH, p.valuesLength, true);
  dv.setUint32(OFF_COL_BYTES_OFFSET, p.bytesOffset, true);
  dv.setUint32(OFF_COL_BYTES_LENGTH, p.bytesLength, true);
  block.set(p.name, p.nameOffset);
  if (p.column.nullable) writeValidity(block.subarray(p.validityOffset, p.validityOffset + validityByteLength(rowCount)), p.input, rowCount);
  if (p.stringOffsets !== null) writeStrings(block, p, rowCount);
  else writeFixed(block, p, rowCount);
}

function writeValidity(bitmap: Uint8Array, input: ColumnInput, rowCount: number): void {
  if (isWithValidity(input)) {
    for (let i = 0; i < rowCount; i++) if (isPresent(input.validity, i)) bitmap[i >> 3]! |= 1 << (i & 7);
    return;
  }
  for (let i = 0; i < rowCount; i++) {
    const v = input[i];
    if (v !== null && v !== undefined) bitmap[i >> 3]! |= 1 << (i & 7);
  }
}

function writeStrings(block: Uint8Array, p: Planned, rowCount: number): void {
  const offsets = viewValues('string', block.buffer, block.byteOffset + p.valuesOffset, rowCount + 1);
  offsets.set(p.stringOffsets!);
  const buf = Buffer.from(block.buffer, block.byteOffset + p.bytesOffset, p.bytesLength);
  const input = p.input as ArrayLike<CellInput>;
  for (let i = 0; i < rowCount; i++) {
    const v = input[i];
    if (typeof v === 'string' && v.length > 0) buf.write(v, offsets[i]!, 'utf8');
  }
}

function writeFixed(block: Uint8Array, p: Planned, rowCount: number): void {
  const { type, name, nullable } = p.column;
  const view = viewValues(type, block.buffer, block.byteOffset + p.valuesOffset, rowCount);
  const withValidity = isWithValidity(p.input);
  const typed = withValidity ? (p.input as ColumnWithValidity).values : p.input;
  if (isExactTypedArray(typed, view)) {
    view.set(typed as never);
    if (withValidity) zeroNullSlots(view, (p.input as ColumnWithValidity).validity);
    if (type === 'bool') checkBoolBytes(view as Uint8Array, name);
    return;
  }
  if (withValidity) throw new TypeError(`column "${name}": { values, validity } needs values of the exact TypedArray for ${type}`);
  const convert = converterFor(type);
  const input = p.input as ArrayLike<CellInput>;
  const slots = view as unknown as { [row: number]: number | bigint };
  for (let i = 0; i < rowCount; i++) {
    const v = input[i];
    if (v === null || v === undefined) {
      if (!nullable) throw new RowError(i + 1, name, 'null in a non-nullable column');
      continue;
    }
    const stored = convert(v);
    if (typeof stored === 'string') throw new RowError(i + 1, name, stored);
    slots[i] = stored;
  }
}

function zeroNullSlots(view: ColumnValues, validity: Uint8Array): void {
  const zero = typeof view[0] === 'bigint' ? 0n : 0;
  for (let i = 0; i < view.length; i++) if (!isPresent(validity, i)) (view as unknown as { [row: number]: number | bigint })[i] = zero;
}

function isExactTypedArray(input: ColumnInput, view: ColumnValues): boolean {
  return ArrayBuffer.isView(input) && input.constructor === view.constructor;
}

function checkBoolBytes(view: Uint8Array, column: string): void {
  for (let i = 0; i < view.length; i++) {
    if (view[i]! > 1) throw new RowError(i + 1, column, `bool bytes must be 0 or 1, got ${view[i]}`);
  }
}

type Converter = (v: CellInput) => number | bigint | string;

function converterFor(type: ColumnType): Converter {
  switch (type) {
    case 'int64':
    case 'uint64':
      return (v) => toBigInt64(type, v);
    case 'datetime64':
      return toDatetime64;
    case 'float32':
    case 'float64':
      return (v) => toFloat(type, v);
    case 'bool':
      return toBool;
    case 'string':
      throw new Error('unreachable: strings are written by writeStrings');
    default:
      return (v) => toSmallInt(type, v);
  }
}
