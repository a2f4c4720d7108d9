/**
 * Block -> JSON rows, one object {column: value} per row, in schema order:
 *
 *   int8..uint32, float32/64  JSON number (non-finite floats as "NaN",
 *                             "Infinity", "-Infinity"; float32 values widen
 *                             to the nearest double, e.g. 0.1 -> 0.10000000149011612;
 *                             -0 prints as 0, since JSON has no negative zero)
 *   int64, uint64             JSON number when within +-(2^53 - 1), else a decimal string
 *   datetime64                epoch ms as a JSON number (a decimal string if past 2^53)
 *   bool                      true or false
 *   string                    JSON string
 *   null                      null
 *
 * rowsToBlock reads every one of these back to the same stored value (except -0).
 */
import type { Block } from './block.js';
import type { CellValue } from './cell-value.js';
import type { ColumnType } from './column-type.js';
import type { ColumnView } from './column-view.js';

export type JsonCell = number | string | boolean | null;
export type JsonRow = Record<string, JsonCell>;

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = -SAFE_MAX;

/** Row `row` (0-based) of a block as a JSON-ready object. */
export function blockRowToJson(block: Block, row: number): JsonRow {
  const out: JsonRow = {};
  for (const c of block.columns) setField(out, c.name, cellJson(c, row));
  return out;
}

/** Every row of a block as JSON-ready objects (built column by column). */
export function blockToRows(block: Block): JsonRow[] {
  const rows = new Array<JsonRow>(block.rowCount);
  for (let i = 0; i < block.rowCount; i++) rows[i] = {};
  for (const c of block.columns) {
    for (let i = 0; i < block.rowCount; i++) setField(rows[i]!, c.name, cellJson(c, i));
  }
  return rows;
}

/** The JSON form of one cell of a column of `type`. */
export function cellToJson(type: ColumnType, v: CellValue): JsonCell {
  if (typeof v === 'bigint') return v >= SAFE_MIN && v <= SAFE_MAX ? Number(v) : v.toString();
  if (typeof v === 'number' && !Number.isFinite(v) && (type === 'float32' || type === 'float64')) return String(v);
  return v;
}

/** cellToJson(c.type, c.get(row)), reading 64-bit values without a bigint when they are safe. */
function cellJson(c: ColumnView, row: number): JsonCell {
  if (c.isNull(row)) return null;
  switch (c.type) {
    case 'int64':
    case 'uint64':
    case 'datetime64': {
      const n = c.numberAt(row);
      return Number.isSafeInteger(n) ? n : String(c.values[row]);
    }
    case 'string':
      return c.stringAt(row);
    case 'bool':
      return c.values[row] !== 0;
    case 'float32':
    case 'float64': {
      const f = c.values[row] as number;
      return Number.isFinite(f) ? f : String(f);
    }
    default:
      return c.values[row] as number;
  }
}

/** Sets a field as an own property, even one named "__proto__". */
function setField(out: JsonRow, name: string, value: JsonCell): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}
