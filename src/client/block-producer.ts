/**
 * Rows and Blocks into a stream with a schema, on top of a ProducerApi
 * (composition: the plain producer does batching, retries and acks).
 *
 *   const bp = await blockProducer(client, 'metrics');
 *   await bp.sendRows([{ host: 'a', cpu: 0.5, _tp_time: Date.now() }]);   // one record, one Block
 *   await bp.sendBlock(rowsToBlock(bp.schema, rows));                      // checked against the schema first
 *   await bp.close();
 *
 * Each record carries codec CODEC_BLOCK, the stream's schemaVersion, the
 * block's rowCount and the event-time range (min, max) of the event-time
 * column (default `_tp_time`; absent or all null: the node uses append time).
 * Rows or a block that do not fit the schema fail with RowError, SchemaError
 * or BlockError (src/block) before anything is sent; failures of the send
 * itself are NativeLogError, as with the plain producer.
 */
import { blockToRecordInput } from '../block/event-time.js';
import { SchemaError } from '../block/block-error.js';
import { rowsToBlock, type RowsToBlockOptions } from '../block/rows-to-block.js';
import { DEFAULT_EVENT_TIME_COLUMN, parseSchema, type Schema } from '../block/schema.js';
import type { ClientApi, ProducerApi, ProducerOptions, ProducerRecord, SendResult } from './types.js';

export interface BlockProducerOptions extends ProducerOptions {
  /** The datetime64 column that sets each record's event time. Default `_tp_time`. */
  eventTimeColumn?: string;
  /** sendRows: a field not in the schema is an error (default) or ignored. */
  unknownFields?: 'error' | 'ignore';
}

/** Per-record extras of sendRows and sendBlock. */
export interface BlockSendOptions {
  key?: Uint8Array | string;
  headers?: Record<string, Uint8Array | string>;
  /** Explicit shard for this record. */
  shard?: number;
  /** sendRows: the number errors give rows[0] (e.g. a line number). Default 1. */
  firstRowNumber?: number;
}

export class BlockProducer {
  constructor(
    /** The plain producer the records go through; closed by close(). */
    readonly producer: ProducerApi,
    readonly stream: string,
    /** The stream's schema (from describeStream). */
    readonly schema: Schema,
    /** The stream's schema version, written into every record header. */
    readonly schemaVersion: number,
    private readonly opts: BlockProducerOptions = {},
  ) {}

  /** Packs `rows` (objects {column: value}, JSON conventions of rowsToBlock) into one Block and sends it as one record. */
  async sendRows(rows: readonly object[], opts: BlockSendOptions = {}): Promise<SendResult> {
    if (!Array.isArray(rows) || rows.length === 0) throw new RangeError('sendRows needs a non-empty array of rows');
    const rowOpts: RowsToBlockOptions = { firstRowNumber: opts.firstRowNumber ?? 1 };
    if (this.opts.unknownFields !== undefined) rowOpts.unknownFields = this.opts.unknownFields;
    return this.send(rowsToBlock(this.schema, rows, rowOpts), opts);
  }

  /**
   * Sends encoded Block bytes as one record after checking them: a valid
   * block with exactly the stream's columns (names, types, nullability, in
   * order). On a mismatch it throws SchemaError (BlockError for bytes that
   * are not a block) and sends nothing.
   */
  async sendBlock(blockBytes: Uint8Array, opts: BlockSendOptions = {}): Promise<SendResult> {
    if (!(blockBytes instanceof Uint8Array)) throw new TypeError('sendBlock needs the block as a Uint8Array');
    return this.send(blockBytes, opts);
  }

  /** Sends everything queued now and waits for its acks. */
  flush(): Promise<void> {
    return this.producer.flush();
  }

  close(): Promise<void> {
    return this.producer.close();
  }

  private send(blockBytes: Uint8Array, opts: BlockSendOptions): Promise<SendResult> {
    const input = blockToRecordInput(blockBytes, {
      schemaVersion: this.schemaVersion,
      schema: this.schema,
      eventTimeColumn: this.opts.eventTimeColumn ?? DEFAULT_EVENT_TIME_COLUMN,
    });
    const record: ProducerRecord = { value: blockBytes, codec: input.codec!, schemaVersion: this.schemaVersion, rowCount: input.rowCount! };
    if (input.eventTimeMin !== undefined) {
      record.eventTime = input.eventTimeMin;
      record.eventTimeMax = input.eventTimeMax ?? input.eventTimeMin;
    }
    if (opts.key !== undefined) record.key = opts.key;
    if (opts.headers !== undefined) record.headers = opts.headers;
    if (opts.shard !== undefined) record.shard = opts.shard;
    return this.producer.send(record);
  }
}

/**
 * A BlockProducer for `stream`, which must have a schema: reads the schema
 * and its version with describeStream, then opens client.producer(stream, opts).
 */
export async function blockProducer(client: ClientApi, stream: string, opts: BlockProducerOptions = {}): Promise<BlockProducer> {
  const d = await client.describeStream(stream, opts.namespace === undefined ? {} : { namespace: opts.namespace });
  if (d.schema === null) {
    throw new SchemaError(`stream "${d.namespace}/${d.name}" has no schema; create it with a schema (stream create --schema 'col type, ...') to send rows or blocks`);
  }
  const schema = parseSchema(d.schema);
  const { eventTimeColumn: _e, unknownFields: _u, ...producerOpts } = opts;
  return new BlockProducer(client.producer(stream, producerOpts), stream, schema, d.schemaVersion, opts);
}
