/**
 * produce --format jsonl --block-rows N: JSON lines packed into columnar
 * Blocks of N rows using the stream's schema, one record per Block. A bad row
 * fails with its line number; rows after the last whole block are not sent.
 */
import { CODEC_BLOCK } from '../record/layout.js';
import { blockEventTimeRange, decodeBlock, parseSchema, rowsToBlock, type Schema } from '../block/index.js';
import type { ProducerRecord } from '../client/types.js';
import { CliError } from './cli-error.js';

/** Most rows per block from the command line. */
export const BLOCK_ROWS_MAX = 1_000_000;

export class BlockPacker {
  private rows: unknown[] = [];
  private firstLine = 1;
  private readonly schema: Schema;

  constructor(
    schemaText: string,
    private readonly schemaVersion: number,
    private readonly blockRows: number,
  ) {
    this.schema = parseSchema(schemaText);
  }

  /** Adds one line; returns a record once blockRows rows are gathered. */
  add(line: Buffer, lineNo: number): ProducerRecord | null {
    let row: unknown;
    try {
      row = JSON.parse(line.toString('utf8'));
    } catch {
      throw new CliError(`Line ${lineNo} is not valid JSON.`);
    }
    if (this.rows.length === 0) this.firstLine = lineNo;
    this.rows.push(row);
    return this.rows.length >= this.blockRows ? this.take() : null;
  }

  /** The last, partial block (or null when none). */
  finish(): ProducerRecord | null {
    return this.rows.length > 0 ? this.take() : null;
  }

  private take(): ProducerRecord {
    const rows = this.rows;
    this.rows = [];
    let bytes: Uint8Array;
    try {
      bytes = rowsToBlock(this.schema, rows, { firstRowNumber: this.firstLine });
    } catch (e) {
      throw new CliError(`Line ${(e as Error).message.replace(/^row /i, '')}`);
    }
    const record: ProducerRecord = { value: bytes, codec: CODEC_BLOCK, schemaVersion: this.schemaVersion, rowCount: rows.length };
    const range = blockEventTimeRange(decodeBlock(bytes));
    if (range !== null) {
      record.eventTime = range.min;
      record.eventTimeMax = range.max;
    }
    return record;
  }
}
