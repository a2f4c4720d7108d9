/**
 * Decodes Block bytes (layout in block-layout.ts) into TypedArray views, with
 * no copy when the bytes start 8-byte aligned within their ArrayBuffer (a
 * record payload inside an 8-aligned run of records always does). Misaligned
 * bytes are copied once into a fresh buffer and the Block says so (`copied`).
 *
 * Every length and offset is checked before it is used, so hostile bytes
 * give a BlockError, never an out-of-bounds read. Cost: O(columns), plus O(1)
 * per string column; string values are checked as they are read, and
 * verifyBlockValues checks all of them up front when a caller wants that.
 */
import { BlockError } from './block-error.js';
import { Block } from './block.js';
import {
  BLOCK_ALIGN_BYTES,
  BLOCK_BYTES_MAX,
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  BLOCK_ROWS_MAX,
  BLOCK_VERSION_1,
  COL_FLAG_NULLABLE,
  COLUMN_ENTRY_BYTES,
  COLUMN_NAME_BYTES_MAX,
  COLUMNS_MAX,
  OFF_BLOCK_BYTE_LENGTH,
  OFF_BLOCK_COLUMN_COUNT,
  OFF_BLOCK_FLAGS,
  OFF_BLOCK_MAGIC,
  OFF_BLOCK_ROW_COUNT,
  OFF_BLOCK_VERSION,
  OFF_COL_BYTES_LENGTH,
  OFF_COL_BYTES_OFFSET,
  OFF_COL_FLAGS,
  OFF_COL_NAME_LENGTH,
  OFF_COL_NAME_OFFSET,
  OFF_COL_RESERVED,
  OFF_COL_TYPE,
  OFF_COL_VALIDITY_OFFSET,
  OFF_COL_VALUES_LENGTH,
  OFF_COL_VALUES_OFFSET,
  directoryEnd,
  validityByteLength,
} from './block-layout.js';
import { type ColumnType, typeOfCode, valuesByteLength, viewValues } from './column-type.js';
import { ColumnView } from './column-view.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** TypedArrays use the host's byte order; the format is little-endian, so views are only right on a little-endian host. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Decodes a Block. `bytes` must be exactly one block (its byteLength field equals bytes.length). */
export function decodeBlock(bytes: Uint8Array): Block {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('Block views need a little-endian host; this one is big-endian');
  const copied = bytes.byteOffset % BLOCK_ALIGN_BYTES !== 0;
  const own = copied ? new Uint8Array(bytes) : bytes; // not bytes.slice(): on a Buffer that is a view, not a copy
  const dv = new DataView(own.buffer, own.byteOffset, own.byteLength);
  const { columnCount, rowCount } = checkHeader(dv);
  const ctx: DecodeContext = { own, dv, rowCount, sectionsStart: directoryEnd(columnCount) };
  const columns: ColumnView[] = [];
  const names = new Set<string>();
  for (let i = 0; i < columnCount; i++) {
    const column = decodeColumn(ctx, i);
    if (names.has(column.name)) throw new BlockError('bad-column', `column ${i} repeats the name "${column.name}"`);
    names.add(column.name);
    columns.push(column);
  }
  return new Block(rowCount, columns, own, copied);
}

interface DecodeContext {
  own: Uint8Array;
  dv: DataView;
  rowCount: number;
  /** No section may start before the end of the directory. */
  sectionsStart: number;
}

function checkHeader(dv: DataView): { columnCount: number; rowCount: number } {
  if (dv.byteLength < BLOCK_HEADER_BYTES) {
    throw new BlockError('short', `a block needs at least ${BLOCK_HEADER_BYTES} bytes; got ${dv.byteLength}`);
  }
  const magic = dv.getUint32(OFF_BLOCK_MAGIC, true);
  if (magic !== BLOCK_MAGIC) throw new BlockError('bad-magic', `not a block: magic is 0x${magic.toString(16)}, expected 0x${BLOCK_MAGIC.toString(16)} ("NLBK")`);
  const version = dv.getUint8(OFF_BLOCK_VERSION);
  if (version !== BLOCK_VERSION_1) throw new BlockError('bad-version', `block version ${version} is not supported (only ${BLOCK_VERSION_1})`);
  const flags = dv.getUint8(OFF_BLOCK_FLAGS);
  if (flags !== 0) throw new BlockError('bad-flags', `block flags 0x${flags.toString(16)} are reserved and must be 0`);
  const byteLength = dv.getUint32(OFF_BLOCK_BYTE_LENGTH, true);
  if (byteLength > BLOCK_BYTES_MAX) throw new BlockError('too-large', `block claims ${byteLength} bytes; the limit is ${BLOCK_BYTES_MAX}`);
  if (byteLength !== dv.byteLength || byteLength % BLOCK_ALIGN_BYTES !== 0) {
    throw new BlockError('bad-length', `block claims ${byteLength} bytes but ${dv.byteLength} were given (a block is exactly its byteLength, a multiple of 8)`);
  }
  const columnCount = dv.getUint16(OFF_BLOCK_COLUMN_COUNT, true);
  if (columnCount === 0 || columnCount > COLUMNS_MAX) throw new BlockError('too-large', `block has ${columnCount} columns; allowed 1..${COLUMNS_MAX}`);
  const rowCount = dv.getUint32(OFF_BLOCK_ROW_COUNT, true);
  if (rowCount > BLOCK_ROWS_MAX) throw new BlockError('too-large', `block has ${rowCount} rows; the limit is ${BLOCK_ROWS_MAX}`);
  if (directoryEnd(columnCount) > byteLength) {
    throw new BlockError('short', `the directory of ${columnCount} columns needs ${directoryEnd(columnCount)} bytes; the block has ${byteLength}`);
  }
  return { columnCount, rowCount };
}

function decodeColumn(ctx: DecodeContext, index: number): ColumnView {
  const entry = BLOCK_HEADER_BYTES + index * COLUMN_ENTRY_BYTES;
  const u8 = (off: number) => ctx.dv.getUint8(entry + off);
  const u32 = (off: number) => ctx.dv.getUint32(entry + off, true);
  const type = typeOfCode(u8(OFF_COL_TYPE));
  if (type === undefined) throw new BlockError('bad-column', `column ${index} has unknown type code ${u8(OFF_COL_TYPE)}`);
  const flags = u8(OFF_COL_FLAGS);
  if ((flags & ~COL_FLAG_NULLABLE) !== 0 || u32(OFF_COL_RESERVED) !== 0) {
    throw new BlockError('bad-column', `column ${index} has reserved flag bits or a reserved field set`);
  }
  const name = decodeName(ctx, index, ctx.dv.getUint16(entry + OFF_COL_NAME_LENGTH, true), u32(OFF_COL_NAME_OFFSET));
  const nullable = (flags & COL_FLAG_NULLABLE) !== 0;
  const validity = decodeValidity(ctx, name, nullable, u32(OFF_COL_VALIDITY_OFFSET));
  const valuesLength = u32(OFF_COL_VALUES_LENGTH);
  if (valuesLength !== valuesByteLength(type, ctx.rowCount)) {
    throw new BlockError('bad-section', `column "${name}": values take ${valuesLength} bytes; ${ctx.rowCount} rows of ${type} take ${valuesByteLength(type, ctx.rowCount)}`);
  }
  const valuesOffset = checkSection(ctx, name, 'values', u32(OFF_COL_VALUES_OFFSET), valuesLength);
  const bytes = decodeStringBytes(ctx, name, type, u32(OFF_COL_BYTES_OFFSET), u32(OFF_COL_BYTES_LENGTH));
  const count = type === 'string' ? ctx.rowCount + 1 : ctx.rowCount;
  const values = viewValues(type, ctx.own.buffer, ctx.own.byteOffset + valuesOffset, count);
  if (bytes !== null) checkStringEnds(name, values as Uint32Array, bytes.length);
  return new ColumnView(name, type, nullable, ctx.rowCount, values, validity, bytes);
}

function decodeName(ctx: DecodeContext, index: number, length: number, offset: number): string {
  if (length === 0 || length > COLUMN_NAME_BYTES_MAX) {
    throw new BlockError('bad-column', `column ${index} has a name of ${length} bytes; allowed 1..${COLUMN_NAME_BYTES_MAX}`);
  }
  if (offset < ctx.sectionsStart || offset + length > ctx.own.length) {
    throw new BlockError('bad-section', `column ${index}: its name [${offset}, ${offset + length}) lies outside the block's sections`);
  }
  let name: string;
  try {
    name = utf8.decode(ctx.own.subarray(offset, offset + length));
  } catch {
    throw new BlockError('bad-column', `column ${index}: its name is not valid UTF-8`);
  }
  if (!NAME_PATTERN.test(name)) throw new BlockError('bad-column', `column ${index}: the name "${name}" is not [A-Za-z_][A-Za-z0-9_]*`);
  return name;
}

function decodeValidity(ctx: DecodeContext, name: string, nullable: boolean, offset: number): Uint8Array | null {
  if (!nullable) {
    if (offset !== 0) throw new BlockError('bad-column', `column "${name}" is not nullable but has a validity offset`);
    return null;
  }
  const length = validityByteLength(ctx.rowCount);
  const start = checkSection(ctx, name, 'validity', offset, length);
  return ctx.own.subarray(start, start + length);
}

function decodeStringBytes(ctx: DecodeContext, name: string, type: ColumnType, offset: number, length: number): Uint8Array | null {
  if (type !== 'string') {
    if (offset !== 0 || length !== 0) throw new BlockError('bad-column', `column "${name}" is ${type} but has a string bytes section`);
    return null;
  }
  const start = checkSection(ctx, name, 'string bytes', offset, length);
  return ctx.own.subarray(start, start + length);
}

/** Checks a section lies after the directory, inside the block, 8-aligned; returns its offset. */
function checkSection(ctx: DecodeContext, column: string, what: string, offset: number, length: number): number {
  if (offset % BLOCK_ALIGN_BYTES !== 0 || offset < ctx.sectionsStart || offset + length > ctx.own.length) {
    throw new BlockError('bad-section', `column "${column}": its ${what} [${offset}, ${offset + length}) is misaligned or outside the block of ${ctx.own.length} bytes`);
  }
  return offset;
}

function checkStringEnds(name: string, offsets: Uint32Array, bytesLength: number): void {
  const last = offsets[offsets.length - 1]!;
  if (offsets[0] !== 0 || last !== bytesLength) {
    throw new BlockError('bad-value', `column "${name}": string offsets run from ${offsets[0]} to ${last}; expected 0 to ${bytesLength}`);
  }
}
