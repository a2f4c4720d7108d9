import { test } from 'node:test';
import assert from 'node:assert/strict';
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
    assert.throws(() => s.append(pbatch(P, 16, 3)), isCode('OUT_OF_ORDER_SEQUENCE'), 'overlaps the last batch');
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
  assert.equal(t.check(2, 0, 0).kind, 'new');
  assert.equal(t.check(1, 0, 0).kind, 'duplicate');
  assert.equal(t.check(3, 0, 0).kind, 'duplicate');
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
