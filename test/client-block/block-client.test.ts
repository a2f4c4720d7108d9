/**
 * The client's rows/Blocks API against a real `nativelog start` process:
 * blockProducer (sendRows, sendBlock with schema checks), blocks() with
 * zero-copy views over the received bytes, rows() shaped like the CLI's
 * `consume --json`, and refusals that write nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
// Everything through the package root, as an application imports it.
import {
  BlockError,
  CODEC_BLOCK,
  CODEC_RAW,
  NotABlockError,
  RowError,
  SchemaError,
  blockProducer,
  blockToRows,
  blocks,
  connect,
  encodeBlock,
  parseSchema,
  rows,
  rowsToBlock,
  type Client,
  type ConsumedBlock,
} from '../../src/index.js';
import { cli, lines } from '../cli/cli-process.js';
import { makeDataDir, removeDataDir, startNodeProcess, type NodeProcess } from '../client/node-process.js';

const SCHEMA_TEXT = 'host string, cpu float64, n nullable(int64), ok bool, _tp_time datetime64';
const T0 = 1_700_000_000_000;

let node: NodeProcess;
let client: Client;

before(async () => {
  node = await startNodeProcess(await makeDataDir());
  client = await connect(node.address);
});

after(async () => {
  await client?.close();
  if (node !== undefined) {
    assert.equal(await node.stop(), 0, 'SIGTERM exits 0');
    await removeDataDir(node.dataDir);
  }
});

async function endSeqs(stream: string): Promise<number[]> {
  return (await client.describeStream(stream)).shardInfo.map((s) => s.endSeq!);
}

async function collectBlocks(stream: string): Promise<ConsumedBlock[]> {
  const consumer = client.consumer(stream, { from: 'earliest' });
  const out: ConsumedBlock[] = [];
  try {
    for await (const b of blocks(consumer)) out.push(b);
  } finally {
    await consumer.close();
  }
  return out;
}

test('sendRows and sendBlock come back as zero-copy Blocks with schemaVersion, rowCount and event time in the header', async () => {
  await client.createStream('metrics', { schema: SCHEMA_TEXT });
  const d = await client.describeStream('metrics');
  assert.ok(d.schemaVersion > 0);
  const bp = await blockProducer(client, 'metrics', { shard: 0 });
  assert.equal(bp.schemaVersion, d.schemaVersion);

  const rowsA = [
    { host: 'a', cpu: 0.5, n: 1, ok: true, _tp_time: T0 + 30 },
    { host: 'bé', cpu: -1.25, n: null, ok: false, _tp_time: T0 + 10 },
    { host: '', cpu: 3, n: '9007199254740993', ok: true, _tp_time: new Date(T0 + 20).toISOString() },
  ];
  const rowsB = Array.from({ length: 1000 }, (_, i) => ({ host: `h${i % 7}`, cpu: i / 8, n: i % 3 === 0 ? null : i * 1000, ok: i % 2 === 0, _tp_time: T0 + 1000 - i }));
  const blockB = rowsToBlock(bp.schema, rowsB);
  const a = await bp.sendRows(rowsA);
  // a misaligned copy of the block: the producer must still send it whole
  const shifted = new Uint8Array(blockB.length + 3);
  shifted.set(blockB, 3);
  const b = await bp.sendBlock(shifted.subarray(3));
  const c = await bp.sendRows([{ host: 'keyed', cpu: 1, n: 2, ok: true, _tp_time: T0 + 5 }], { key: 'k-1', headers: { trace: 'x' } });
  await bp.close();
  assert.deepEqual([a.seq, b.seq, c.seq], [0, 1, 2]);

  const got = await collectBlocks('metrics');
  assert.equal(got.length, 3);
  const expected = [
    { rows: rowsA, min: T0 + 10, max: T0 + 30 },
    { rows: rowsB, min: T0 + 1, max: T0 + 1000 },
    { rows: null, min: T0 + 5, max: T0 + 5 },
  ];
  for (const [i, { record, block, copied }] of got.entries()) {
    const want = expected[i]!;
    assert.equal(record.codec, CODEC_BLOCK);
    assert.equal(record.schemaVersion, d.schemaVersion);
    assert.equal(record.rowCount, block.rowCount);
    assert.equal(record.eventTime, want.min, `record ${i} event time min`);
    assert.equal(record.eventTimeMax, want.max, `record ${i} event time max`);
    // zero copy: the block and every column view lie in the buffer the consumer received
    assert.equal(copied, false);
    assert.equal(block.copied, false);
    assert.equal(block.bytes.buffer, record.value.buffer);
    for (const col of block.columns) assert.equal(col.values.buffer, record.value.buffer, `column ${col.name} is a view over the received buffer`);
    assert.equal(block.columnOf('cpu', 'float64').values.byteOffset % 8, 0);
  }
  assert.equal(Buffer.from(got[1]!.record.value).equals(Buffer.from(blockB)), true, 'sendBlock bytes arrive byte-identical');
  assert.deepEqual(blockToRows(got[0]!.block), [
    { host: 'a', cpu: 0.5, n: 1, ok: true, _tp_time: T0 + 30 },
    { host: 'bé', cpu: -1.25, n: null, ok: false, _tp_time: T0 + 10 },
    { host: '', cpu: 3, n: '9007199254740993', ok: true, _tp_time: T0 + 20 },
  ]);
  assert.deepEqual(blockToRows(got[1]!.block), rowsB);
  assert.deepEqual(Array.from(got[1]!.block.columnOf('cpu', 'float64').values.subarray(0, 3)), [0, 0.125, 0.25]);
  assert.equal(Buffer.from(got[2]!.record.key).toString(), 'k-1');
  assert.equal(Buffer.from(got[2]!.record.headers[0]!.value).toString(), 'x');
});

test('rows() yields the same objects as `nativelog consume --json` on a schema stream', async () => {
  await client.createStream('cli-shape', { schema: 'host string, v nullable(int64), _tp_time datetime64', shards: 2 });
  const bp = await blockProducer(client, 'cli-shape');
  await Promise.all([
    bp.sendRows([{ host: 'x', v: 1, _tp_time: T0 }, { host: 'y', v: null, _tp_time: T0 + 7 }], { shard: 0 }),
    bp.sendRows([{ host: 'z', v: '-9007199254740999', _tp_time: T0 + 3 }], { shard: 1 }),
    bp.sendRows([{ host: 'w', v: 4, _tp_time: T0 - 2 }], { shard: 1 }),
  ]);
  await bp.close();
  const consumer = client.consumer('cli-shape');
  const mine: unknown[] = [];
  for await (const r of rows(consumer)) mine.push(r);
  await consumer.close();
  assert.equal(mine.length, 4);
  const out = await cli(['consume', 'cli-shape', '--json', '--server', node.address]);
  assert.equal(out.code, 0, out.stderr);
  const theirs = lines(out.stdout).map((l) => JSON.parse(l) as unknown);
  const key = (r: unknown) => { const x = r as { shard: number; seq: number; row: number }; return x.shard * 1e6 + x.seq * 1e3 + x.row; };
  const sort = (xs: unknown[]) => [...xs].sort((p, q) => key(p) - key(q));
  assert.deepEqual(sort(mine), sort(theirs));
  assert.deepEqual((mine.find((r) => (r as { values: { host: string } }).values.host === 'y') as { row: number; eventTime: number }).eventTime, T0 + 7);
});

test('sendBlock with a block that does not match the schema is refused and nothing is written', async () => {
  await client.createStream('strict', { schema: SCHEMA_TEXT });
  const bp = await blockProducer(client, 'strict', { shard: 0 });
  await bp.sendRows([{ host: 'ok', cpu: 1, n: 1, ok: true, _tp_time: T0 }]);
  const before = await endSeqs('strict');
  assert.deepEqual(before, [1]);

  const wrongType = parseSchema('host string, cpu float32, n nullable(int64), ok bool, _tp_time datetime64');
  const notNullable = parseSchema('host string, cpu float64, n int64, ok bool, _tp_time datetime64');
  const missing = parseSchema('host string, cpu float64, n nullable(int64), ok bool');
  const extra = parseSchema(`${SCHEMA_TEXT}, more string`);
  const renamed = parseSchema('host string, load float64, n nullable(int64), ok bool, _tp_time datetime64');
  const row = { host: 'h', cpu: 1, load: 1, n: 1, ok: true, _tp_time: T0, more: 'm' };
  const cases: [string, Uint8Array, RegExp][] = [
    ['wrong type', rowsToBlock(wrongType, [row], { unknownFields: 'ignore' }), /column "cpu" is float32; the schema says float64/],
    ['nullability', rowsToBlock(notNullable, [row], { unknownFields: 'ignore' }), /column "n" is int64; the schema says nullable\(int64\)/],
    ['missing column', rowsToBlock(missing, [row], { unknownFields: 'ignore' }), /lacks column 5 "_tp_time"/],
    ['extra column', rowsToBlock(extra, [row], { unknownFields: 'ignore' }), /extra column 6 "more"/],
    ['renamed column', rowsToBlock(renamed, [row], { unknownFields: 'ignore' }), /column 2 is "load"; the schema says "cpu"/],
  ];
  for (const [what, bytes, message] of cases) {
    await assert.rejects(bp.sendBlock(bytes), (e: unknown) => e instanceof SchemaError && message.test(e.message), what);
  }
  await assert.rejects(bp.sendBlock(new Uint8Array(64)), BlockError, 'bytes that are not a block');
  await assert.rejects(bp.sendBlock(new TextEncoder().encode('{"host":"h"}')), BlockError);
  await assert.rejects(bp.sendRows([{ host: 'h', cpu: 'high', n: 1, ok: true, _tp_time: T0 }]), (e: unknown) => e instanceof RowError && e.row === 1 && /column "cpu"/.test(e.message));
  await assert.rejects(bp.sendRows([{ host: 'h', cpu: 1, n: 1, ok: true, _tp_time: T0, extra: 1 }]), RowError);
  await assert.rejects(bp.sendRows([]), RangeError);
  await bp.flush();
  await bp.close();
  assert.deepEqual(await endSeqs('strict'), before, 'describe: endSeq unchanged after every refusal');
});

test('blockProducer refuses a stream without a schema; blocks() errors on raw records unless told to skip them', async () => {
  await client.createStream('raw');
  await assert.rejects(blockProducer(client, 'raw'), (e: unknown) => e instanceof SchemaError && /has no schema/.test(e.message));

  await client.createStream('mixed', { schema: 'v int32' });
  const raw = client.producer('mixed', { shard: 0 });
  const bp = await blockProducer(client, 'mixed', { shard: 0 });
  await bp.sendRows([{ v: 1 }]);
  await raw.send({ value: 'plain text' });
  await bp.sendBlock(encodeBlock(bp.schema, { v: new Int32Array([2, 3]) }));
  await raw.close();
  await bp.close();

  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const { block } of blocks(client.consumer('mixed'))) seen.push(...block.columnOf('v', 'int32').values);
    })(),
    (e: unknown) => e instanceof NotABlockError && e.seq === 1 && e.codec === CODEC_RAW && /shard 0 seq 1/.test(e.message),
  );
  assert.deepEqual(seen, [1]);

  const skipped: number[] = [];
  for await (const { block } of blocks(client.consumer('mixed'), { nonBlock: 'skip', schema: bp.schema })) skipped.push(...block.columnOf('v', 'int32').values);
  assert.deepEqual(skipped, [1, 2, 3]);
  const values: unknown[] = [];
  for await (const r of rows(client.consumer('mixed'), { nonBlock: 'skip' })) values.push(r.values['v']);
  assert.deepEqual(values, [1, 2, 3]);
});
