/**
 * The command line's replicated-shards surface (issue 15) against a real
 * single node (test/torture/harness/node-proc.ts): describe --json carries
 * the placement fields, consume --json the epoch read from the record
 * header, --server takes a list (a dead first address is skipped), and
 * produce --acks takes none|leader|quorum and refuses anything else with one
 * sentence.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect } from '../../src/client/index.js';
import { NodeProcess } from '../torture/harness/node-proc.js';
import { tempDir } from '../torture/harness/tmp.js';
import { cli, lines } from './cli-process.js';

let node: NodeProcess;
let cleanup: () => void;
/** A loopback port nothing listens on (bound, then closed). */
let deadAddress: string;

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

before(async () => {
  const t = tempDir('cli-repl');
  cleanup = t.cleanup;
  node = await NodeProcess.start(t.dir);
  deadAddress = `127.0.0.1:${await closedPort()}`;
});

after(async () => {
  await node.stop();
  cleanup();
});

const srv = (): string[] => ['--server', node.address];

interface ShardJson {
  shard: number;
  startSeq: number;
  endSeq: number;
  bytes: number;
  segmentFiles: number;
  failed: string | null;
  sequencer: number | null;
  epoch: number;
  underReplicated: boolean;
  segments: unknown[];
}

test('describe --json: every shard has sequencer, epoch, endSeq, underReplicated and segments (none placed on a single node)', async () => {
  assert.equal((await cli(['stream', 'create', 'placed', '--shards', '2', ...srv()])).code, 0);
  const p = await cli(['produce', 'placed', '--shard', '1', ...srv()], { input: 'a\nb\nc\n' });
  assert.equal(p.code, 0, p.stderr);
  const d = await cli(['stream', 'describe', 'placed', '--json', ...srv()]);
  assert.equal(d.code, 0, d.stderr);
  const shards = (JSON.parse(d.stdout.toString()) as { shards: ShardJson[] }).shards;
  assert.deepEqual(
    shards.map((s) => ({ shard: s.shard, endSeq: s.endSeq, sequencer: s.sequencer, epoch: s.epoch, underReplicated: s.underReplicated, segments: s.segments, failed: s.failed })),
    [
      { shard: 0, endSeq: 0, sequencer: null, epoch: 0, underReplicated: false, segments: [], failed: null },
      { shard: 1, endSeq: 3, sequencer: null, epoch: 0, underReplicated: false, segments: [], failed: null },
    ],
  );
  assert.ok(shards.every((s) => typeof s.segmentFiles === 'number' && s.segmentFiles >= 1), 'the local segment file count');
  const t = await cli(['stream', 'describe', 'placed', ...srv()]);
  assert.match(t.stdout.toString(), /^1\s+0\s+3\s+\d+\s+\d+\s+-\s+0\s+ok$/m, 'text: sequencer "-" and epoch 0');
});

test('consume --json lines carry "epoch" from the record header (0 on a single node)', async () => {
  assert.equal((await cli(['stream', 'create', 'epochs', ...srv()])).code, 0);
  assert.equal((await cli(['produce', 'epochs', ...srv()], { input: 'x\ny\n' })).code, 0);
  const c = await cli(['consume', 'epochs', '--json', ...srv()]);
  assert.equal(c.code, 0, c.stderr);
  const recs = lines(c.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(recs.map((r) => [r['seq'], r['epoch'], r['payload']]), [[0, 0, 'x'], [1, 0, 'y']]);
  assert.deepEqual(Object.keys(recs[0]!), ['shard', 'seq', 'epoch', 'appendTime', 'eventTime', 'payload']);
});

test('--server with a dead first address: create, list, describe, produce and consume use the next one', async () => {
  const list = ['--server', `${deadAddress},${node.address}`];
  const c = await cli(['stream', 'create', 'listed', '--shards', '2', ...list]);
  assert.equal(c.code, 0, c.stderr);
  const l = await cli(['stream', 'list', '--json', ...list]);
  assert.ok(lines(l.stdout).some((x) => (JSON.parse(x) as { name: string }).name === 'listed'));
  const p = await cli(['produce', 'listed', '--json', ...list], { input: 'one\ntwo\nthree\nfour\n' });
  assert.equal(p.code, 0, p.stderr);
  assert.equal((JSON.parse(lines(p.stdout).at(-1)!) as { acked: number }).acked, 4);
  const k = await cli(['consume', 'listed', '--json', ...list]);
  assert.equal(k.code, 0, k.stderr);
  assert.deepEqual(lines(k.stdout).map((x) => (JSON.parse(x) as { payload: string }).payload).sort(), ['four', 'one', 'three', 'two']);
  const d = await cli(['stream', 'describe', 'listed', '--json', '--server', ` ${deadAddress} , ${node.address} `]);
  assert.equal(d.code, 0, d.stderr);
});

test('--server: a malformed list is a usage error (exit 2), a list of dead nodes one sentence naming them (exit 1)', async () => {
  const bad = await cli(['stream', 'list', '--server', `${node.address},,${deadAddress}`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--server must be HOST:PORT or a comma-separated list/);
  const dead = await cli(['stream', 'list', '--server', `${deadAddress},${deadAddress}`]);
  assert.equal(dead.code, 1);
  assert.equal(lines(Buffer.from(dead.stderr)).length, 1, 'one line on stderr');
  assert.match(dead.stderr, /^Cannot connect to any of the nodes /);
});

test('produce --acks leader|quorum ack every record; --acks none reports them unacknowledged and the node still stores them', async () => {
  assert.equal((await cli(['stream', 'create', 'acked', ...srv()])).code, 0);
  for (const acks of ['leader', 'quorum']) {
    const p = await cli(['produce', 'acked', '--acks', acks, '--json', ...srv()], { input: 'a\nb\n' });
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(JSON.parse(lines(p.stdout).at(-1)!), { acked: 2, ranges: [{ shard: 0, first: acks === 'leader' ? 0 : 2, last: acks === 'leader' ? 1 : 3 }] });
  }
  const n = await cli(['produce', 'acked', '--acks', 'none', '--json', ...srv()], { input: 'c\nd\ne\n' });
  assert.equal(n.code, 0, n.stderr);
  assert.deepEqual(JSON.parse(lines(n.stdout).at(-1)!), { acked: 0, unacknowledged: 3, ranges: [] });
  const text = await cli(['produce', 'acked', '--acks', 'none', ...srv()], { input: 'f\n' });
  assert.match(text.stdout.toString(), /^sent 1 record without waiting for acks \(--acks none\)$/m);
  // Not waited for, but written: the node stores them (poll, bounded).
  const client = await connect(node.address);
  try {
    const until = Date.now() + 10_000;
    let end = 0;
    while (Date.now() < until && (end = (await client.describeStream('acked')).shardInfo[0]!.endSeq!) < 8) await new Promise((r) => setTimeout(r, 50));
    assert.equal(end, 8, 'the 4 records sent with --acks none were stored');
  } finally {
    await client.close();
  }
});

test('produce --acks with another value is refused with one sentence before anything is sent (exit 2)', async () => {
  const p = await cli(['produce', 'acked', '--acks', 'all', ...srv()], { input: 'z\n' });
  assert.equal(p.code, 2);
  assert.equal(p.stderr.trim(), '--acks must be none, leader or quorum, got "all".');
  assert.equal(p.stdout.length, 0, 'nothing was sent');
});
