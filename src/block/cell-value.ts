/**
 * The JavaScript values a column accepts when encoding, and the checks that
 * turn one into the stored value of its column type. Each check returns the
 * stored value or a reason string (never throws), so callers can attach the
 * row and column to the error.
 *
 *   int8..uint32   number (an integer in range) or bigint (in range)
 *   int64, uint64  bigint (in range) or number (a safe integer in range)
 *   float32/64     number
 *   bool           boolean
 *   string         string
 *   datetime64     number (safe integer epoch ms), bigint, or Date
 *   null/undefined only in a nullable column
 */
import type { ColumnType } from './column-type.js';

/** A value read from a column. */
export type CellValue = number | bigint | boolean | string | null;

/** A value given to encodeBlock for one row of one column. */
export type CellInput = CellValue | Date | undefined;

const INT_RANGE: Partial<Record<ColumnType, [number, number]>> = {
  int8: [-0x80, 0x7f],
  int16: [-0x8000, 0x7fff],
  int32: [-0x8000_0000, 0x7fff_ffff],
  uint8: [0, 0xff],
  uint16: [0, 0xffff],
  uint32: [0, 0xffff_ffff],
};

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** The stored number for an int8..uint32 column, or why not. */
export function toSmallInt(type: ColumnType, v: CellInput): number | string {
  const [min, max] = INT_RANGE[type]!;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) return `expected an integer for ${type}, got ${describe(v)}`;
  if (n < min || n > max) return `${String(v)} is out of range for ${type} [${min}, ${max}]`;
  return n;
}

/** The stored bigint for an int64/uint64 column, or why not. */
export function toBigInt64(type: 'int64' | 'uint64', v: CellInput): bigint | string {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else if (typeof v === 'number' && Number.isInteger(v)) return `${v} is beyond 2^53 and has lost precision; give ${type} values past 2^53 as bigint or decimal strings`;
  else return `expected an integer for ${type}, got ${describe(v)}`;
  const [min, max] = type === 'int64' ? [INT64_MIN, INT64_MAX] : [0n, UINT64_MAX];
  if (b < min || b > max) return `${b} is out of range for ${type}`;
  return b;
}

/** The stored epoch ms for a datetime64 column, or why not. */
export function toDatetime64(v: CellInput): bigint | string {
  if (v instanceof Date) {
    const ms = v.getTime();
    return Number.isNaN(ms) ? 'the Date is invalid' : BigInt(ms);
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) return v;
  return `expected epoch milliseconds (an integer) or a Date for datetime64, got ${describe(v)}`;
}

export function toFloat(type: ColumnType, v: CellInput): number | string {
  return typeof v === 'number' ? v : `expected a number for ${type}, got ${describe(v)}`;
}

export function toBool(v: CellInput): number | string {
  return typeof v === 'boolean' ? (v ? 1 : 0) : `expected true or false for bool, got ${describe(v)}`;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Date) return 'a Date';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'bigint') return `${v}n`;
  return `${typeof v} ${String(v)}`;
}
