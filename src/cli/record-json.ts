/**
 * The --json shapes of consumed records (DESIGN section 5): one object per
 * record, payload as UTF-8 text or payloadBase64 when it is not valid UTF-8;
 * on a stream with a schema, one object per row with its column values.
 */
import { isUtf8 } from 'node:buffer';
import type { ConsumedRecord } from '../client/types.js';

export interface RecordJson {
  shard: number;
  seq: number;
  /** The sequencer epoch that stamped the record (record header offset 24). */
  epoch: number;
  appendTime: number;
  eventTime: number;
  payload?: string;
  payloadBase64?: string;
}

export function recordToJson(r: Pick<ConsumedRecord, 'shard' | 'seq' | 'epoch' | 'appendTime' | 'eventTime' | 'value'>): RecordJson {
  const out: RecordJson = { shard: r.shard, seq: r.seq, epoch: r.epoch, appendTime: r.appendTime, eventTime: r.eventTime };
  const bytes = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
  if (isUtf8(bytes)) out.payload = bytes.toString('utf8');
  else out.payloadBase64 = bytes.toString('base64');
  return out;
}

export interface RowJson {
  shard: number;
  seq: number;
  epoch: number;
  row: number;
  appendTime: number;
  eventTime: number;
  values: Record<string, unknown>;
}

export function rowToJson(r: Pick<ConsumedRecord, 'shard' | 'seq' | 'epoch' | 'appendTime' | 'eventTime'>, row: number, values: Record<string, unknown>, eventTime?: number): RowJson {
  return { shard: r.shard, seq: r.seq, epoch: r.epoch, row, appendTime: r.appendTime, eventTime: eventTime ?? r.eventTime, values };
}
