import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { ProducerTable } from '../../src/storage/producer-state.js';
import { StorageError } from '../../src/storage/types.js';
import { batch, manualClock, openStore, rec, tempDir } from './helpers.js';

const P = 42;
function pbatch(producerId: number, firstSeq: number, n: number, tag = ''): Uint8Array {
  return batch(Array.from({ length: n }, (_, i) => rec(`${tag}p${producerId}-${firstSeq + i}`, { producerId, producerSeq: firstSeq + i })));
}
const isCode = (code: string) => (e: unknown) => e instanceof StorageError && e.code === code;

test('a retry of one of the last 5 batches returns the original seqs with duplicate: true and writes nothing', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    const firsts: number[] = [];
    for (let b = 0; b < 6; b++) firsts.push(s.append(pbatch(P, b * 3, 3)).firstSeq);
    const end = s.describe().endSeq;
    for (let b = 1; b < 6; b++) {
      const r = s.append(pbatch(P, b * 3, 3));
      assert.deepEqual([r.duplicate, r.firstSeq, r.lastSeq, r.count], [true, firsts[b], firsts[b]! + 2, 3]);
    }
    assert.equal(s.describe().endSeq, end);
    assert.throws(() => s.append(pbatch(P, 0, 3)), isCode('OUT_OF_ORDER_SEQUENCE'), 'batch 0 is older than the 5 remembered');
    assert.throws(() => s.append(pbatch(P, 13, 3)), isCode('OUT_OF_ORDER_SEQUENCE'), 'overlaps an earlier batch and the last one');
    s.close();
  } finally {
    cleanup();
  }
});

test('a gap in producerSeq is refused for a known producer, accepted for an unknown one; other producers and producerId 0 are independent', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    assert.equal(s.append(pbatch(P, 5, 2)).duplicate, false, 'an unknown producer starts at any producerSeq');
    assert.throws(() => s.append(pbatch(P, 10, 1)), (e: Error) => isCode('OUT_OF_ORDER_SEQUENCE')(e) && /expected producerSeq 7/.test(e.message));
    assert.equal(s.append(pbatch(P, 7, 1)).duplicate, false, 'the next producerSeq is accepted');
    assert.equal(s.append(pbatch(7, 3, 2)).duplicate, false);
    assert.equal(s.append(batch([rec('plain')])).duplicate, false);
    assert.equal(s.append(batch([rec('plain')])).duplicate, false, 'producerId 0 is never deduplicated');
    assert.equal(s.describe().endSeq, 7);
    s.close();
  } finally {
    cleanup();
  }
});

test('a batch mixing producer ids or with non-consecutive producerSeq is BAD_RECORD', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    assert.throws(() => s.append(batch([rec('a', { producerId: 1, producerSeq: 0 }), rec('b', { producerId: 2, producerSeq: 1 })])), isCode('BAD_RECORD'));
    assert.throws(() => s.append(batch([rec('a', { producerId: 1, producerSeq: 0 }), rec('b', { producerId: 1, producerSeq: 2 })])), isCode('BAD_RECORD'));
    assert.equal(s.describe().endSeq, 0);
    s.close();
  } finally {
    cleanup();
  }
});

test('producer state survives a crash: batches from the checkpoint snapshot and from the tail scan are both recognised', () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = manualClock();
    const s = openStore({ dir, now: clock.now });
    const a = s.append(pbatch(P, 0, 2));
    const b = s.append(pbatch(P, 2, 2));
    clock.advance(10_000);
    s.tick(); // checkpoint with a and b in its snapshot
    clock.advance(1);
    const c = s.append(pbatch(P, 4, 3));
    clock.advance(1);
    const d = s.append(pbatch(P, 7, 1)); // c and d live only in the tail
    const e = s.append(pbatch(9, 100, 2));
    s.abandon();
    const r = openStore({ dir, now: clock.now });
    assert.ok(r.recovery.scannedBytes > 0);
    for (const [orig, again] of [
      [a, pbatch(P, 0, 2)],
      [b, pbatch(P, 2, 2)],
      [c, pbatch(P, 4, 3)],
      [d, pbatch(P, 7, 1)],
      [e, pbatch(9, 100, 2)],
    ] as const) {
      const x = r.append(again);
      assert.deepEqual([x.duplicate, x.firstSeq, x.lastSeq], [true, orig.firstSeq, orig.lastSeq]);
    }
    assert.throws(() => r.append(pbatch(P, 6, 2)), isCode('OUT_OF_ORDER_SEQUENCE'));
    assert.equal(r.append(pbatch(P, 8, 1)).duplicate, false);
    r.close();
  } finally {
    cleanup();
  }
});

test('the number of tracked producers is bounded: the least recently used is evicted', () => {
  const t = new ProducerTable(3, 5);
  for (const id of [1, 2, 3]) t.record(id, { producerSeqFirst: 0, producerSeqLast: 0, seqFirst: id, appendTime: 0 });
  t.record(1, { producerSeqFirst: 1, producerSeqLast: 1, seqFirst: 10, appendTime: 0 }); // 1 is now most recent
  t.record(4, { producerSeqFirst: 0, producerSeqLast: 0, seqFirst: 11, appendTime: 0 }); // evicts 2
  assert.equal(t.size, 3);
  assert.equal(t.check(2, 0, 0, 11).kind, 'new');
  assert.equal(t.check(1, 0, 0, 11).kind, 'duplicate');
  assert.equal(t.check(3, 0, 0, 11).kind, 'duplicate');
});

test('the producer bound applies through the store (producersMax) and evicted producers are accepted as new', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, producersMax: 2 });
    s.append(pbatch(1, 0, 1));
    s.append(pbatch(2, 0, 1));
    s.append(pbatch(3, 0, 1));
    assert.equal(s.append(pbatch(1, 0, 1)).duplicate, false, 'producer 1 was evicted');
    assert.equal(s.append(pbatch(3, 0, 1)).duplicate, true);
    s.close();
  } finally {
    cleanup();
  }
});

/** A kill -9 cut the write of a batch between records: recovery keeps the whole records of its prefix (docs/TORTURE.md defect 8). */
function tearLastRecords(dir: string, records: number, recordBytes: number): void {
  const log = readdirSync(dir).filter((f) => f.endsWith('.log')).sort().pop()!;
  const size = statSync(join(dir, log)).size;
  truncateSync(join(dir, log), size - records * recordBytes);
}

test('a batch torn by a kill (a prefix of its records stored at the log end) is completed by its retry: the rest is appended right after, the answer covers the whole batch, and a second retry is a duplicate', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(pbatch(P, 0, 3));
    const b2 = pbatch(P, 3, 4);
    s.append(b2); // seqs 3..6; then the process dies without closing
    tearLastRecords(dir, 2, b2.length / 4); // only seqs 3 and 4 of it survive
    const r = openStore({ dir });
    assert.equal(r.describe().endSeq, 5);
    const retry = r.append(pbatch(P, 3, 4));
    assert.deepEqual([retry.duplicate, retry.firstSeq, retry.lastSeq, retry.count], [false, 3, 6, 4]);
    assert.equal(r.describe().endSeq, 7);
    const again = r.append(pbatch(P, 3, 4));
    assert.deepEqual([again.duplicate, again.firstSeq, again.lastSeq], [true, 3, 6], 'the completed batch is remembered as one run');
    assert.equal(r.append(pbatch(P, 7, 1)).firstSeq, 7, 'the producer goes on');
    const got = r.read(0, 1 << 20);
    assert.equal(got.count, 8);
    r.close();
  } finally {
    cleanup();
  }
});

test('a torn prefix that no longer ends the log (another producer appended after it) is not completed: OUT_OF_ORDER_SEQUENCE, nothing written', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    const b = pbatch(P, 0, 4);
    s.append(b);
    tearLastRecords(dir, 2, b.length / 4);
    const r = openStore({ dir });
    r.append(pbatch(7, 0, 1)); // someone else's record now ends the log
    const end = r.describe().endSeq;
    assert.throws(() => r.append(pbatch(P, 0, 4)), isCode('OUT_OF_ORDER_SEQUENCE'));
    assert.equal(r.describe().endSeq, end);
    r.close();
  } finally {
    cleanup();
  }
});
