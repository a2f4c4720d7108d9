/**
 * The storage side of replicated shards (issue 15): appendStamped (a replica
 * stores what its sequencer stamped, byte for byte), fence, truncateTo,
 * baseSeq and reads bounded by endSeqMax.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OFF_SEQ } from '../../src/record/layout.js';
import { dataViewOf, patchServerFields, recordAppendTime } from '../../src/record/record.js';
import { FENCE_FILE } from '../../src/storage/fence-file.js';
import { MemFileLayer } from '../../src/storage/mem-file-layer.js';
import type { ShardStore } from '../../src/storage/shard-store.js';
import { StorageError, type ShardStoreOptions } from '../../src/storage/types.js';
import { batch, decodeAll, manualClock, openStore, readAll, rec, tempDir, textOf } from './helpers.js';

const decodeAllTexts = (bytes: Uint8Array): string[] => decodeAll(bytes).map((r) => textOf(r.payload));
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const isCode = (code: string, re?: RegExp) => (e: unknown) => e instanceof StorageError && e.code === code && (re === undefined || re.test(e.message));

/** Every stored byte of the shard from startSeq on (whole records, as stored). */
function logBytes(s: ShardStore, from = s.describe().startSeq): Uint8Array {
  const parts: Uint8Array[] = [];
  const end = s.describe().endSeq;
  let seq = from;
  while (seq < end) {
    const r = s.read(seq, 1 << 20);
    parts.push(r.bytes.slice());
    seq = r.nextSeq;
  }
  return Buffer.concat(parts);
}

/** A producer's batch of n records with producerSeq from pFirst (producerId 0: no producer). */
function pbatch(tag: string, n: number, producerId = 0, pFirst = 0, size = 10): Uint8Array {
  return batch(Array.from({ length: n }, (_, i) => rec(`${tag}-${i}:${'x'.repeat(size)}`, producerId === 0 ? {} : { producerId, producerSeq: pFirst + i })));
}

/** A appends the batch (stamping it in place); returns a copy of the stamped bytes and the result. */
function stamp(a: ShardStore, bytes: Uint8Array): { stamped: Uint8Array; firstSeq: number; count: number } {
  const r = a.append(bytes);
  assert.equal(r.duplicate, false);
  return { stamped: bytes.slice(), firstSeq: r.firstSeq, count: r.count };
}

function withDirs(fn: (dirA: string, dirB: string) => void): void {
  const a = tempDir('nl-replica-a-');
  const b = tempDir('nl-replica-b-');
  try {
    fn(a.dir, b.dir);
  } finally {
    a.cleanup();
    b.cleanup();
  }
}

test('appendStamped: B stores what A stamped byte for byte, across rolls of different sizes, and keeps it through close/reopen', () => {
  withDirs((dirA, dirB) => {
    const clock = manualClock();
    const a = openStore({ dir: dirA, epoch: 4, now: clock.now, segmentBytesMax: 900 });
    const b = openStore({ dir: dirB, epoch: 4, segmentBytesMax: 2000, now: () => 1 });
    let pseq = 0;
    for (let k = 0; k < 12; k++) {
      clock.advance(k % 3);
      const n = 1 + (k % 3);
      const { stamped, firstSeq, count } = stamp(a, pbatch(`b${k}`, n, k % 2 === 0 ? 77 : 0, pseq));
      if (k % 2 === 0) pseq += n;
      const r = b.appendStamped(stamped, 0, stamped.length, firstSeq, 4);
      assert.deepEqual({ ...r, appendTime: 0 }, { firstSeq, lastSeq: firstSeq + count - 1, count, skipped: 0, appendTime: 0 });
      assert.equal(r.appendTime, clock.now(), 'the sequencer stamped the time, not B');
    }
    assert.ok(a.segments().length > 2 && b.segments().length < a.segments().length, 'A and B rolled at different places');
    assert.deepEqual(logBytes(b), logBytes(a));
    assert.deepEqual(b.describe().endSeq, a.describe().endSeq);
    assert.equal(b.fence(0).lastEpoch, 4);
    b.close();
    const b2 = openStore({ dir: dirB, epoch: 4 });
    assert.deepEqual(logBytes(b2), logBytes(a));
    assert.equal(b2.fence(0).lastEpoch, 4, 'the last record epoch is found again at open');
    b2.close();
    a.close();
  });
});

test('appendStamped refuses a bad CRC, a bad serverCrc, non-dense seqs, a wrong epoch field and a decreasing append time, writing nothing', () => {
  withDirs((dirA, dirB) => {
    const clock = manualClock();
    const a = openStore({ dir: dirA, epoch: 2, now: clock.now });
    const b = openStore({ dir: dirB, epoch: 2 });
    const first = stamp(a, pbatch('first', 2));
    b.appendStamped(first.stamped, 0, first.stamped.length, 0, 2);
    const sizeBefore = b.describe().bytes;
    clock.advance(5);
    const good = stamp(a, pbatch('good', 3)).stamped;
    const recLen = dataViewOf(good).getUint32(0, true);
    const variants: Array<[string, (x: Uint8Array) => void, RegExp]> = [
      ['payload byte flipped (producer CRC)', (x) => (x[recLen + 90]! ^= 1), /CRC/],
      ['seq changed without its serverCrc', (x) => (x[recLen + OFF_SEQ]! ^= 1), /server-field CRC/],
      ['seq not dense (re-stamped, valid serverCrc)', (x) => patchServerFields(dataViewOf(x), recLen, 9, clock.now(), 2), /seq 9, expected 3/],
      ['epoch field differs (re-stamped)', (x) => patchServerFields(dataViewOf(x), recLen, 3, clock.now(), 1), /epoch 1/],
      ['append time goes back (re-stamped)', (x) => patchServerFields(dataViewOf(x), recLen, 3, clock.now() - 1, 2), /append time/],
    ];
    for (const [what, damage, re] of variants) {
      const x = good.slice();
      damage(x);
      assert.throws(() => b.appendStamped(x, 0, x.length, 2, 2), isCode('BAD_RECORD', re), what);
      assert.equal(b.describe().endSeq, 2, `${what}: nothing written`);
      assert.equal(b.describe().bytes, sizeBefore, `${what}: no byte written`);
    }
    b.appendStamped(good, 0, good.length, 2, 2);
    assert.deepEqual(logBytes(b), logBytes(a));
    a.close();
    b.close();
  });
});

test('appendStamped: FENCED below the fence or the last record epoch, SEQ_GAP names endSeq, DIVERGED on a different overlap, an equal overlap is skipped', () => {
  withDirs((dirA, dirB) => {
    const a = openStore({ dir: dirA, epoch: 3 });
    const b = openStore({ dir: dirB, epoch: 3 });
    const b1 = stamp(a, pbatch('one', 2));
    const b2 = stamp(a, pbatch('two', 3));
    b.appendStamped(b1.stamped, 0, b1.stamped.length, 0, 3);
    // SEQ_GAP: batch two sent from seq 5 while B ends at 2.
    const c = openStore({ dir: join(dirA, 'c'), epoch: 3 });
    c.append(pbatch('pad', 5));
    const late = stamp(c, pbatch('late', 1));
    assert.throws(
      () => b.appendStamped(late.stamped, 0, late.stamped.length, 5, 3),
      (e: unknown) => isCode('SEQ_GAP', /endSeq is 2/)(e) && (e as StorageError).details?.endSeq === 2,
    );
    // Overlap: batches one and two resent together; one is skipped, two appended.
    const both = Buffer.concat([b1.stamped, b2.stamped]);
    const r = b.appendStamped(both, 0, both.length, 0, 3);
    assert.deepEqual([r.firstSeq, r.lastSeq, r.count, r.skipped], [0, 4, 5, 2]);
    assert.deepEqual(logBytes(b), logBytes(a));
    const again = b.appendStamped(both, 0, both.length, 0, 3);
    assert.deepEqual([again.count, again.skipped, b.describe().endSeq], [5, 5, 5], 'a whole resend writes nothing');
    // DIVERGED: another sequencer's seq 0 of the same epoch with another payload.
    const d = openStore({ dir: join(dirA, 'd'), epoch: 3 });
    const other = stamp(d, pbatch('one', 1, 0, 0, 18)).stamped;
    assert.throws(() => b.appendStamped(other, 0, other.length, 0, 3), isCode('DIVERGED', /seq 0/));
    const mixed = Buffer.concat([b1.stamped.subarray(0, dataViewOf(b1.stamped).getUint32(0, true)), other]);
    patchServerFields(dataViewOf(mixed), mixed.length - other.length, 1, recordAppendTime(dataViewOf(other), 0), 3);
    assert.throws(() => b.appendStamped(mixed, 0, mixed.length, 0, 3), isCode('DIVERGED', /seq 1/), 'the first record equal, the second not');
    assert.equal(b.describe().endSeq, 5);
    d.close();
    // FENCED: after fence(5) a batch of epoch 4 is refused; a lower fence changes nothing.
    const f = b.fence(5);
    assert.deepEqual(f, { endSeq: 5, lastEpoch: 3, fenceEpoch: 5 });
    a.setEpoch(4);
    const e4 = stamp(a, pbatch('e4', 1));
    assert.throws(() => b.appendStamped(e4.stamped, 0, e4.stamped.length, 5, 4), isCode('FENCED', /fenced below epoch 5/));
    assert.equal(b.describe().endSeq, 5);
    assert.deepEqual(b.fence(2), { endSeq: 5, lastEpoch: 3, fenceEpoch: 5 }, 'a lower fence changes nothing');
    a.close();
    b.close();
    c.close();
  });
});

test('FENCED by the last record epoch: a replica that stored epoch 6 refuses epoch 5 without any fence', () => {
  withDirs((dirA, dirB) => {
    const a = openStore({ dir: dirA, epoch: 6 });
    const b = openStore({ dir: dirB, epoch: 6 });
    const x = stamp(a, pbatch('x', 1));
    b.appendStamped(x.stamped, 0, x.stamped.length, 0, 6);
    a.setEpoch(5);
    assert.throws(() => a.append(pbatch('y', 1)), isCode('FENCED', /epoch 6 of its last record/), 'append() by a store epoch below its last record');
    a.setEpoch(7);
    const y = stamp(a, pbatch('y', 1));
    const z = y.stamped.slice();
    patchServerFields(dataViewOf(z), 0, 1, Date.now(), 5);
    assert.throws(() => b.appendStamped(z, 0, z.length, 1, 5), isCode('FENCED', /last record has epoch 6/));
    b.appendStamped(y.stamped, 0, y.stamped.length, 1, 7);
    assert.deepEqual(logBytes(b), logBytes(a));
    a.close();
    b.close();
  });
});

test('fence persists across reopen; append() with a store epoch below it is FENCED; a damaged fence file stops the open', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, epoch: 2 });
    s.append(pbatch('a', 2));
    assert.deepEqual(s.fence(3), { endSeq: 2, lastEpoch: 2, fenceEpoch: 3 });
    assert.throws(() => s.append(pbatch('b', 1)), isCode('FENCED', /fence epoch 3/));
    assert.equal(s.describe().endSeq, 2);
    s.close();
    const s2 = openStore({ dir, epoch: 2 });
    assert.throws(() => s2.append(pbatch('b', 1)), isCode('FENCED'), 'the fence survived the reopen');
    assert.equal(s2.fence(0).fenceEpoch, 3);
    s2.setEpoch(3);
    assert.equal(s2.append(pbatch('c', 1)).firstSeq, 2, 'the new epoch appends');
    s2.close();
    writeFileSync(join(dir, FENCE_FILE), new Uint8Array(16));
    assert.throws(() => openStore({ dir, epoch: 3 }), isCode('CORRUPT', /fence file/));
  } finally {
    cleanup();
  }
});

test('the producer table of a replica learns stamped records: a retry of the sequencer batch is a duplicate with its seqs', () => {
  withDirs((dirA, dirB) => {
    const a = openStore({ dir: dirA, epoch: 1 });
    const b = openStore({ dir: dirB, epoch: 1 });
    a.append(pbatch('pad', 2));
    const original = pbatch('p', 3, 99, 10);
    const x = stamp(a, original.slice());
    b.appendStamped(logBytes(a, 0), 0, logBytes(a, 0).length, 0, 1);
    assert.equal(x.firstSeq, 2);
    // B becomes the sequencer (a higher epoch), the producer retries its batch.
    b.setEpoch(2);
    const retry = b.append(original.slice());
    assert.deepEqual([retry.duplicate, retry.firstSeq, retry.lastSeq], [true, 2, 4]);
    assert.throws(() => b.append(pbatch('p', 1, 99, 20)), isCode('OUT_OF_ORDER_SEQUENCE'), 'and it knows the next producerSeq');
    assert.equal(b.append(pbatch('p', 1, 99, 13)).firstSeq, 5);
    a.close();
    b.close();
  });
});

test('appendStamped survives a power loss with fsync always (and keeps only whole stamped batches otherwise)', () => {
  const layer = new MemFileLayer();
  const opts = (dir: string): ShardStoreOptions => ({ dir, fileLayer: layer, fsync: { mode: 'always' }, minFreeBytes: 0, epoch: 1, segmentBytesMax: 1000 });
  const a = openStore(opts('/a'));
  let b = openStore(opts('/b'));
  for (let k = 0; k < 10; k++) {
    const x = stamp(a, pbatch(`k${k}`, 2));
    b.appendStamped(x.stamped, 0, x.stamped.length, x.firstSeq, 1);
  }
  const want = logBytes(a);
  layer.crash(() => 0);
  b = openStore(opts('/b'));
  assert.deepEqual(logBytes(b), want, 'every acked stamped record is there after the power loss');
  b.close();
});

test('truncateTo across a segment boundary: later segments go, appends continue at the cut seq, producers forget the cut batches, a reopen agrees', () => {
  const { dir, cleanup } = tempDir();
  try {
    let s = openStore({ dir, segmentBytesMax: 700, epoch: 1 });
    for (let k = 0; k < 8; k++) s.append(pbatch(`k${k}`, 2, 5, k * 2));
    const segs = s.segments();
    assert.ok(segs.length >= 3, `${segs.length} segments`);
    const cut = segs[1]!.baseSeq + 1; // inside the second segment
    const kept = readAll(s).slice(0, cut).map((r) => textOf(r.payload));
    s.truncateTo(cut);
    assert.equal(s.describe().endSeq, cut);
    assert.equal(s.segments().length, 2);
    assert.deepEqual(readAll(s).map((r) => textOf(r.payload)), kept);
    assert.throws(() => s.read(cut + 1, 100), isCode('OUT_OF_RANGE'));
    // The producer's batch that was cut (producerSeq cut..) is new again; one before the cut is still a duplicate.
    const dup = s.append(pbatch('retry', 1, 5, cut - 1));
    assert.deepEqual([dup.duplicate, dup.firstSeq], [true, cut - 1], 'the kept part of a cut batch is still remembered');
    const r = s.append(pbatch('new', 3, 5, cut));
    assert.deepEqual([r.duplicate, r.firstSeq], [false, cut], 'appends continue at the cut seq');
    assert.throws(() => s.truncateTo(s.describe().endSeq + 1), isCode('OUT_OF_RANGE'));
    const before = readAll(s).map((x) => textOf(x.payload));
    s.close();
    s = openStore({ dir, segmentBytesMax: 700, epoch: 1 });
    assert.deepEqual(readAll(s).map((x) => textOf(x.payload)), before, 'a reopen agrees');
    // Truncating to a segment's base and to startSeq.
    const base = s.segments()[1]!.baseSeq;
    s.truncateTo(base);
    assert.equal(s.describe().endSeq, base);
    s.truncateTo(0);
    assert.deepEqual([s.describe().startSeq, s.describe().endSeq, s.segments().length], [0, 0, 1]);
    assert.equal(s.append(pbatch('fresh', 1)).firstSeq, 0);
    s.close();
    s = openStore({ dir });
    assert.deepEqual(readAll(s).map((x) => textOf(x.payload)), [`fresh-0:${'x'.repeat(10)}`]);
    s.close();
  } finally {
    cleanup();
  }
});

test('truncateTo then appends of other sizes: a sequential reader positioned past the cut reads the new records (no stale cursor)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch(Array.from({ length: 6 }, () => rec('')))); // header-only records: truncateTo's own last-record read leaves no cursor
    assert.equal(s.read(0, 1, Infinity).count, 1);
    assert.equal(s.read(1, 1, Infinity).count, 1);
    assert.equal(s.read(2, 1).nextSeq, 3, 'the reader now remembers where seq 3 was');
    s.truncateTo(2);
    s.append(pbatch('new', 3, 0, 0, 100));
    assert.deepEqual(decodeAllTexts(s.read(3, 1 << 20).bytes), [`new-1:${'x'.repeat(100)}`, `new-2:${'x'.repeat(100)}`]);
    s.close();
  } finally {
    cleanup();
  }
});

test('truncateTo inside the active segment, then a crash before any checkpoint: recovery agrees with the cut', () => {
  const layer = new MemFileLayer();
  const o: ShardStoreOptions = { dir: '/t', fileLayer: layer, minFreeBytes: 0, fsync: { mode: 'roll' }, indexIntervalBytes: 64 };
  const s = openStore(o);
  for (let k = 0; k < 10; k++) s.append(pbatch(`k${k}`, 1));
  s.sync();
  s.truncateTo(6);
  s.append(pbatch('after', 1));
  s.sync();
  layer.crash(() => 0);
  const r = openStore(o);
  assert.deepEqual(readAll(r).map((x) => textOf(x.payload).split(':')[0]), ['k0-0', 'k1-0', 'k2-0', 'k3-0', 'k4-0', 'k5-0', 'after-0']);
  r.close();
});

test('baseSeq: a fresh store starts there, reads below are OUT_OF_RANGE, an existing store ignores it', () => {
  const { dir, cleanup } = tempDir();
  try {
    let s = openStore({ dir, baseSeq: 1000 });
    assert.deepEqual([s.describe().startSeq, s.describe().endSeq], [1000, 1000]);
    assert.throws(() => s.read(999, 100), isCode('OUT_OF_RANGE'));
    assert.equal(s.append(pbatch('a', 2)).firstSeq, 1000);
    s.close();
    s = openStore({ dir, baseSeq: 5 });
    assert.deepEqual([s.describe().startSeq, s.describe().endSeq], [1000, 1002]);
    assert.throws(() => s.read(0, 100), isCode('OUT_OF_RANGE'));
    assert.throws(() => s.truncateTo(999), isCode('OUT_OF_RANGE'));
    s.close();
    assert.throws(() => openStore({ dir, baseSeq: -1 }), RangeError);
  } finally {
    cleanup();
  }
});

test('read with endSeqMax never returns a record at or past it', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 600 });
    for (let k = 0; k < 6; k++) s.append(pbatch(`k${k}`, 2));
    const r = s.read(0, 1 << 20, 3);
    assert.deepEqual([r.count, r.nextSeq], [3, 3]);
    assert.deepEqual(s.read(3, 1 << 20, 3), { bytes: new Uint8Array(0), count: 0, firstSeq: 3, nextSeq: 3 });
    assert.equal(s.read(5, 1 << 20, 2).count, 0, 'past endSeqMax: empty, no error');
    let seq = 0;
    let n = 0;
    while (seq < 9) {
      const x = s.read(seq, 1 << 20, 9);
      n += x.count;
      seq = x.nextSeq;
    }
    assert.equal(n, 9);
    const into = new Uint8Array(1 << 16);
    assert.equal(s.readInto(0, into, into.length, 1).count, 1);
    s.close();
  } finally {
    cleanup();
  }
});

test('property: stamped batches replayed to B with random resends, truncations and reopens leave B a byte-identical prefix of A', () => {
  type Op = { kind: 'append'; n: number; size: number; producer: boolean } | { kind: 'send'; back: number; upTo: number } | { kind: 'truncate'; back: number } | { kind: 'reopen' } | { kind: 'roll' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 4 }), size: fc.integer({ min: 0, max: 200 }), producer: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), back: fc.integer({ min: 0, max: 3 }), upTo: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('roll' as const) }) },
  );
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
      const layer = new MemFileLayer();
      let t = 1_000;
      const a = openStore({ dir: '/a', fileLayer: layer, now: () => t, segmentBytesMax: 1200, epoch: 1 });
      const openB = (): ShardStore => openStore({ dir: '/b', fileLayer: layer, segmentBytesMax: 800, indexIntervalBytes: 100, epoch: 1 });
      let b = openB();
      const batches: Array<{ firstSeq: number; stamped: Uint8Array }> = [];
      let pseq = 0;
      for (const op of ops) {
        if (op.kind === 'append') {
          t += 1;
          const bytes = pbatch(`a${batches.length}`, op.n, op.producer ? 3 : 0, pseq, op.size);
          if (op.producer) pseq += op.n;
          batches.push(stamp(a, bytes));
        } else if (op.kind === 'send') {
          // From a batch at or a few before B's end (a resend), a few batches concatenated.
          const end = b.describe().endSeq;
          let i = batches.findIndex((x) => x.firstSeq + dataCount(x.stamped) > end);
          if (i < 0) continue;
          i = Math.max(0, i - op.back);
          const chunk = batches.slice(i, i + op.upTo);
          const bytes = Buffer.concat(chunk.map((x) => x.stamped));
          const r = b.appendStamped(bytes, 0, bytes.length, chunk[0]!.firstSeq, 1);
          assert.equal(r.skipped, Math.max(0, Math.min(r.count, end - chunk[0]!.firstSeq)));
        } else if (op.kind === 'truncate') {
          const d = b.describe();
          b.truncateTo(Math.max(d.startSeq, d.endSeq - op.back));
        } else if (op.kind === 'roll') {
          b.roll();
        } else {
          b.close();
          b = openB();
        }
        const bEnd = b.describe().endSeq;
        assert.deepEqual(logBytes(b), logBytes(a, 0).subarray(0, logBytes(b).length));
        assert.ok(bEnd <= a.describe().endSeq);
      }
      a.close();
      b.close();
    }),
    { numRuns: 60 },
  );
});

/** Records in a run of encoded records. */
function dataCount(bytes: Uint8Array): number {
  const dv = dataViewOf(bytes);
  let n = 0;
  for (let off = 0; off < bytes.length; off += dv.getUint32(off, true)) n++;
  return n;
}

test('appendStamped under a newer writer epoch: older records are accepted (catch-up, recovery), a record above the writer epoch is BAD_RECORD, a first new record older than the last stored one is FENCED', () => {
  withDirs((dirA, dirB) => {
    const a = openStore({ dir: dirA, epoch: 2 });
    const b = openStore({ dir: dirB, epoch: 0 });
    const old = stamp(a, pbatch('old', 3));
    // Writer epoch 5 (a new sequencer) resends epoch-2 records: accepted, the log's last epoch is the records' (2), not the writer's.
    b.fence(5);
    b.appendStamped(old.stamped, 0, old.stamped.length, old.firstSeq, 5);
    assert.equal(b.fence(0).lastEpoch, 2);
    assert.throws(() => b.appendStamped(old.stamped, 0, old.stamped.length, old.firstSeq, 4), isCode('FENCED'), 'a writer below the fence');
    a.setEpoch(7);
    const newer = stamp(a, pbatch('newer', 2));
    assert.throws(() => b.appendStamped(newer.stamped, 0, newer.stamped.length, newer.firstSeq, 6), isCode('BAD_RECORD', /above the writer's epoch 6/));
    b.appendStamped(newer.stamped, 0, newer.stamped.length, newer.firstSeq, 7);
    assert.equal(b.fence(0).lastEpoch, 7);
    // An epoch-2 record after the epoch-7 ones would make epochs go down along the log.
    const c = openStore({ dir: `${dirA}-c`, epoch: 2 });
    for (let i = 0; i < 5; i++) c.append(pbatch(`c${i}`, 1));
    const late = stamp(c, pbatch('late', 1));
    assert.equal(late.firstSeq, 5);
    assert.throws(() => b.appendStamped(late.stamped, 0, late.stamped.length, 5, 7), isCode('FENCED', /epoch 2 at seq 5 .* last record has epoch 7/));
    c.close();
    a.close();
    b.close();
    rmSync(`${dirA}-c`, { recursive: true, force: true });
  });
});
