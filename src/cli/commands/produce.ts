/**
 * nativelog produce NAME: one record per stdin line, streamed; exits 0 only
 * after every line is acked; prints the count and seq ranges (--json: the
 * last line is {"acked":N,"ranges":[...]}, also after a failure part-way).
 */
import { Command, Option } from 'commander';
import { ACKS_VALUES, type Acks, type ClientApi, type ProducerApi, type ProducerRecord } from '../../client/types.js';
import { BlockPacker, BLOCK_ROWS_MAX } from '../block-packer.js';
import { CliError, toMessage, usageError } from '../cli-error.js';
import { addNamespaceOption, addServerOption, checkName, intOption, type ServerOpts } from '../common-options.js';
import { connectClient } from '../connect-client.js';
import { describeRanges } from '../ack-ranges.js';
import { eventTimeOf } from '../event-time-field.js';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';
import { readLines } from '../line-source.js';
import { startProgress } from '../progress.js';
import { SendTracker } from '../send-tracker.js';

/** Extra time past --timeout-ms before produce gives up on a send the client never settled. */
export const STALL_GRACE_MS = 5000;
/** Longest wait for a clean close of the producer and connection after everything was acked. */
export const CLOSE_WAIT_MS = 1000;
/** Rows per block with --format jsonl when --block-rows is not given. */
export const DEFAULT_BLOCK_ROWS = 1000;

interface ProduceOpts extends ServerOpts {
  namespace: string;
  shard?: number;
  eventTimeField?: string;
  timeoutMs: number;
  json?: boolean;
  format: 'lines' | 'jsonl';
  blockRows?: number;
  acks: Acks;
}

/** --acks: none, leader or quorum. */
export function parseAcks(text: string): Acks {
  if ((ACKS_VALUES as readonly string[]).includes(text)) return text as Acks;
  throw usageError(`--acks must be none, leader or quorum, got "${text}".`);
}

type ToRecord = (line: Buffer, lineNo: number) => ProducerRecord | null;

async function recordMaker(client: ClientApi, name: string, o: ProduceOpts): Promise<{ make: ToRecord; finish: () => ProducerRecord | null }> {
  const d = await client.describeStream(name, { namespace: o.namespace });
  if (o.shard !== undefined && o.shard >= d.shards) throw usageError(`--shard must be below ${d.shards}, the stream's shard count, got ${o.shard}.`);
  const spread = spreader(o.shard, d.shards);
  if (o.format === 'jsonl') {
    if (d.schema === null) throw new CliError(`Stream ${o.namespace}/${name} has no schema, so --format jsonl cannot pack rows into blocks.`);
    const packer = new BlockPacker(d.schema, d.schemaVersion, o.blockRows ?? DEFAULT_BLOCK_ROWS);
    return { make: (l, n) => spread(packer.add(l, n)), finish: () => spread(packer.finish()) };
  }
  const field = o.eventTimeField;
  const make: ToRecord = field === undefined ? (line) => spread({ value: line }) : (line, n) => spread({ value: line, eventTime: eventTimeOf(line, field, n) });
  return { make, finish: () => null };
}

/** Sets each record's shard: the --shard given, else round-robin over every shard, record by record. */
function spreader(fixed: number | undefined, shards: number): (r: ProducerRecord | null) => ProducerRecord | null {
  let next = 0;
  return (r) => {
    if (r === null) return null;
    r.shard = fixed ?? next;
    next = (next + 1) % shards;
    return r;
  };
}

/** Reads stdin and sends until the input ends or a send fails; returns the input error, if any. */
async function pump(producer: ProducerApi, tracker: SendTracker, maker: Awaited<ReturnType<typeof recordMaker>>): Promise<Error | null> {
  const lines = readLines(process.stdin)[Symbol.asyncIterator]();
  let lineNo = 0;
  try {
    for (;;) {
      const next = await Promise.race([lines.next(), tracker.failed.then(() => null)]);
      if (next === null || next.done) break;
      for (const line of next.value) {
        const rec = maker.make(line, ++lineNo);
        const wait = rec === null ? undefined : tracker.track(producer.send(rec));
        if (wait !== undefined) await wait; // only while too many sends are pending
        if (tracker.error !== null) return null;
      }
    }
    if (tracker.error !== null) return null;
    const last = maker.finish();
    if (last !== null) await tracker.track(producer.send(last));
    return null;
  } catch (e) {
    return e as Error;
  }
}

function report(tracker: SendTracker, o: Pick<ProduceOpts, 'json' | 'acks'>, error: Error | null): number {
  const acked = tracker.acks.count;
  const ranges = tracker.acks.ranges();
  const unacknowledged = tracker.unacknowledged;
  if (o.json) process.stdout.write(`${JSON.stringify(o.acks === 'none' ? { acked, unacknowledged, ranges } : { acked, ranges })}\n`);
  else if (o.acks === 'none') process.stdout.write(`sent ${unacknowledged} record${unacknowledged === 1 ? '' : 's'} without waiting for acks (--acks none)\n`);
  else process.stdout.write(`acked ${acked} record${acked === 1 ? '' : 's'}: ${describeRanges(ranges)}\n`);
  if (error === null) return EXIT_OK;
  process.stderr.write(`${toMessage(error)}\n`);
  return (error as CliError).exitCode ?? EXIT_FAILURE;
}

async function produce(name: string, o: ProduceOpts): Promise<void> {
  checkName('namespace', o.namespace);
  checkName('stream', name);
  if (o.format === 'jsonl' && o.eventTimeField !== undefined) throw usageError('--event-time-field applies to plain lines; with --format jsonl the schema\'s _tp_time column sets event time.');
  if (o.blockRows !== undefined && o.format !== 'jsonl') throw usageError('--block-rows needs --format jsonl.');
  const tracker = new SendTracker(o.timeoutMs + STALL_GRACE_MS);
  stopOnSignals(tracker);
  let client: ClientApi | null = null;
  let error: Error | null = null;
  try {
    client = await connectClient(o.server, { timeoutMs: o.timeoutMs });
    const maker = await recordMaker(client, name, o);
    const producer = client.producer(name, { namespace: o.namespace, timeoutMs: o.timeoutMs, acks: o.acks });
    const progress = startProgress(() => `produce: ${tracker.acks.count} acked, ${tracker.unacknowledged > 0 ? `${tracker.unacknowledged} sent without acks, ` : ''}${tracker.inFlight} in flight`);
    const inputError = await pump(producer, tracker, maker);
    if (inputError === null && tracker.error === null) await producer.flush().catch((e: Error) => tracker.fail(e));
    await tracker.settle();
    progress.stop();
    error = tracker.error ?? inputError;
    if (error === null) await Promise.race([producer.close(), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
  } catch (e) {
    error = e as Error; // before any send (connect, describe): still report what was acked (nothing)
  }
  const code = report(tracker, o, error);
  if (client !== null && code === EXIT_OK) await Promise.race([client.close(), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
  process.exit(code);
}

/**
 * SIGINT/SIGTERM (Ctrl-C on `tail -f | nativelog produce`): stop reading, wait
 * for the records already sent, print the summary, exit 128 + signal number.
 * A second signal exits at once.
 */
function stopOnSignals(tracker: SendTracker): void {
  const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
  for (const signal of Object.keys(codes)) {
    process.on(signal, () => {
      if (tracker.error !== null) process.exit(codes[signal]!);
      tracker.fail(new CliError(`Stopped by ${signal}; lines not yet read were not sent.`, codes[signal]!));
    });
  }
}

export function produceCommand(): Command {
  const c = new Command('produce')
    .description('append one record per stdin line; exits 0 only once every line is acked')
    .argument('<name>', 'stream name')
    .option('--shard <k>', 'write every record to this shard (default: spread over all shards)', intOption('--shard', 0))
    .option('--event-time-field <field>', 'lines are JSON objects; this field (epoch ms or ISO-8601) is the event time')
    .option('--timeout-ms <n>', 'a record not acked within this many ms fails the command', intOption('--timeout-ms', 1), 30000)
    .addOption(new Option('--format <format>', 'input format: lines (payload = the line) or jsonl (rows packed into blocks)').choices(['lines', 'jsonl']).default('lines'))
    .option('--block-rows <n>', `rows per block with --format jsonl (1-${BLOCK_ROWS_MAX}, default ${DEFAULT_BLOCK_ROWS})`, intOption('--block-rows', 1, BLOCK_ROWS_MAX))
    .option('--acks <mode>', 'when a record counts as written: quorum (a write quorum of its replicas stored it), leader (its sequencer did) or none (sent, not waited for)', parseAcks, 'quorum' as Acks)
    .option('--json', 'end with one JSON line {"acked":N,"ranges":[{"shard","first","last"}]} (with --acks none also "unacknowledged":N)');
  addServerOption(addNamespaceOption(c)).action(produce);
  return c;
}
