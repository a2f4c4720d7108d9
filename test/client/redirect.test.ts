/**
 * Producer and consumer routing for replicated shards (issue 15), against a
 * real node process behind a RedirectServer (a stand-in member built from the
 * real frame codec that is not the shards' sequencer and stores nothing):
 *
 * - append answered NOT_LEADER with the real node's address: the producer
 *   moves the shard there and resends the same bytes at once;
 * - append answered FENCED, or NOT_LEADER without an address: the producer
 *   reads describeStream + clusterStatus again and follows the sequencer;
 * - fetch answered NOT_LEADER naming a replica: the consumer moves there and
 *   resumes at its next seq;
 * - the node the consumer reads from dies mid-stream: it resumes on the other
 *   server of its list at its next seq;
 * - a hint naming a dead node: the pooled connection fails at once and the
 *   producer reads the metadata again instead of waiting out its timeout;
 * - a sequencer that never answers (paused): an idempotent producer in a
 *   cluster gives up on it after CLUSTER_APPEND_ANSWER_WAIT_MS and follows
 *   the metadata;
 * - a fetch answer that would skip a seq is refused (the dense-seq assertion).
 *
 * Every case checks what landed on the real node: each record once, in
 * send order, seqs dense.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect, type Client } from '../../src/client/index.js';
import { CLUSTER_APPEND_ANSWER_WAIT_MS } from '../../src/client/producer.js';
import { NodeProcess } from '../torture/harness/node-proc.js';
import { tempDir } from '../torture/harness/tmp.js';
import { RedirectServer, type RedirectBehaviour } from './redirect-server.js';

/** Client timeout: a client that does not follow the answer fails well within the test's bounds. */
const TIMEOUT_MS = 6000;
const SHARDS = 2;
const RECORDS = 400;

let node: NodeProcess;
let cleanup: () => void;
const opened: (Client | RedirectServer)[] = [];

before(async () => {
  const t = tempDir('redirect');
  cleanup = t.cleanup;
  node = await NodeProcess.start(t.dir);
});

after(async () => {
  for (const x of opened.reverse()) await x.close().catch(() => undefined);
  await node.stop();
  cleanup();
});

async function fake(b: Partial<RedirectBehaviour>): Promise<RedirectServer> {
  const r = await RedirectServer.start(node.address, { append: 'proxy', fetch: 'proxy', sequencer: () => null, ...b });
  opened.push(r);
  return r;
}

async function client(servers: string | string[]): Promise<Client> {
  const c = await connect(servers, { timeoutMs: TIMEOUT_MS, reconnectMinMs: 20, reconnectMaxMs: 200 });
  opened.push(c);
  return c;
}

/** Sends RECORDS records "i" round-robin over the shards through `c`; resolves to the acks. */
async function produce(c: Client, stream: string): Promise<{ shard: number; seq: number }[]> {
  const p = c.producer(stream, { maxBatchBytes: 4096 });
  const acks = await Promise.all(Array.from({ length: RECORDS }, (_, i) => p.send({ value: String(i), shard: i % SHARDS })));
  await p.close();
  return acks;
}

/** Reads the stream straight from the real node: per shard the payloads in seq order, seqs checked dense from 0. */
async function readBack(stream: string): Promise<string[][]> {
  const direct = await client(node.address);
  const out: string[][] = Array.from({ length: SHARDS }, () => []);
  for await (const r of direct.consumer(stream)) {
    assert.equal(r.seq, out[r.shard]!.length, 'dense seqs from 0');
    out[r.shard]!.push(Buffer.from(r.value).toString());
  }
  return out;
}

/** What the producer sent: shard k holds k, k+SHARDS, k+2*SHARDS, ... in this order, each once. */
function expected(): string[][] {
  return Array.from({ length: SHARDS }, (_, k) => Array.from({ length: RECORDS / SHARDS }, (_, j) => String(k + j * SHARDS)));
}

test('append answered NOT_LEADER with an address: the producer follows the hint; every record lands once, in order', async () => {
  const f = await fake({ append: 'hint' });
  await (await client(node.address)).createStream('hinted', { shards: SHARDS });
  const c = await client(f.address);
  const acks = await produce(c, 'hinted');
  for (let k = 0; k < SHARDS; k++) assert.deepEqual(acks.filter((a) => a.shard === k).map((a) => a.seq), Array.from({ length: RECORDS / SHARDS }, (_, j) => j), `shard ${k} acked dense`);
  assert.deepEqual(await readBack('hinted'), expected());
  assert.ok(f.counts.appendParts >= 1 && f.counts.appendParts <= SHARDS, `only each shard's first batch went to the stand-in (${f.counts.appendParts} parts)`);
  assert.deepEqual(c.pool.addresses(), [node.address], 'a pooled connection to the hinted node');
  assert.equal(f.counts.describe, 1, 'a hint needs no metadata refresh');
});

for (const refusal of ['fenced', 'noHint'] as const) {
  test(`append answered ${refusal === 'fenced' ? 'FENCED' : 'NOT_LEADER without an address'}: the producer refreshes the metadata and follows the new sequencer`, async () => {
    const stream = `refresh-${refusal}`;
    // The first describe names the stand-in (node 1) as the sequencer; later ones the real node (node 2): a failover.
    const f = await fake({ append: refusal, sequencer: (before) => (before === 0 ? 1 : 2) });
    await (await client(node.address)).createStream(stream, { shards: SHARDS });
    const c = await client(f.address);
    await produce(c, stream);
    assert.deepEqual(await readBack(stream), expected());
    assert.ok(f.counts.appendParts >= 1 && f.counts.appendParts <= SHARDS, `only each shard's first batch went to the stand-in (${f.counts.appendParts} parts)`);
    assert.ok(f.counts.describe >= 2 && f.counts.clusterStatus >= 1, `metadata read again (${f.counts.describe} describes, ${f.counts.clusterStatus} statuses)`);
    assert.deepEqual(c.pool.addresses(), [node.address]);
  });
}

test('a producer on a placed stream goes to the sequencer from the start (describe + clusterStatus)', async () => {
  const f = await fake({ append: 'fenced', sequencer: () => 2 });
  await (await client(node.address)).createStream('placed', { shards: SHARDS });
  const c = await client(f.address);
  await produce(c, 'placed');
  assert.deepEqual(await readBack('placed'), expected());
  assert.equal(f.counts.append, 0, 'no append reached the stand-in');
});

test('fetch answered NOT_LEADER naming a replica: the consumer moves there and reads every record once, in order', async () => {
  const direct = await client(node.address);
  await direct.createStream('readable', { shards: SHARDS });
  await produce(direct, 'readable');
  const f = await fake({ fetch: 'replicas' });
  const c = await client(f.address);
  const got: string[][] = Array.from({ length: SHARDS }, () => []);
  for await (const r of c.consumer('readable', { maxBytes: 1024 })) {
    assert.equal(r.seq, got[r.shard]!.length, 'next seq, never re-delivered or skipped');
    got[r.shard]!.push(Buffer.from(r.value).toString());
  }
  assert.deepEqual(got, expected());
  assert.equal(f.counts.fetch, SHARDS, 'each shard asked the stand-in once, then the replica');
  assert.deepEqual(c.pool.addresses(), [node.address]);
});

test('the node a consumer reads from dies mid-stream: it resumes on the next server of its list at its next seq', async () => {
  const direct = await client(node.address);
  await direct.createStream('failover', { shards: SHARDS });
  await produce(direct, 'failover');
  const f = await fake({ fetch: 'proxy' });
  const c = await client([f.address, node.address]);
  const got: string[][] = Array.from({ length: SHARDS }, () => []);
  let n = 0;
  for await (const r of c.consumer('failover', { maxBytes: 1024 })) {
    assert.equal(r.seq, got[r.shard]!.length, 'next seq, never re-delivered or skipped');
    got[r.shard]!.push(Buffer.from(r.value).toString());
    if (++n === 50) await f.kill();
  }
  assert.deepEqual(got, expected());
  assert.ok(f.counts.fetch >= 2, 'the stand-in served the start');
});

test('a fetch answer that would skip a seq ends the consumer with BAD_RESPONSE instead of skipping it', async () => {
  const direct = await client(node.address);
  await direct.createStream('skewed', { shards: 1 });
  const p = direct.producer('skewed');
  await Promise.all(Array.from({ length: 20 }, (_, i) => p.send({ value: String(i) })));
  await p.close();
  const f = await fake({ fetch: 'skipSeq' });
  const c = await client(f.address);
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const r of c.consumer('skewed', { maxBytes: 256 })) seen.push(r.seq);
    })(),
    (e: Error & { codeName?: string }) => e.codeName === 'BAD_RESPONSE' && /never re-delivers or skips/.test(e.message),
  );
  assert.deepEqual(seen, [], 'nothing of the bad answer handed out');
});

test('the append header carries acks "leader" and "none" as given, and no acks field for the default quorum', async () => {
  const f = await fake({ append: 'proxy' });
  await (await client(node.address)).createStream('acks', { shards: 1 });
  const c = await client(f.address);
  for (const acks of [undefined, 'quorum', 'leader', 'none'] as const) {
    const p = c.producer('acks', acks === undefined ? {} : { acks });
    const r = await p.send({ value: String(acks) });
    await p.flush();
    if (acks === 'none') assert.deepEqual(r, { shard: 0, seq: -1, unacknowledged: true });
    else assert.equal(typeof r.seq, 'number');
  }
  // The "none" frame was written when send() resolved; the stand-in reads it a moment later.
  for (const until = Date.now() + 5000; f.appendAcks.length < 4 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(f.appendAcks, [undefined, undefined, 'leader', 'none']);
  assert.throws(() => c.producer('acks', { acks: 'all' as never }), /acks must be one of none, leader, quorum/);
  assert.throws(() => c.producer('acks', { acks: 'none', idempotent: true }), /cannot be idempotent/);
});

async function closedAddress(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

test('a NOT_LEADER hint naming a dead node: the dial fails at once and the producer follows the refreshed metadata', async () => {
  // First describe: no placement (the producer starts on the stand-in); later ones: the real node is the sequencer.
  const f = await fake({ append: 'hintDead', deadAddress: await closedAddress(), sequencer: (before) => (before === 0 ? null : 2) });
  await (await client(node.address)).createStream('dead-hint', { shards: SHARDS });
  const c = await client(f.address);
  const t0 = Date.now();
  await produce(c, 'dead-hint');
  // Redialing the dead address until the attempt's wait ran out would take CLUSTER_APPEND_ANSWER_WAIT_MS at least.
  assert.ok(Date.now() - t0 < CLUSTER_APPEND_ANSWER_WAIT_MS / 2, `done without waiting on the dead node (${Date.now() - t0} ms)`);
  assert.deepEqual(await readBack('dead-hint'), expected());
  assert.ok(f.counts.describe >= 2, 'metadata read again after the dead hint');
});

test('a sequencer that never answers: the idempotent producer gives up on it after CLUSTER_APPEND_ANSWER_WAIT_MS and follows the metadata', async () => {
  // First describe: the stand-in (node 1) is the sequencer and swallows appends; later ones name the real node.
  const f = await fake({ append: 'silent', sequencer: (before) => (before === 0 ? 1 : 2) });
  await (await client(node.address)).createStream('paused', { shards: SHARDS });
  const c = await client(f.address);
  await produce(c, 'paused');
  assert.deepEqual(await readBack('paused'), expected());
  assert.ok(f.counts.append >= 1, 'the first batches went to the silent sequencer');
  assert.deepEqual(c.pool.addresses(), [node.address]);
});

test('a replica that never answers a fetch (paused): the consumer moves to another replica of the segment after CLUSTER_FETCH_ANSWER_WAIT_MS', async () => {
  const direct = await client(node.address);
  await direct.createStream('paused-read', { shards: SHARDS });
  await produce(direct, 'paused-read');
  // Every describe places the shards on the real node (node 2); the stand-in (node 1, the primary) swallows fetches.
  const f = await fake({ fetch: 'silent', sequencer: () => 2 });
  const c = await client(f.address);
  const got: string[][] = Array.from({ length: SHARDS }, () => []);
  for await (const r of c.consumer('paused-read', { maxBytes: 1024 })) {
    assert.equal(r.seq, got[r.shard]!.length, 'next seq, never re-delivered or skipped');
    got[r.shard]!.push(Buffer.from(r.value).toString());
  }
  assert.deepEqual(got, expected());
  assert.equal(f.counts.fetch, SHARDS, 'each shard asked the silent node once');
  assert.deepEqual(c.pool.addresses(), [node.address]);
});
