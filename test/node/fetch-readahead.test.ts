import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FetchReadahead, ReadaheadBudget } from '../../src/node/fetch-readahead.js';
import { MemoryBudget } from '../../src/node/memory-budget.js';
import type { ReadResult, ShardHandleApi } from '../../src/shard/types.js';

/** Lets pending reads settle (the fake read resolves within a few microtasks). */
const settle = () => new Promise((r) => setImmediate(r));

/** A handle whose read() answers (fromSeq, maxBytes) with maxBytes bytes, counting calls; fails when told to. */
function fakeHandle(): { handle: ShardHandleApi; reads: [number, number][]; fail: { on: boolean } } {
  const reads: [number, number][] = [];
  const fail = { on: false };
  const handle = {
    read: async (fromSeq: number, maxBytes: number): Promise<ReadResult> => {
      reads.push([fromSeq, maxBytes]);
      if (fail.on) throw new Error('read failed');
      return { bytes: new Uint8Array(maxBytes), count: 10, firstSeq: fromSeq, nextSeq: fromSeq + 10 };
    },
  } as unknown as ShardHandleApi;
  return { handle, reads, fail };
}

test('read-ahead: after an answer that filled half of maxBytes, the next range is read at once and handed to the fetch asking exactly for it', async () => {
  const { handle, reads } = fakeHandle();
  const budget = new ReadaheadBudget(1 << 20);
  const ra = new FetchReadahead(budget);
  ra.afterAnswer(handle, 100, 4096, 2048, 10, 0);
  assert.deepEqual(reads, [[100, 4096]]);
  assert.equal(budget.usedBytes, 4096, 'the entry holds its maxBytes of the budget');
  const r = await ra.take(100, 4096);
  assert.deepEqual([r?.firstSeq, r?.nextSeq, r?.count], [100, 110, 10]);
  assert.equal(ra.hits, 1);
  assert.equal(budget.usedBytes, 0, 'taken: the budget is returned');
  assert.equal(ra.take(100, 4096), null, 'an entry is handed out once');
});

test('read-ahead: no read after an answer under half of maxBytes (the consumer is at the end)', () => {
  const { handle, reads } = fakeHandle();
  const ra = new FetchReadahead(new ReadaheadBudget(1 << 20));
  ra.afterAnswer(handle, 100, 4096, 2047, 10, 0);
  assert.deepEqual(reads, []);
});

test('read-ahead: a fetch asking for another range drops the entry (and gets nothing from it)', async () => {
  const { handle } = fakeHandle();
  const budget = new ReadaheadBudget(1 << 20);
  const ra = new FetchReadahead(budget);
  ra.afterAnswer(handle, 100, 4096, 4096, 10, 0);
  assert.equal(ra.take(50, 4096), null);
  await settle();
  assert.equal(budget.usedBytes, 0);
  assert.equal(ra.take(100, 4096), null, 'dropped');
  ra.afterAnswer(handle, 100, 4096, 4096, 10, 0);
  assert.equal(ra.take(100, 8192), null, 'same seq, other maxBytes: not the same answer');
});

test('read-ahead: the node-wide budget bounds the bytes held; past it no read-ahead starts', async () => {
  const { handle, reads } = fakeHandle();
  const budget = new ReadaheadBudget(6000);
  const a = new FetchReadahead(budget);
  const b = new FetchReadahead(budget);
  a.afterAnswer(handle, 0, 4096, 4096, 10, 0);
  b.afterAnswer(handle, 0, 4096, 4096, 10, 0);
  assert.equal(reads.length, 1, 'the second shard has no room');
  a.drop();
  await settle();
  b.afterAnswer(handle, 0, 4096, 4096, 10, 0);
  assert.equal(reads.length, 2, 'room again once the first entry is dropped');
  b.drop();
  await settle();
  assert.equal(budget.usedBytes, 0);
});

test('read-ahead: an entry nobody takes is dropped after its time to live', async () => {
  const { handle } = fakeHandle();
  const budget = new ReadaheadBudget(1 << 20);
  const ra = new FetchReadahead(budget, 20);
  ra.afterAnswer(handle, 7, 4096, 4096, 10, 0);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(budget.usedBytes, 0);
  assert.equal(ra.take(7, 4096), null);
});

test('read-ahead: a failed read is handed out as null (the fetch then reads as usual)', async () => {
  const { handle, fail } = fakeHandle();
  fail.on = true;
  const ra = new FetchReadahead(new ReadaheadBudget(1 << 20));
  ra.afterAnswer(handle, 7, 4096, 4096, 10, 0);
  assert.equal(await ra.take(7, 4096), null);
});

test('read-ahead: none for a consumer at the tail (the shard does not yet hold another answer past nextSeq)', () => {
  const { handle, reads } = fakeHandle();
  const ra = new FetchReadahead(new ReadaheadBudget(1 << 20));
  ra.afterAnswer(handle, 100, 4096, 4096, 10, 105);
  assert.deepEqual(reads, [], 'only 5 records past nextSeq, the answer held 10');
  ra.afterAnswer(handle, 100, 4096, 4096, 10, 110);
  assert.deepEqual(reads, [[100, 4096]], 'another answer worth of records is there: read ahead');
});

/** A handle whose reads stay pending until release() (a read still running in the shard worker). */
function slowHandle(): { handle: ShardHandleApi; release: () => void } {
  let done: (() => void)[] = [];
  const handle = {
    read: (fromSeq: number, maxBytes: number): Promise<ReadResult> =>
      new Promise((resolve) => done.push(() => resolve({ bytes: new Uint8Array(maxBytes), count: 10, firstSeq: fromSeq, nextSeq: fromSeq + 10 }))),
  } as unknown as ShardHandleApi;
  return {
    handle,
    release: () => {
      const d = done;
      done = [];
      for (const f of d) f();
    },
  };
}

test('read-ahead: a dropped entry whose read is still running keeps its bytes reserved until the read settles (the bytes do arrive)', async () => {
  const { handle, release } = slowHandle();
  const budget = new ReadaheadBudget(1 << 20);
  const ra = new FetchReadahead(budget);
  ra.afterAnswer(handle, 0, 4096, 4096, 10, 0);
  ra.drop();
  await settle();
  assert.equal(budget.usedBytes, 4096, 'the read is still running');
  release();
  await settle();
  assert.equal(budget.usedBytes, 0);
});

test('read-ahead: takes its bytes from the node memory budget, only from room nobody waits for, and is shed when an answer must wait', async () => {
  const { handle, release } = slowHandle();
  const memory = new MemoryBudget(16_384);
  const budget = new ReadaheadBudget(1 << 20);
  budget.useNodeBudget(memory);
  // Two connections (one connection may hold only a quarter of the budget).
  const first = await memory.account().acquireAnswer(4096);
  const account = memory.account();
  const ra = new FetchReadahead(budget);
  ra.afterAnswer(handle, 0, 8192, 8192, 10, 0);
  assert.equal(memory.heldBytes, 4096 + 8192, 'the entry is counted node-wide');
  assert.equal(memory.breakdown.readaheadBytes, 8192);
  const other = new FetchReadahead(budget);
  other.afterAnswer(handle, 0, 8192, 8192, 10, 0);
  assert.equal(budget.usedBytes, 8192, 'no room left in the node budget: no second read-ahead');
  // An answer of 8 KiB does not fit next to the read-ahead: the read-ahead is dropped for it,
  // and the answer is granted once the dropped read has settled and returned its bytes.
  let granted = false;
  const lease = account.acquireAnswer(8192).then((l) => ((granted = true), l));
  assert.equal(ra.take(10, 8192), null, 'shed');
  await settle();
  assert.equal(granted, false, 'the shed read is still running: its bytes are still held');
  other.afterAnswer(handle, 0, 1024, 1024, 10, 0);
  assert.equal(budget.usedBytes, 8192, 'an answer waits for node room: no read-ahead starts');
  release();
  const l = await lease;
  assert.equal(l.bytes, 8192);
  assert.equal(memory.breakdown.readaheadBytes, 0);
  assert.equal(memory.heldBytes, 4096 + 8192);
  first.release();
  other.afterAnswer(handle, 0, 4096, 4096, 10, 0);
  assert.equal(memory.breakdown.readaheadBytes, 4096, 'room that fits and nobody waits for: read-ahead again');
  other.drop();
  release();
  l.release();
  await settle();
  assert.equal(memory.heldBytes, 0);
  assert.equal(memory.highWaterBytes, 4096 + 8192);
});
