/**
 * Block vs JSON vs msgpackr on the same 64k rows.
 *
 *   npm run bench:block [-- --json] [--rows N] [--seconds S]
 *
 * Rows follow the schema 'host string, cpu float64, n int64, ok bool,
 * _tp_time datetime64'. Each case runs for about S seconds (default 1) after a
 * warm-up and reports rows/s and the per-call p50/p99 in ms.
 *
 * Encode cases turn the rows into bytes: JSON.stringify + UTF-8, msgpackr
 * pack (plain maps, and with records), rowsToBlock (from the same row
 * objects), encodeBlock (from columns, TypedArrays where a type allows).
 *
 * Decode cases turn bytes back into something usable. For a Block, "decode"
 * is decodeBlock plus getting each column's TypedArray view: what a reader
 * does before it can read any value, and what the 10x goal is measured on.
 * Because that does O(columns) work and copies nothing, it is also reported
 * with the cost of touching every value (summing numbers, decoding every
 * string), and with building row objects (blockToRows), the like-for-like
 * counterpart of JSON.parse and unpack which produce row objects.
 *
 * With --json the last line is one JSON object with every figure.
 */
import { Packr, pack, unpack } from 'msgpackr';
import { type ColumnsInput, blockToRows, decodeBlock, encodeBlock, parseSchema, rowsToBlock } from '../src/block/index.js';

interface Options {
  rows: number;
  seconds: number;
  json: boolean;
}

interface CaseResult {
  name: string;
  calls: number;
  rowsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const WARMUP_CALLS = 5;
const HOSTS = 100;

function parseArgs(argv: string[]): Options {
  const opts: Options = { rows: 65_536, seconds: 1, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') opts.json = true;
    else if (a === '--rows') opts.rows = positive(argv[++i], '--rows');
    else if (a === '--seconds') opts.seconds = positive(argv[++i], '--seconds');
    else throw new Error(`unknown argument ${a}; usage: block-bench [--json] [--rows N] [--seconds S]`);
  }
  return opts;
}

function positive(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new Error(`${flag} needs a positive number, got ${text}`);
  return n;
}

interface Row {
  host: string;
  cpu: number;
  n: number;
  ok: boolean;
  _tp_time: number;
}

function makeRows(count: number): Row[] {
  const start = Date.UTC(2026, 0, 1);
  return Array.from({ length: count }, (_, i) => ({
    host: `host-${(i * 7919) % HOSTS}.example.net`,
    cpu: ((i * 37) % 1000) / 10,
    n: i * 1_000_003,
    ok: i % 3 !== 0,
    _tp_time: start + i * 10,
  }));
}

function toColumns(rows: Row[]): ColumnsInput {
  return {
    host: rows.map((r) => r.host),
    cpu: Float64Array.from(rows, (r) => r.cpu),
    n: BigInt64Array.from(rows, (r) => BigInt(r.n)),
    ok: Uint8Array.from(rows, (r) => (r.ok ? 1 : 0)),
    _tp_time: BigInt64Array.from(rows, (r) => BigInt(r._tp_time)),
  };
}

/** Runs fn repeatedly for about `seconds`; returns rows/s and per-call percentiles. */
function measure(name: string, rows: number, seconds: number, fn: () => unknown): CaseResult {
  for (let i = 0; i < WARMUP_CALLS; i++) sink(fn());
  const times: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let total = 0;
  while (performance.now() < deadline || times.length < 3) {
    const t0 = performance.now();
    sink(fn());
    const dt = performance.now() - t0;
    times.push(dt);
    total += dt;
  }
  times.sort((a, b) => a - b);
  const pct = (q: number): number => round(times[Math.min(times.length - 1, Math.floor(q * times.length))]!, 4);
  return { name, calls: times.length, rowsPerSec: Math.round((rows * times.length) / (total / 1000)), p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

let sinkValue = 0;
function sink(v: unknown): void {
  if (v !== null && typeof v === 'object' && 'length' in v) sinkValue += (v as { length: number }).length;
  else if (typeof v === 'number') sinkValue += v;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const schema = parseSchema('host string, cpu float64, n int64, ok bool, _tp_time datetime64');

/** decodeBlock and fetch every column's view: the zero-copy "decode". */
function blockViews(bytes: Uint8Array): number {
  const block = decodeBlock(bytes);
  let n = 0;
  for (const c of block.columns) n += c.values.length;
  return n;
}

/** decodeBlock and read every value: sum numbers (64-bit ones via numberAt, no bigint), decode every string. */
function blockTouchAll(bytes: Uint8Array): number {
  const block = decodeBlock(bytes);
  let acc = 0;
  const cpu = block.columnOf('cpu', 'float64').values;
  for (let i = 0; i < cpu.length; i++) acc += cpu[i]!;
  const n = block.columnOf('n', 'int64');
  for (let i = 0; i < n.length; i++) acc += n.numberAt(i);
  const t = block.columnOf('_tp_time', 'datetime64');
  for (let i = 0; i < t.length; i++) acc += t.numberAt(i);
  const ok = block.columnOf('ok', 'bool').values;
  for (let i = 0; i < ok.length; i++) acc += ok[i]!;
  const host = block.columnOf('host', 'string');
  for (let i = 0; i < host.length; i++) acc += host.stringAt(i).length;
  return acc;
}

/** The same touch over row objects, so the decode+touch figures compare like with like. */
function touchRows(rows: Row[]): number {
  let acc = 0;
  for (const r of rows) acc += r.cpu + r.n + r._tp_time + (r.ok ? 1 : 0) + r.host.length;
  return acc;
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const rows = makeRows(opts.rows);
  const columns = toColumns(rows);
  const records = new Packr({ useRecords: true });
  const encoded = {
    json: Buffer.from(JSON.stringify(rows)),
    msgpackr: pack(rows),
    msgpackrRecords: records.pack(rows),
    block: rowsToBlock(schema, rows),
  };
  const unpackRecords = new Packr({ useRecords: true }); // a fresh reader, as a consumer would have
  const run = (name: string, fn: () => unknown): CaseResult => {
    const r = measure(name, opts.rows, opts.seconds, fn);
    if (!opts.json) console.log(`${name.padEnd(34)} ${fmt(r.rowsPerSec).padStart(14)} rows/s   p50 ${r.p50Ms.toFixed(3)} ms   p99 ${r.p99Ms.toFixed(3)} ms`);
    return r;
  };
  if (!opts.json) {
    console.log(`block-bench: ${opts.rows} rows, schema '${'host string, cpu float64, n int64, ok bool, _tp_time datetime64'}'`);
    console.log(`bytes: json ${encoded.json.length}, msgpackr ${encoded.msgpackr.length}, msgpackr records ${encoded.msgpackrRecords.length}, block ${encoded.block.length}`);
    console.log('-- encode');
  }
  const encode = [
    run('json stringify+utf8', () => Buffer.from(JSON.stringify(rows))),
    run('msgpackr pack', () => pack(rows)),
    run('msgpackr pack (records)', () => records.pack(rows)),
    run('block rowsToBlock (from rows)', () => rowsToBlock(schema, rows)),
    run('block encodeBlock (from columns)', () => encodeBlock(schema, columns)),
  ];
  if (!opts.json) console.log('-- decode');
  const decode = [
    run('json parse', () => JSON.parse(encoded.json.toString('utf8'))),
    run('msgpackr unpack', () => unpack(encoded.msgpackr)),
    run('msgpackr unpack (records)', () => unpackRecords.unpack(encoded.msgpackrRecords)),
    run('block decode (column views)', () => blockViews(encoded.block)),
  ];
  if (!opts.json) console.log('-- decode + touch every value');
  const touch = [
    run('json parse + touch', () => touchRows(JSON.parse(encoded.json.toString('utf8')) as Row[])),
    run('msgpackr unpack + touch', () => touchRows(unpack(encoded.msgpackr) as Row[])),
    run('block decode + touch', () => blockTouchAll(encoded.block)),
    run('block decode + blockToRows', () => blockToRows(decodeBlock(encoded.block))),
  ];
  const unpackRate = decode[1]!.rowsPerSec;
  const speedup = {
    decodeVsMsgpackrUnpack: round(decode[3]!.rowsPerSec / unpackRate, 1),
    decodeVsMsgpackrRecordsUnpack: round(decode[3]!.rowsPerSec / decode[2]!.rowsPerSec, 1),
    decodeTouchVsMsgpackrUnpackTouch: round(touch[2]!.rowsPerSec / touch[1]!.rowsPerSec, 1),
  };
  if (!opts.json) {
    console.log(`block decode is ${speedup.decodeVsMsgpackrUnpack}x msgpackr unpack (${speedup.decodeVsMsgpackrRecordsUnpack}x with records); ` +
      `decode+touch is ${speedup.decodeTouchVsMsgpackrUnpackTouch}x unpack+touch (goal for decode: >= 10x)`);
  }
  const bytes = { json: encoded.json.length, msgpackr: encoded.msgpackr.length, msgpackrRecords: encoded.msgpackrRecords.length, block: encoded.block.length };
  if (opts.json) console.log(JSON.stringify({ bench: 'block', rows: opts.rows, bytes, encode, decode, decodeTouch: touch, speedup, sink: sinkValue > 0 }));
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

main();
