/**
 * JSON rows -> Block. Each row is an object {column: value}; the schema fixes
 * the columns and how each JSON value is read:
 *
 *   int8..uint32   a JSON number, an integer in the type's range
 *   int64, uint64  a JSON number that is a safe integer, or a decimal string
 *                  ("-12", "18446744073709551615") for values past 2^53
 *   float32/64     a JSON number, or "NaN", "Infinity", "-Infinity"
 *   bool           true or false
 *   string         a JSON string
 *   datetime64     epoch ms (an integer number or decimal string), or an
 *                  ISO-8601 string (see iso-time.ts; no zone means UTC)
 *   null / absent  only in a nullable column
 *
 * A field not in the schema is an error unless unknownFields is 'ignore'.
 * The first bad value throws RowError with its row number (rows[0] is
 * firstRowNumber, default 1, or each row's entry in rowNumbers, so a CLI can
 * report line numbers) and column. At most BLOCK_ROWS_MAX rows.
 */
import { BLOCK_ROWS_MAX } from './block-layout.js';
import { BlockError, RowError } from './block-error.js';
import { type CellInput, type CellValue, describe, toBigInt64, toSmallInt } from './cell-value.js';
import { ColumnBuilder } from './column-builder.js';
import { type ColumnInput, encodeBlock } from './encode-block.js';
import { parseIsoTime } from './iso-time.js';
import type { Schema, SchemaColumn } from './schema.js';

export interface RowsToBlockOptions {
  /** The number errors give rows[0] (e.g. its line number in a file). Default 1. */
  firstRowNumber?: number;
  /** The number errors give each row (e.g. line numbers with blank lines skipped); overrides firstRowNumber. */
  rowNumbers?: readonly number[];
  /** A field not in the schema: 'error' (default) or 'ignore'. */
  unknownFields?: 'error' | 'ignore';
}

const DECIMAL_PATTERN = /^-?\d{1,20}$/;
const NON_FINITE: Readonly<Record<string, number>> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** Encodes JSON rows (already parsed) as a Block of `schema`. */
export function rowsToBlock(schema: Schema, rows: readonly unknown[], options: RowsToBlockOptions = {}): Uint8Array {
  if (rows.length > BLOCK_ROWS_MAX) throw new BlockError('too-large', `${rows.length} rows do not fit a block; the limit is ${BLOCK_ROWS_MAX}`);
  if (options.rowNumbers !== undefined && options.rowNumbers.length !== rows.length) {
    throw new RangeError(`rowNumbers has ${options.rowNumbers.length} entries for ${rows.length} rows`);
  }
  const first = options.firstRowNumber ?? 1;
  const numberOf = (i: number): number => options.rowNumbers?.[i] ?? first + i;
  const known = new Set(schema.columns.map((c) => c.name));
  const builders = schema.columns.map((c) => new ColumnBuilder(c, rows.length));
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new RowError(numberOf(i), null, `expected a JSON object, got ${describe(row)}`);
    }
    if (options.unknownFields !== 'ignore') checkKnownFields(row, known, numberOf(i));
    for (const b of builders) {
      const name = b.column.name;
      const v = Object.hasOwn(row, name) ? (row as Record<string, unknown>)[name] : undefined;
      if (b.takesNumberDirectly(v)) b.setNumber64(i, v);
      else b.set(i, jsonToCell(b.column, v, numberOf(i)), numberOf(i));
    }
  }
  const columns = Object.create(null) as Record<string, ColumnInput>; // a column may be named __proto__
  for (const b of builders) columns[b.column.name] = b.input();
  return encodeBlock(schema, columns);
}

function checkKnownFields(row: object, known: ReadonlySet<string>, rowNumber: number): void {
  for (const key of Object.keys(row)) {
    if (!known.has(key)) throw new RowError(rowNumber, key, 'the field is not in the schema');
  }
}

/** The cell value of one JSON value for column `c`; throws RowError. */
export function jsonToCell(c: SchemaColumn, v: unknown, rowNumber: number): CellValue {
  if (v === null || v === undefined) {
    if (c.nullable) return null;
    throw new RowError(rowNumber, c.name, v === null ? 'null in a non-nullable column' : 'the field is missing and the column is not nullable');
  }
  const cell = convert(c, v);
  if (typeof cell === 'object' && cell !== null) throw new RowError(rowNumber, c.name, cell.reason);
  return cell;
}

type Converted = CellValue | { reason: string };

function convert(c: SchemaColumn, v: unknown): Converted {
  switch (c.type) {
    case 'int64':
    case 'uint64':
      return reasonOr(toBigInt64(c.type, decimalToBigInt(v) as CellInput));
    case 'float32':
    case 'float64':
      if (typeof v === 'number') return v;
      if (typeof v === 'string' && Object.hasOwn(NON_FINITE, v)) return NON_FINITE[v]!;
      return { reason: `expected a number for ${c.type}, got ${describe(v)}` };
    case 'bool':
      return typeof v === 'boolean' ? v : { reason: `expected true or false, got ${describe(v)}` };
    case 'string':
      return typeof v === 'string' ? v : { reason: `expected a string, got ${describe(v)}` };
    case 'datetime64':
      return toEpochMs(v);
    default:
      return typeof v === 'number' ? reasonOr(toSmallInt(c.type, v)) : { reason: `expected an integer for ${c.type}, got ${describe(v)}` };
  }
}

/** A decimal string becomes a bigint; anything else passes through for the type check. */
function decimalToBigInt(v: unknown): unknown {
  return typeof v === 'string' && DECIMAL_PATTERN.test(v) ? BigInt(v) : v;
}

function toEpochMs(v: unknown): Converted {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string') {
    if (DECIMAL_PATTERN.test(v)) return reasonOr(toBigInt64('int64', BigInt(v)));
    const ms = parseIsoTime(v);
    if (ms !== null) return BigInt(ms);
  }
  return { reason: `expected epoch ms (an integer) or an ISO-8601 time for datetime64, got ${describe(v)}` };
}

function reasonOr<T extends CellValue>(r: T | string): Converted {
  return typeof r === 'string' ? { reason: r } : r;
}
