/**
 * Stream schemas: an ordered list of named, typed columns, written as text.
 *
 *   schema  := column ("," column)*
 *   column  := name type
 *   type    := base | "nullable(" base ")"
 *   base    := int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64
 *            | float32 | float64 | bool | string | datetime64 | datetime64(3)
 *   name    := [A-Za-z_][A-Za-z0-9_]*   (at most COLUMN_NAME_BYTES_MAX bytes)
 *
 * Example: 'host string, cpu float64, n nullable(int64), ok bool, _tp_time datetime64'.
 * Whitespace around tokens is free; type names and `nullable` match in any
 * case (ClickHouse's `Nullable(Int64)` reads too); `datetime64(3)` is the same
 * type as `datetime64` (milliseconds, the only precision). Column names are
 * case-sensitive and unique. schemaToString writes the canonical form: one
 * space between name and type, ", " between columns, types in lower case.
 */
import { COLUMN_NAME_BYTES_MAX, COLUMNS_MAX } from './block-layout.js';
import { SchemaError } from './block-error.js';
import { type ColumnType, isColumnType } from './column-type.js';

export interface SchemaColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
}

export interface Schema {
  readonly columns: readonly SchemaColumn[];
}

/** Longest schema text parseSchema accepts. */
export const SCHEMA_TEXT_BYTES_MAX = 64 * 1024;

/** The event-time column a block's record header takes its min and max from, unless told otherwise. */
export const DEFAULT_EVENT_TIME_COLUMN = '_tp_time';

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const COLUMN_PATTERN = /^(\S+)\s+(.+?)$/;
const NULLABLE_PATTERN = /^nullable\s*\(\s*(.+?)\s*\)$/i;
const DATETIME_MS_PATTERN = /^datetime64\s*\(\s*3\s*\)$/i;
const DATETIME_OTHER_PATTERN = /^datetime64\s*\(\s*(.*?)\s*\)$/i;

/** Parses schema text (grammar above); throws SchemaError naming the bad column. */
export function parseSchema(text: string): Schema {
  if (Buffer.byteLength(text, 'utf8') > SCHEMA_TEXT_BYTES_MAX) {
    throw new SchemaError(`schema text is longer than ${SCHEMA_TEXT_BYTES_MAX} bytes`);
  }
  if (text.trim() === '') throw new SchemaError('schema is empty; expected "name type, ..."');
  const columns = text.split(',').map((part, i) => parseColumn(part.trim(), i + 1));
  return makeSchema(columns);
}

function parseColumn(part: string, position: number): SchemaColumn {
  const m = COLUMN_PATTERN.exec(part);
  if (m === null) throw new SchemaError(`schema column ${position} "${part}" is not "name type"`);
  const name = m[1]!;
  const typeText = m[2]!.trim();
  const nullable = NULLABLE_PATTERN.exec(typeText);
  const baseText = nullable === null ? typeText : nullable[1]!;
  return { name, type: parseBaseType(baseText, name), nullable: nullable !== null };
}

function parseBaseType(text: string, column: string): ColumnType {
  if (DATETIME_MS_PATTERN.test(text)) return 'datetime64';
  const other = DATETIME_OTHER_PATTERN.exec(text);
  if (other !== null) {
    throw new SchemaError(`column "${column}": datetime64 precision "${other[1]}" is not supported; only milliseconds (3)`);
  }
  const lower = text.toLowerCase();
  if (isColumnType(lower)) return lower;
  throw new SchemaError(`column "${column}" has unknown type "${text}"; expected one of int8..int64, uint8..uint64, float32, float64, bool, string, datetime64, or nullable(type)`);
}

/** Checks a schema built in code (names, count, uniqueness, types) and returns it frozen. */
export function makeSchema(columns: readonly SchemaColumn[]): Schema {
  if (columns.length === 0) throw new SchemaError('a schema needs at least one column');
  if (columns.length > COLUMNS_MAX) throw new SchemaError(`schema has ${columns.length} columns; the limit is ${COLUMNS_MAX}`);
  const seen = new Set<string>();
  const copy: SchemaColumn[] = [];
  for (const c of columns) {
    checkColumnName(c.name);
    if (!isColumnType(c.type)) throw new SchemaError(`column "${c.name}" has unknown type "${String(c.type)}"`);
    if (seen.has(c.name)) throw new SchemaError(`column "${c.name}" appears twice`);
    seen.add(c.name);
    copy.push(Object.freeze({ name: c.name, type: c.type, nullable: c.nullable === true }));
  }
  return Object.freeze({ columns: Object.freeze(copy) });
}

function checkColumnName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new SchemaError(`column name "${name}" is invalid; names are [A-Za-z_][A-Za-z0-9_]*`);
  }
  if (name.length > COLUMN_NAME_BYTES_MAX) {
    throw new SchemaError(`column name "${name.slice(0, 32)}..." is ${name.length} bytes; the limit is ${COLUMN_NAME_BYTES_MAX}`);
  }
}

/** The canonical text of a schema; parseSchema(schemaToString(s)) equals s. */
export function schemaToString(schema: Schema): string {
  return schema.columns.map((c) => `${c.name} ${c.nullable ? `nullable(${c.type})` : c.type}`).join(', ');
}

/** True when both schemas have the same columns (names, types, nullability) in the same order. */
export function schemasEqual(a: Schema, b: Schema): boolean {
  if (a.columns.length !== b.columns.length) return false;
  return a.columns.every((c, i) => {
    const d = b.columns[i]!;
    return c.name === d.name && c.type === d.type && c.nullable === d.nullable;
  });
}
