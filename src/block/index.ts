/**
 * The block package: columnar Blocks with zero-copy reads, stream schemas,
 * and JSON rows in and out. Typical use:
 *
 *   const schema = parseSchema('host string, cpu float64, _tp_time datetime64');
 *   const bytes = rowsToBlock(schema, rows);                 // or encodeBlock(schema, columns)
 *   const input = blockToRecordInput(bytes, { schemaVersion: 1, schema });
 *   ...
 *   const block = decodeBlock(record.payload);               // views, no copy
 *   block.columnOf('cpu', 'float64').values;                 // Float64Array
 *   blockToRows(block);                                      // [{host, cpu, _tp_time}, ...]
 */
export * from './block-layout.js';
export { BlockError, RowError, SchemaError } from './block-error.js';
export type { BlockProblem } from './block-error.js';
export { COLUMN_TYPES, isColumnType, isBigIntType, typeWidth } from './column-type.js';
export type { ColumnType, ColumnValues, ColumnValuesOf } from './column-type.js';
export type { CellValue, CellInput } from './cell-value.js';
export { DEFAULT_EVENT_TIME_COLUMN, SCHEMA_TEXT_BYTES_MAX, makeSchema, parseSchema, schemaToString, schemasEqual } from './schema.js';
export type { Schema, SchemaColumn } from './schema.js';
export { encodeBlock } from './encode-block.js';
export type { ColumnInput, ColumnsInput, ColumnWithValidity } from './encode-block.js';
export { decodeBlock } from './decode-block.js';
export { Block } from './block.js';
export { ColumnView } from './column-view.js';
export { verifyBlockValues } from './verify-block.js';
export { validateBlock } from './schema-check.js';
export { rowsToBlock, jsonToCell } from './rows-to-block.js';
export type { RowsToBlockOptions } from './rows-to-block.js';
export { blockToRows, blockRowToJson, cellToJson } from './block-to-rows.js';
export type { JsonCell, JsonRow } from './block-to-rows.js';
export { parseIsoTime } from './iso-time.js';
export { SCHEMA_VERSION_MAX, blockEventTimeRange, blockToRecordInput } from './event-time.js';
export type { BlockRecordInfo, EventTimeRange } from './event-time.js';
