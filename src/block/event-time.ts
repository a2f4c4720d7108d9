/**
 * Event time of a Block, and the RecordInput that carries a Block. The record
 * header's eventTimeMin/Max come from a designated datetime64 column (default
 * `_tp_time`), ignoring nulls; a block without that column (or with only
 * nulls in it) leaves event time unset, so the node uses the append time.
 */
import { CODEC_BLOCK } from '../record/layout.js';
import type { RecordHeader, RecordInput } from '../record/record.js';
import { SchemaError } from './block-error.js';
import type { Block } from './block.js';
import { decodeBlock } from './decode-block.js';
import { validateBlock } from './schema-check.js';
import { DEFAULT_EVENT_TIME_COLUMN, type Schema } from './schema.js';

export interface EventTimeRange {
  /** Epoch ms. */
  min: number;
  max: number;
}

/** Largest schema version a record header holds (u16); 0 means "no schema". */
export const SCHEMA_VERSION_MAX = 0xffff;

/** The min and max of the event-time column, or null when it is absent or all null. */
export function blockEventTimeRange(block: Block, column: string = DEFAULT_EVENT_TIME_COLUMN): EventTimeRange | null {
  const c = block.column(column);
  if (c === undefined) return null;
  if (c.type !== 'datetime64') throw new SchemaError(`event-time column "${column}" is ${c.type}; it must be datetime64`);
  const values = c.values as BigInt64Array;
  let min: bigint | null = null;
  let max: bigint | null = null;
  for (let i = 0; i < values.length; i++) {
    if (c.validity !== null && (c.validity[i >> 3]! & (1 << (i & 7))) === 0) continue;
    const v = values[i]!;
    if (min === null || v < min) min = v;
    if (max === null || v > max) max = v;
  }
  return min === null ? null : { min: Number(min), max: Number(max) };
}

export interface BlockRecordInfo {
  /** The stream schema's version (1..SCHEMA_VERSION_MAX; 0 = none). */
  schemaVersion: number;
  /** When given, the block must match it exactly (validateBlock). */
  schema?: Schema;
  /** Default `_tp_time`. */
  eventTimeColumn?: string;
  key?: Uint8Array;
  headers?: RecordHeader[];
  producerId?: number;
  producerSeq?: number;
}

/**
 * A RecordInput whose payload is `blockBytes` (not copied), with codec
 * CODEC_BLOCK, the block's rowCount, `info.schemaVersion` and the event-time
 * range of its event-time column.
 */
export function blockToRecordInput(blockBytes: Uint8Array, info: BlockRecordInfo): RecordInput {
  if (!Number.isInteger(info.schemaVersion) || info.schemaVersion < 0 || info.schemaVersion > SCHEMA_VERSION_MAX) {
    throw new RangeError(`schemaVersion ${info.schemaVersion} is not an integer in 0..${SCHEMA_VERSION_MAX}`);
  }
  const block = decodeBlock(blockBytes);
  if (info.schema !== undefined) validateBlock(block, info.schema);
  const input: RecordInput = { payload: blockBytes, codec: CODEC_BLOCK, rowCount: block.rowCount, schemaVersion: info.schemaVersion };
  const range = blockEventTimeRange(block, info.eventTimeColumn);
  if (range !== null) {
    input.eventTimeMin = range.min;
    input.eventTimeMax = range.max;
  }
  if (info.key !== undefined) input.key = info.key;
  if (info.headers !== undefined) input.headers = info.headers;
  if (info.producerId !== undefined) input.producerId = info.producerId;
  if (info.producerSeq !== undefined) input.producerSeq = info.producerSeq;
  return input;
}

