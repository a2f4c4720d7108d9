/**
 * The node-wide client memory budget (src/node/memory-budget.ts, issue 13
 * finding 6): its grant rules on their own, the accounting of a node in this
 * process (held bytes go back to zero when a client that never read goes
 * away), and a real node process whose RSS must stay under idle + budget +
 * slack while one client pipelines 256 large fetches and never reads its
 * socket, and a well-behaved client keeps producing and consuming.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { connect, type Client } from '../../src/client/client.js';
import { MemoryBudget } from '../../src/node/memory-budget.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { FLAG_ERROR, encodeFrameBytes, unpackHeader } from '../../src/protocol/frame.js';
import { OP } from '../../src/protocol/ops.js';
import { NodeProcess } from '../torture/harness/node-proc.js';
import { tempDir } from '../torture/harness/tmp.js';
import { startTestNode } from './in-process-node.js';
import { RawConnection } from './raw-connection.js';

const MiB = 1024 * 1024;
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the grant rules ---

test('memory budget: answers are granted while they fit, wait past the budget, and are granted in order as bytes come back', async () => {
  const m = new MemoryBudget(4000); // a connection may hold 1000
  const a = m.account();
  const b = m.account();
  const c = m.account();
  const d = m.account();
  const la = await a.acquireAnswer(1000);
  const lb = await b.acquireAnswer(1000);
  const lc = await c.acquireAnswer(1000);
  assert.equal(m.heldBytes, 3000);
  const order: string[] = [];
  const ld = d.acquireAnswer(1000).then((l) => (order.push('d'), l));
  const le = m.account().acquireAnswer(1000).then((l) => (order.push('e'), l));
  await tick();
  assert.deepEqual(order, ['d'], 'd fits (4000 of 4000); e does not');
  la.release();
  await tick();
  assert.deepEqual(order, ['d', 'e']);
  assert.equal(m.heldBytes, 4000);
  assert.equal(m.highWaterBytes, 4000);
  for (const l of [lb, lc, await ld, await le]) l.release();
  assert.equal(m.heldBytes, 0);
});

test('memory budget: one connection holds at most its share; its waiting answers do not hold up another connection', async () => {
  const m = new MemoryBudget(4000);
  const slow = m.account();
  const l1 = await slow.acquireAnswer(600);
  let slowGranted = false;
  const l2 = slow.acquireAnswer(600).then((l) => ((slowGranted = true), l));
  const other = await m.account().acquireAnswer(1000); // queued behind slow's waiter, granted at once all the same
  await tick();
  assert.equal(slowGranted, false, '600 + 600 is past the 1000 share');
  assert.equal(m.heldBytes, 1600);
  l1.release();
  const got = await l2;
  assert.equal(got.bytes, 600);
  got.release();
  other.release();
  assert.equal(m.heldBytes, 0);
});

test('memory budget: with nothing held an answer larger than the room is let through (no request waits forever); resize and release are exact', async () => {
  const m = new MemoryBudget(1000);
  const a = m.account();
  const big = await a.acquireAnswer(5000);
  assert.equal(m.heldBytes, 5000, 'let through: nothing was held');
  big.resize(300);
  assert.equal(m.heldBytes, 300);
  big.resize(1200); // a record larger than maxBytes
  assert.equal(m.heldBytes, 1200);
  big.release();
  big.release();
  assert.equal(m.heldBytes, 0, 'release is idempotent');
  assert.equal(m.highWaterBytes, 5000);
});

test('memory budget: reading new requests stops past the budget or past the connection share, and the paused connection is woken when room comes back', async () => {
  const m = new MemoryBudget(4000);
  const a = m.account();
  const b = m.account();
  assert.ok(a.mayStart(), 'nothing held: one request is always let through');
  a.setRequestBytes(1000);
  assert.equal(a.mayStart(), false, 'a holds its whole share');
  assert.ok(b.mayStart());
  b.setRequestBytes(999);
  const l = await m.account().acquireAnswer(2001);
  assert.equal(m.heldBytes, 4000);
  assert.equal(b.mayStart(), false, 'the node holds its budget');
  let woken = 0;
  m.waitForRoom(() => woken++);
  l.resize(2000);
  await tick();
  assert.equal(woken, 1);
  assert.ok(b.mayStart());
  a.setRequestBytes(0);
  b.setRequestBytes(0);
  l.release();
  assert.equal(m.heldBytes, 0);
});

test('memory budget: a closed connection cancels its waiting answers; close() fails every waiting and later answer with SHUTTING_DOWN', async () => {
  const m = new MemoryBudget(4000);
  const a = m.account();
  const held = await a.acquireAnswer(1000);
  const waiting = a.acquireAnswer(1000);
  a.close();
  await assert.rejects(waiting, (e: Error & { errorName?: string }) => e.errorName === 'SHUTTING_DOWN');
  held.release();
  const b = m.account();
  const h2 = await b.acquireAnswer(1000);
  const w2 = b.acquireAnswer(1000);
  m.close();
  await assert.rejects(w2, (e: Error & { errorName?: string }) => e.errorName === 'SHUTTING_DOWN');
  await assert.rejects(m.account().acquireAnswer(1), (e: Error & { errorName?: string }) => e.errorName === 'SHUTTING_DOWN');
  h2.release();
  assert.equal(m.heldBytes, 0);
});

// --- a client that pipelines fetches and never reads ---

/**
 * A raw client that sends hello and then whatever it is told, and does not
 * read its socket until resume(); it then counts the answers, keeping only
 * their headers (not the record bytes) so the test process stays small.
 */
class NonReader {
  readonly answers = new Map<number, { error: boolean; header: Record<string, unknown> }>();
  private readonly decoder = new FrameDecoder({ frameBytesMax: 256 * MiB, headerBytesMax: 64 * 1024 });
  private onAnswer: (() => void) | null = null;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let r = this.decoder.next(); r !== null; r = this.decoder.next()) {
        if ('error' in r) throw new Error(`garbled answer: ${r.error.message}`);
        this.answers.set(r.frame.requestId, { error: (r.frame.flags & FLAG_ERROR) !== 0, header: unpackHeader(r.frame.header) as Record<string, unknown> });
      }
      this.onAnswer?.();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<NonReader> {
    const socket = netConnect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new NonReader(socket);
    socket.write(encodeFrameBytes({ version: 1, flags: 0, op: OP.HELLO, requestId: 1, header: { versions: [1], client: 'non-reader' } }));
    await c.until(() => c.answers.has(1), 10_000, 'hello');
    socket.pause(); // from here on, nothing is read until resume()
    return c;
  }

  fetches(n: number, header: Record<string, unknown>, firstId: number): void {
    for (let i = 0; i < n; i++) this.socket.write(encodeFrameBytes({ version: 1, flags: 0, op: OP.FETCH, requestId: firstId + i, header }));
  }

  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.answers.size} answers)`)), timeoutMs);
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.onAnswer = null;
        resolve();
      };
      this.onAnswer = check;
      check();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

async function load(client: Client, stream: string, records: number, recordBytes: number): Promise<void> {
  const p = client.producer(stream, { shard: 0, maxBatchBytes: 4 * MiB });
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < records; i++) sends.push(p.send({ value: new Uint8Array(recordBytes).fill(i & 0xff) }));
  await Promise.all(sends);
  await p.close();
}

test('memory budget in a node: a client that pipelines fetches and never reads holds at most about its share; everything it held is returned once it goes', async () => {
  const budgetBytes = 4 * MiB;
  const t = await startTestNode({ clientMemoryBytesMax: budgetBytes });
  let client: Client | undefined;
  let slow: NonReader | undefined;
  try {
    client = await connect(t.address);
    await client.createStream('b', { shards: 1 });
    await load(client, 'b', 64, 64 * 1024);
    slow = await NonReader.open(t.node.port);
    slow.fetches(64, { namespace: 'default', name: 'b', shard: 0, fromSeq: 0, maxBytes: MiB, maxWaitMs: 0 }, 100);
    // The well-behaved client keeps working meanwhile.
    for (let i = 0; i < 20; i++) {
      const r = await client.connection.request(OP.FETCH, { namespace: 'default', name: 'b', shard: 0, fromSeq: (i * 7) % 64, maxBytes: 512 * 1024, maxWaitMs: 0 });
      assert.ok(Number(r.header['count']) > 0);
    }
    await sleep(200);
    const m = t.node.memory;
    const share = m.connectionBytesMax;
    assert.equal(share, MiB);
    assert.ok(m.breakdown.answerBytes >= share / 2, `the non-reader's answers are counted while its socket does not flush them (${JSON.stringify(m.breakdown)})`);
    assert.ok(m.heldBytes <= share + MiB + 64 * 1024, `held ${m.heldBytes}: at most the share plus one answer (${JSON.stringify(m.breakdown)})`);
    assert.ok(m.breakdown.answersWaiting > 0, 'its other fetches wait for room');
    assert.ok(m.highWaterBytes <= budgetBytes + MiB + 64 * 1024, `high-water ${m.highWaterBytes}`);
    slow.destroy();
    slow = undefined;
    // Read-ahead started for the well-behaved client's fetches lives up to READAHEAD_TTL_MS (1 s).
    for (let i = 0; i < 60 && m.heldBytes > 0; i++) await sleep(50);
    assert.deepEqual({ held: m.heldBytes, ...m.breakdown }, { held: 0, requestBytes: 0, answerBytes: 0, readaheadBytes: 0, answersWaiting: 0, connectionsWaiting: 0 });
  } finally {
    slow?.destroy();
    await client?.close();
    await t.stop();
  }
});

test('memory budget in a node: a non-reader that resumes reading gets every pipelined answer, none failed or dropped', async () => {
  const t = await startTestNode({ clientMemoryBytesMax: 4 * MiB });
  let client: Client | undefined;
  let slow: NonReader | undefined;
  try {
    client = await connect(t.address);
    await client.createStream('b', { shards: 1 });
    await load(client, 'b', 32, 64 * 1024);
    slow = await NonReader.open(t.node.port);
    slow.fetches(64, { namespace: 'default', name: 'b', shard: 0, fromSeq: 0, maxBytes: 8 * MiB, maxWaitMs: 0 }, 100);
    await sleep(200);
    slow.socket.resume();
    await slow.until(() => slow!.answers.size === 65, 20_000, 'every answer');
    for (let i = 0; i < 64; i++) {
      const a: { error: boolean; header: Record<string, unknown> } = slow.answers.get(100 + i)!;
      assert.equal(a.error, false, JSON.stringify(a.header));
      assert.equal(a.header['firstSeq'], 0);
      const count = Number(a.header['count']);
      assert.ok(count > 0 && count <= 16, `maxBytes clamped to the 1 MiB share: at most 16 records of 64 KiB, not all 32; got ${count}`);
    }
    for (let i = 0; i < 60 && t.node.memory.heldBytes > 0; i++) await sleep(50);
    assert.equal(t.node.memory.heldBytes, 0);
  } finally {
    slow?.destroy();
    await client?.close();
    await t.stop();
  }
});

test('memory budget in a node: a frame is reserved whole from its length prefix; past the budget no connection starts another, a started one is still read to the end', { timeout: 20_000 }, async () => {
  const budgetBytes = 256 * 1024; // a connection may hold 64 KiB
  const t = await startTestNode({ clientMemoryBytesMax: budgetBytes });
  const conns: RawConnection[] = [];
  try {
    const m = t.node.memory;
    // 8 connections each send the first 1 KiB of a 200 KiB append frame, then stall.
    const frameBytes = 200 * 1024;
    const frames: Uint8Array[] = [];
    for (let c = 0; c < 8; c++) conns.push(await RawConnection.open(t.node.port)); // hello first: past the budget even hello waits
    for (let c = 0; c < 8; c++) {
      const raw = conns[c]!;
      const f = encodeFrameBytes({ version: 1, flags: 0, op: OP.APPEND, requestId: 7, header: { name: 'nope', parts: [] }, body: [new Uint8Array(frameBytes - 64)] });
      frames.push(f);
      raw.write(f.subarray(0, 1024));
      await sleep(20);
    }
    await sleep(200);
    const b = m.breakdown;
    assert.equal(b.connectionsWaiting, 6, `two frames fit under the budget (0 and 200 KiB held when they began), six wait (${JSON.stringify(b)})`);
    assert.ok(b.requestBytes >= 2 * frames[0]!.length && b.requestBytes <= 2 * frames[0]!.length + 6 * 1024, `the two started frames are reserved whole, the others hold what was read (${JSON.stringify(b)})`);
    // A started frame is read to the end although the node is past its budget, and answered.
    conns[0]!.write(frames[0]!.subarray(1024));
    const r = await conns[0]!.response(7);
    assert.ok((r.flags & FLAG_ERROR) !== 0 && typeof r.header['message'] === 'string', 'answered (an append to no stream is refused)');
    // Its bytes are back: a waiting connection may begin its frame now, and finish it.
    await sleep(100);
    const after = m.breakdown;
    assert.ok(after.requestBytes >= 2 * frames[0]!.length && after.requestBytes <= 2 * frames[0]!.length + 5 * 1024, `one more frame was begun, no more (${JSON.stringify(after)})`);
    for (let c = 1; c < 8; c++) conns[c]!.write(frames[c]!.subarray(1024));
    for (let c = 1; c < 8; c++) assert.ok(((await conns[c]!.response(7)).flags & FLAG_ERROR) !== 0);
    await sleep(100);
    assert.equal(m.heldBytes, 0, JSON.stringify(m.breakdown));
    assert.ok(m.highWaterBytes <= budgetBytes + frames[0]!.length + 8 * 64 * 1024, `high-water ${m.highWaterBytes}`);
  } finally {
    for (const c of conns) c.destroy();
    await t.stop();
  }
});

test('memory budget in a node: long-polls whose frames would fill the budget do not keep out the append they wait for', { timeout: 15_000 }, async () => {
  const t = await startTestNode({ clientMemoryBytesMax: 256 * 1024 });
  const conns: RawConnection[] = [];
  let client: Client | undefined;
  try {
    client = await connect(t.address);
    await client.createStream('polls', { shards: 1 });
    // 8 connections pipeline 10 long-polls each, their frames padded to ~40 KiB: 3.2 MiB of request frames.
    const pad = 'x'.repeat(40 * 1024);
    for (let c = 0; c < 8; c++) {
      const raw = await RawConnection.open(t.node.port);
      conns.push(raw);
      for (let i = 0; i < 10; i++) raw.send({ version: 1, flags: 0, op: OP.FETCH, requestId: 1 + i, header: { name: 'polls', shard: 0, fromSeq: 0, maxBytes: 4096, maxWaitMs: 60_000, pad } });
    }
    await sleep(300);
    await client.producer('polls', { shard: 0, timeoutMs: 5000 }).send({ value: 'wake' });
    for (const raw of conns) for (let i = 0; i < 10; i++) assert.equal((await raw.response(1 + i)).header['count'], 1);
    for (let i = 0; i < 60 && t.node.memory.heldBytes > 0; i++) await sleep(50);
    assert.equal(t.node.memory.heldBytes, 0);
  } finally {
    for (const c of conns) c.destroy();
    await client?.close();
    await t.stop();
  }
});

// --- a real node process: RSS ---

/** The budget the node under test runs with. */
const BUDGET_BYTES = 64 * MiB;
/**
 * What a node may hold above idle + budget: V8 frees a flushed answer's
 * ArrayBuffer only at its next garbage collection, which it schedules after
 * about 64 MiB of external memory has been allocated since the last one (so
 * up to ~64 MiB of answers already given back to the budget may still be
 * resident); one answer (16 MiB here) and one request frame the let-through
 * rules allow past the budget; and V8 heap growth and allocator
 * fragmentation. Without the budget the same load holds 256 x 8 MiB = 2 GiB.
 */
const SLACK_BYTES = 128 * MiB;
const FETCHES = 256;
const FETCH_BYTES = 8 * MiB;
const RECORD_BYTES = 256 * 1024;
const RECORDS = 128; // 32 MiB of data
/** How long the well-behaved client works while the non-reader holds its share. */
const WORK_MS = 6000;
const RSS_SAMPLE_MS = 25;
/** A request of the well-behaved client not answered within this fails the test (it must make progress). */
const REQUEST_TIMEOUT_MS = 15_000;

test('memory budget, real node: a client pipelining 256 fetches of 8 MiB that never reads keeps the node RSS under idle + budget + slack, and a well-behaved client keeps producing and consuming', async () => {
  const { dir, cleanup } = tempDir('budget');
  let node: NodeProcess | undefined;
  let client: Client | undefined;
  let slow: NonReader | undefined;
  try {
    node = await NodeProcess.start(`${dir}/data`, { 'client-memory-bytes-max': BUDGET_BYTES });
    client = await connect(node.address, { timeoutMs: REQUEST_TIMEOUT_MS });
    await client.createStream('big', { shards: 1 });
    await load(client, 'big', RECORDS, RECORD_BYTES);
    await sleep(500);
    const idle = node.rssBytes();
    const bound = idle + BUDGET_BYTES + SLACK_BYTES;
    try {
      writeFileSync(`/proc/${node.pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
    } catch {
      // older kernels: the sampled RSS still applies
    }
    let peak = 0;
    let over = false;
    const sampler = setInterval(() => {
      if (node === undefined || !node.alive || over) return;
      try {
        peak = Math.max(peak, node.rssBytes());
      } catch {
        return; // exiting
      }
      if (peak > bound && !over) {
        over = true;
        void node.kill9(); // stop it before it eats the machine; the assertion below reports it
      }
    }, RSS_SAMPLE_MS);
    try {
      slow = await NonReader.open(node.port);
      slow.fetches(FETCHES, { namespace: 'default', name: 'big', shard: 0, fromSeq: 0, maxBytes: FETCH_BYTES, maxWaitMs: 0 }, 100);
      // The well-behaved client: one produce and one fetch at a time, walking the stream.
      const producer = client.producer('big', { shard: 0 });
      let acks = 0;
      let fetched = 0;
      let fromSeq = 0;
      const until = Date.now() + WORK_MS;
      try {
        while (Date.now() < until && !over) {
          await producer.send({ value: new Uint8Array(4096).fill(7) });
          acks++;
          const r = await client.connection.request(OP.FETCH, { namespace: 'default', name: 'big', shard: 0, fromSeq, maxBytes: 2 * MiB, maxWaitMs: 0 });
          const nextSeq = Number(r.header['nextSeq']);
          fetched += r.body.length;
          fromSeq = Number(r.header['count']) > 0 && nextSeq < RECORDS ? nextSeq : 0;
        }
        await producer.close();
      } catch (err) {
        if (!over) throw err; // else: the node was killed for its RSS, reported below
      }
      if (!over) peak = Math.max(peak, node.peakRssBytes());
      const mb = (n: number) => `${Math.round(n / MiB)} MiB`;
      console.log(`idle RSS ${mb(idle)}, peak ${mb(peak)}, bound ${mb(bound)}; well-behaved client: ${acks} acks, ${mb(fetched)} fetched`);
      assert.ok(!over && peak <= bound, `node RSS reached ${mb(peak)}, past idle ${mb(idle)} + budget ${mb(BUDGET_BYTES)} + slack ${mb(SLACK_BYTES)} = ${mb(bound)}`);
      assert.ok(acks >= 20 && fetched >= 32 * MiB, `the well-behaved client made progress: ${acks} produce acks, ${mb(fetched)} fetched in ${WORK_MS} ms`);
      assert.ok(node.alive);
    } finally {
      clearInterval(sampler);
    }
  } finally {
    slow?.destroy();
    await client?.close().catch(() => undefined);
    if (node !== undefined) await node.kill9();
    cleanup();
  }
});
