/**
 * Records as Blocks, and Blocks as rows, over any consumer (an
 * AsyncIterable<ConsumedRecord>, e.g. client.consumer(...)).
 *
 *   const consumer = client.consumer('metrics', { from: 'earliest' });
 *   for await (const { record, block } of blocks(consumer)) {
 *     block.columnOf('cpu', 'float64').values;        // Float64Array over the received bytes
 *   }
 *   for await (const r of rows(client.consumer('metrics'))) console.log(r.values.host);
 *
 * decodeBlock gives TypedArray views over the record's value: nothing is
 * copied when the value starts 8-byte aligned, which the client's fetch path
 * keeps it; `copied` says when a copy was needed.
 *
 * A record whose codec is not CODEC_BLOCK (e.g. a raw payload written by a
 * plain producer) is an error by default (NotABlockError, naming the shard
 * and seq); with `nonBlock: 'skip'` it is passed over. Bytes that claim to be
 * a block but do not decode give a BlockError naming the shard and seq.
 * Breaking out of the loop stops the underlying iteration; closing the
 * consumer stays the caller's job.
 */
import { BlockError } from '../block/block-error.js';
import type { Block } from '../block/block.js';
import { blockRowToJson, type JsonRow } from '../block/block-to-rows.js';
import { decodeBlock } from '../block/decode-block.js';
import { validateBlock } from '../block/schema-check.js';
import { DEFAULT_EVENT_TIME_COLUMN, type Schema } from '../block/schema.js';
import { CODEC_BLOCK } from '../record/layout.js';
import type { ConsumedRecord } from './types.js';

export interface BlocksOptions {
  /** A record that is not a Block: 'error' (default) throws NotABlockError; 'skip' passes it over. */
  nonBlock?: 'error' | 'skip';
  /** When given, every block must have exactly these columns (validateBlock), else SchemaError. */
  schema?: Schema;
}

export interface RowsOptions extends BlocksOptions {
  /** The row's eventTime comes from this datetime64 column when set in the row. Default `_tp_time`. */
  eventTimeColumn?: string;
}

/** One record and its decoded Block. */
export interface ConsumedBlock {
  record: ConsumedRecord;
  /** Views over record.value (or over one aligned copy, then `copied` is true). */
  block: Block;
  copied: boolean;
}

/** One row, shaped like a line of `nativelog consume --json` on a stream with a schema. */
export interface ConsumedRow {
  shard: number;
  seq: number;
  /** The sequencer epoch that stamped the record. */
  epoch: number;
  /** 0-based row number inside the record's block. */
  row: number;
  appendTime: number;
  /** The row's event-time column (epoch ms) when set, else the record's event time. */
  eventTime: number;
  /** {column: value} in schema order; int64 beyond 2^53 as decimal strings (blockRowToJson). */
  values: JsonRow;
}

/** A record that was expected to hold a Block but has another codec. */
export class NotABlockError extends Error {
  constructor(
    readonly shard: number,
    readonly seq: number,
    readonly codec: number,
  ) {
    super(`record shard ${shard} seq ${seq} has codec ${codec}, not a Block (codec ${CODEC_BLOCK}); pass nonBlock: 'skip' to pass such records over`);
    this.name = 'NotABlockError';
  }
}

/** The Block of one consumed record; throws NotABlockError or BlockError (naming shard and seq). */
export function recordBlock(record: ConsumedRecord): Block {
  if (record.codec !== CODEC_BLOCK) throw new NotABlockError(record.shard, record.seq, record.codec);
  try {
    return decodeBlock(record.value);
  } catch (e) {
    if (e instanceof BlockError) throw new BlockError(e.problem, `record shard ${record.shard} seq ${record.seq}: ${e.message}`);
    throw e;
  }
}

/** Yields each record with its Block. */
export async function* blocks(consumer: AsyncIterable<ConsumedRecord>, opts: BlocksOptions = {}): AsyncGenerator<ConsumedBlock> {
  const skip = opts.nonBlock === 'skip';
  for await (const record of consumer) {
    if (skip && record.codec !== CODEC_BLOCK) continue;
    const block = recordBlock(record);
    if (opts.schema !== undefined) validateBlock(block, opts.schema);
    yield { record, block, copied: block.copied };
  }
}

/** Yields every row of every Block, in record order then row order. */
export async function* rows(consumer: AsyncIterable<ConsumedRecord>, opts: RowsOptions = {}): AsyncGenerator<ConsumedRow> {
  const timeColumn = opts.eventTimeColumn ?? DEFAULT_EVENT_TIME_COLUMN;
  for await (const { record, block } of blocks(consumer, opts)) {
    const timed = block.column(timeColumn)?.type === 'datetime64';
    for (let row = 0; row < block.rowCount; row++) {
      const values = blockRowToJson(block, row);
      const t = timed ? values[timeColumn] : undefined;
      yield {
        shard: record.shard,
        seq: record.seq,
        epoch: record.epoch,
        row,
        appendTime: record.appendTime,
        eventTime: typeof t === 'number' ? t : record.eventTime,
        values,
      };
    }
  }
}
