/**
 * nativelog consume NAME: records from one shard or all, from a start
 * position; without --follow it stops at the end of the data as of its start.
 * Plain output: each payload on its own line. --json: one object per record,
 * or per row on a stream with a schema.
 */
import { Command, Option } from 'commander';
import { decodeBlock, blockRowToJson, DEFAULT_EVENT_TIME_COLUMN } from '../../block/index.js';
import type { ConsumedRecord, StartPosition } from '../../client/types.js';
import { CODEC_BLOCK } from '../../record/layout.js';
import { parseTimeArg } from '../arg-parsers.js';
import { usageError } from '../cli-error.js';
import { addNamespaceOption, addServerOption, checkName, intOption, type ServerOpts } from '../common-options.js';
import { connectClient } from '../connect-client.js';
import { exitQuietlyOnClosedPipe, Output } from '../output.js';
import { startProgress } from '../progress.js';
import { recordToJson, rowToJson } from '../record-json.js';

/** With --follow, gathered output is written at least this often. */
export const FOLLOW_FLUSH_MS = 100;

interface ConsumeOpts extends ServerOpts {
  namespace: string;
  shard?: number;
  from?: 'earliest' | 'latest';
  fromSeq?: number;
  fromAppendTime?: string;
  fromEventTime?: string;
  max?: number;
  follow?: boolean;
  json?: boolean;
}

/** The start position from the --from* flags (at most one may be given; default earliest). */
export function startPosition(o: Pick<ConsumeOpts, 'from' | 'fromSeq' | 'fromAppendTime' | 'fromEventTime'>): StartPosition {
  const given = [o.from, o.fromSeq, o.fromAppendTime, o.fromEventTime].filter((v) => v !== undefined);
  if (given.length > 1) throw usageError('Give at most one of --from, --from-seq, --from-append-time and --from-event-time.');
  if (o.fromSeq !== undefined) return { seq: o.fromSeq };
  if (o.fromAppendTime !== undefined) return { appendTime: parseTimeArg('--from-append-time', o.fromAppendTime) };
  if (o.fromEventTime !== undefined) return { eventTime: parseTimeArg('--from-event-time', o.fromEventTime) };
  return o.from ?? 'earliest';
}

/** Prints one record; returns a promise only when the output is full. */
type Printer = (r: ConsumedRecord) => Promise<void> | undefined;

function rowPrinter(out: Output, json: boolean): Printer {
  const plain = recordPrinter(out, json);
  return (r) => {
    if (r.codec !== CODEC_BLOCK) return plain(r);
    return printRows(out, json, r);
  };
}

async function printRows(out: Output, json: boolean, r: ConsumedRecord): Promise<void> {
  const block = decodeBlock(r.value);
  for (let row = 0; row < block.rowCount; row++) {
    const values = blockRowToJson(block, row);
    const t = values[DEFAULT_EVENT_TIME_COLUMN];
    await out.line(JSON.stringify(json ? rowToJson(r, row, values, typeof t === 'number' ? t : undefined) : values));
  }
}

function recordPrinter(out: Output, json: boolean): Printer {
  if (json) return (r) => out.line(JSON.stringify(recordToJson(r)));
  const nl = Buffer.from('\n');
  return (r) => {
    const w = out.write(r.value);
    return w === undefined ? out.write(nl) : w.then(() => out.write(nl));
  };
}

async function consume(name: string, o: ConsumeOpts): Promise<void> {
  checkName('namespace', o.namespace);
  checkName('stream', name);
  const from = startPosition(o);
  exitQuietlyOnClosedPipe(process.stdout);
  const client = await connectClient(o.server);
  const d = await client.describeStream(name, { namespace: o.namespace });
  if (o.shard !== undefined && o.shard >= d.shards) throw usageError(`--shard must be below ${d.shards}, the stream's shard count, got ${o.shard}.`);
  const out = new Output(process.stdout);
  const print = d.schema === null ? recordPrinter(out, o.json === true) : rowPrinter(out, o.json === true);
  const consumer = client.consumer(name, { namespace: o.namespace, from, follow: o.follow === true, ...(o.shard === undefined ? {} : { shard: o.shard }) });
  let count = 0;
  const progress = startProgress(() => `consume: ${count} records`, process.stderr, process.stdout);
  const flusher = o.follow ? setInterval(() => void out.flush(), FOLLOW_FLUSH_MS) : undefined;
  try {
    if (o.max !== 0) {
      for await (const r of consumer) {
        const wait = print(r);
        if (wait !== undefined) await wait;
        if (++count === o.max) break;
      }
    }
    await out.flush();
  } finally {
    progress.stop();
    clearInterval(flusher);
    await consumer.close();
    await client.close();
  }
}

export function consumeCommand(): Command {
  const c = new Command('consume')
    .description('print records; without --follow stop at the end of the data as of the start')
    .argument('<name>', 'stream name')
    .option('--shard <k>', 'read only this shard (default: every shard)', intOption('--shard', 0))
    .addOption(new Option('--from <where>', 'start at the earliest or the latest record (default: earliest)').choices(['earliest', 'latest']))
    .option('--from-seq <n>', 'start at this sequence number', intOption('--from-seq', 0))
    .option('--from-append-time <t>', 'start at the lowest seq whose append time is >= T (epoch ms or ISO-8601)')
    .option('--from-event-time <t>', 'start at the lowest seq whose event time is >= T (epoch ms or ISO-8601)')
    .option('--max <n>', 'stop after this many records in all', intOption('--max', 0))
    .option('--follow', 'keep waiting for new records at the end')
    .option('--json', 'one JSON object per record (per row on a stream with a schema)');
  addServerOption(addNamespaceOption(c)).action(consume);
  return c;
}
