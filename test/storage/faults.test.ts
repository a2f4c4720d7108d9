import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaultyFileLayer } from '../../src/storage/file-layer.js';
import { indexFileName, logFileName } from '../../src/storage/segment-name.js';
import { StorageError } from '../../src/storage/types.js';
import { verifyShardDir } from '../../src/storage/verify.js';
import { batch, decodeAll, manualClock, openStore, readAll, rec, tempDir, textOf } from './helpers.js';

function copyDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) copyFileSync(join(from, f), join(to, f));
}

const isCode = (code: string) => (e: unknown) => e instanceof StorageError && e.code === code;

test('(a) the active segment cut at every byte offset inside its last record reopens with exactly the records before it', () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = manualClock();
    const src = join(dir, 'src');
    const s = openStore({ dir: src, now: clock.now });
    s.append(batch([rec('zero'), rec('one'), rec('two')]));
    clock.advance(10_000);
    s.tick(); // checkpoint covers the first three records
    s.append(batch([rec('three-' + 'q'.repeat(40))]));
    const log = join(src, logFileName(0));
    const full = statSync(log).size;
    const lastStart = full - s.read(3, 1 << 20).bytes.length;
    s.abandon();
    for (let cut = lastStart; cut < full; cut++) {
      const d = join(dir, `cut-${cut}`);
      copyDir(src, d);
      truncateSync(join(d, logFileName(0)), cut);
      const r = openStore({ dir: d, now: clock.now });
      assert.deepEqual(readAll(r).map((x) => textOf(x.payload)), ['zero', 'one', 'two'], `cut at ${cut}`);
      assert.equal(r.describe().endSeq, 3);
      assert.equal(statSync(join(d, logFileName(0))).size, lastStart);
      assert.equal(r.append(batch([rec('again')])).firstSeq, 3);
      r.close();
    }
  } finally {
    cleanup();
  }
});

test('(b) garbage after the last record is truncated on open, including a plausible header with a bad CRC', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch([rec('a'), rec('b')]));
    const size = statSync(join(dir, logFileName(0))).size;
    s.abandon();
    const fake = batch([rec('ghost')]);
    fake[fake.length - 1] ^= 1;
    appendFileSync(join(dir, logFileName(0)), Buffer.concat([Buffer.from(fake), Buffer.from('random garbage bytes')]));
    const r = openStore({ dir });
    assert.equal(statSync(join(dir, logFileName(0))).size, size);
    assert.equal(r.recovery.truncatedBytes, fake.length + 20);
    assert.deepEqual(readAll(r).map((x) => textOf(x.payload)), ['a', 'b']);
    assert.equal(r.append(batch([rec('c')])).firstSeq, 2);
    r.close();
  } finally {
    cleanup();
  }
});

test('(b) a valid record with the wrong seq after the tail is truncated too', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir });
    s.append(batch([rec('a')]));
    const first = s.read(0, 1000).bytes;
    s.abandon();
    appendFileSync(join(dir, logFileName(0)), first); // a second copy of seq 0
    const r = openStore({ dir });
    assert.equal(r.describe().endSeq, 1);
    assert.match(r.recovery.problems.join(' '), /seq 0, expected 1/);
    r.close();
  } finally {
    cleanup();
  }
});

test('(c) a flipped bit in a sealed segment is reported by verification with its range, and never served', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 600, indexIntervalBytes: 1 });
    for (let i = 0; i < 12; i++) s.append(batch([rec(`rec-${i}-${'w'.repeat(50)}`)]));
    const first = s.read(0, 1).bytes.length;
    assert.ok(s.describe().segments >= 3);
    s.close();
    assert.equal(verifyShardDir(dir).ok, true);
    const log = join(dir, logFileName(0));
    const bytes = readFileSync(log);
    bytes[first + 100] ^= 0x10; // inside record 1's payload
    writeFileSync(log, bytes);
    const report = verifyShardDir(dir);
    assert.equal(report.ok, false);
    assert.equal(report.damaged.length, 1);
    const d = report.damaged[0]!;
    assert.deepEqual([d.file, d.byteStart, d.byteEnd, d.seqFirst, d.seqLast, d.problem], [log, first, first * 2, 1, 1, 'bad-crc']);
    const r = openStore({ dir, segmentBytesMax: 600, indexIntervalBytes: 1 });
    const before = r.read(0, 1 << 20);
    assert.equal(before.count, 1, 'only the record before the damage is served');
    assert.throws(() => r.read(1, 1 << 20), (e: unknown) => isCode('CORRUPT')(e) && (e as Error).message.includes(log) && (e as Error).message.includes(`byte ${first}`));
    assert.equal(textOf(readAllFrom(r, 2)[0]!), 'rec-2-' + 'w'.repeat(50));
    r.close();
  } finally {
    cleanup();
  }
});

function readAllFrom(s: ReturnType<typeof openStore>, seq: number): Uint8Array[] {
  const r = s.read(seq, 1);
  const view = new DataView(r.bytes.buffer, r.bytes.byteOffset);
  const payloadLength = view.getUint32(76, true);
  return [r.bytes.subarray(80, 80 + payloadLength)];
}

test('(c) a flipped bit in the server fields (seq) of a sealed record fails its serverCrc: CORRUPT, not served', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 300 });
    for (let i = 0; i < 6; i++) s.append(batch([rec(`r${i}-${'v'.repeat(100)}`)]));
    s.close();
    const log = join(dir, logFileName(0));
    const bytes = readFileSync(log);
    bytes[8] ^= 0x01; // seq of record 0
    writeFileSync(log, bytes);
    const r = openStore({ dir, segmentBytesMax: 300 });
    assert.throws(() => r.read(0, 1 << 20), isCode('CORRUPT'));
    assert.equal(verifyShardDir(dir).damaged[0]!.problem, 'bad-server-crc');
    r.close();
  } finally {
    cleanup();
  }
});

test('(d) a deleted or corrupted sealed index is rebuilt from the log and lookups stay right', () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = manualClock(1000);
    const opts = { dir, segmentBytesMax: 2000, indexIntervalBytes: 150, now: clock.now };
    const s = openStore(opts);
    for (let i = 0; i < 60; i++) {
      clock.advance(10);
      s.append(batch([rec(`r${i}`, { eventTimeMin: (i * 37) % 500, eventTimeMax: ((i * 37) % 500) + 5 })]));
    }
    const expect = [0, 100, 250, 499].map((t) => s.seqForEventTime(t));
    const expectAppend = [1000, 1205, 1400].map((t) => s.seqForAppendTime(t));
    const expectRead = [5, 17, 33].map((q) => s.read(q, 1).bytes);
    s.close();
    const seg1 = readdirSync(dir).filter((f) => f.endsWith('.index')).sort()[1]!;
    unlinkSync(join(dir, indexFileName(0)));
    const idx = readFileSync(join(dir, seg1));
    idx[4] ^= 0xff;
    writeFileSync(join(dir, seg1), idx);
    const r = openStore(opts);
    assert.deepEqual([0, 100, 250, 499].map((t) => r.seqForEventTime(t)), expect);
    assert.deepEqual([1000, 1205, 1400].map((t) => r.seqForAppendTime(t)), expectAppend);
    assert.deepEqual([5, 17, 33].map((q) => r.read(q, 1).bytes), expectRead);
    assert.equal(r.indexRebuilds, 2);
    assert.ok(statSync(join(dir, indexFileName(0))).size > 0, 'the rebuilt index is written back');
    r.close();
    assert.equal(verifyShardDir(dir).ok, true);
  } finally {
    cleanup();
  }
});

test('(d) a corrupted active index after a crash is rebuilt by recovery', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, indexIntervalBytes: 100 });
    for (let i = 0; i < 30; i++) s.append(batch([rec(`r${i}`)]));
    s.close();
    const path = join(dir, indexFileName(0));
    const idx = readFileSync(path);
    idx[idx.length - 20] ^= 0xff;
    writeFileSync(path, idx);
    const r = openStore({ dir, indexIntervalBytes: 100 });
    assert.match(r.recovery.problems.join(' '), /rebuilt/);
    for (let q = 0; q < 30; q++) assert.equal(textOf(readAllFrom(r, q)[0]!), `r${q}`);
    r.close();
    assert.equal(verifyShardDir(dir).ok, true);
  } finally {
    cleanup();
  }
});

test('(e) ENOSPC and EIO on write fail the append clearly, leave nothing half-written, and appends resume once healed', () => {
  const { dir, cleanup } = tempDir();
  try {
    const layer = new FaultyFileLayer();
    const s = openStore({ dir, fileLayer: layer });
    s.append(batch([rec('before')]));
    const size = statSync(join(dir, logFileName(0))).size;
    layer.fail({ code: 'ENOSPC', write: true, tornWriteBytes: 150 });
    assert.throws(() => s.append(batch([rec('x'.repeat(100)), rec('y'.repeat(100))])), isCode('DISK_FULL'));
    assert.equal(statSync(join(dir, logFileName(0))).size, size, 'the torn write was truncated away');
    layer.fail({ code: 'EIO', write: true });
    assert.throws(() => s.append(batch([rec('z')])), (e: unknown) => isCode('IO_ERROR')(e) && /EIO/.test((e as Error).message));
    assert.deepEqual(s.describe().endSeq, 1);
    layer.heal();
    assert.equal(s.append(batch([rec('after')])).firstSeq, 1);
    assert.deepEqual(readAll(s).map((r) => textOf(r.payload)), ['before', 'after']);
    s.close();
  } finally {
    cleanup();
  }
});

test('(e) a torn write whose truncation also fails is cut before the next append: no unacked record ever resurfaces', () => {
  const { dir, cleanup } = tempDir();
  try {
    const layer = new FaultyFileLayer();
    const s = openStore({ dir, fileLayer: layer });
    s.append(batch([rec('acked')]));
    const two = batch([rec('ghost-1'), rec('ghost-2')]);
    layer.fail({ code: 'EIO', write: true, truncate: true, tornWriteBytes: two.length - 8 });
    assert.throws(() => s.append(two), isCode('IO_ERROR'));
    layer.fail({ code: 'EIO', truncate: true });
    assert.throws(() => s.append(batch([rec('blocked')])), isCode('IO_ERROR'));
    layer.heal();
    assert.equal(s.append(batch([rec('short')])).firstSeq, 1);
    s.abandon();
    const r = openStore({ dir });
    assert.deepEqual(readAll(r).map((x) => [x.seq, textOf(x.payload)]), [[0, 'acked'], [1, 'short']]);
    r.close();
  } finally {
    cleanup();
  }
});

test('(e) an fsync failure under fsync=always stops the store (SHARD_STOPPED, never retried, even once the fault is gone); reopen() cuts the unacked batch off and appends resume', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const layer = new FaultyFileLayer();
    const s = openStore({ dir, fileLayer: layer, fsync: { mode: 'always' } });
    s.append(batch([rec('a')]));
    layer.fail({ code: 'EIO', fsync: true });
    assert.throws(() => s.append(batch([rec('b')])), isCode('SHARD_STOPPED'));
    layer.heal();
    assert.throws(() => s.append(batch([rec('c')])), isCode('SHARD_STOPPED'));
    assert.deepEqual(s.durableCut, { baseSeq: 0, bytes: batch([rec('a')]).length }, 'the unacked batch is cut off by the reopen');
    const r = await s.reopen();
    assert.equal(r.append(batch([rec('c')])).firstSeq, 1);
    r.abandon();
    const again = openStore({ dir });
    assert.deepEqual(readAll(again).map((x) => textOf(x.payload)), ['a', 'c']);
    again.close();
  } finally {
    cleanup();
  }
});

test('the free-disk guard rejects appends with DISK_FULL below minFreeBytes, before writing, and accepts them again when space returns', () => {
  const { dir, cleanup } = tempDir();
  try {
    const layer = new FaultyFileLayer();
    const clock = manualClock();
    const s = openStore({ dir, fileLayer: layer, minFreeBytes: 1_000_000, now: clock.now });
    layer.freeBytesOverride = 10_000_000;
    s.append(batch([rec('a')]));
    layer.freeBytesOverride = 999_000;
    clock.advance(2000);
    assert.throws(() => s.append(batch([rec('b')])), (e: unknown) => isCode('DISK_FULL')(e) && /minFreeBytes 1000000/.test((e as Error).message));
    assert.equal(s.describe().endSeq, 1);
    layer.freeBytesOverride = 50_000_000;
    assert.equal(s.append(batch([rec('c')])).firstSeq, 1);
    s.close();
  } finally {
    cleanup();
  }
});

test('a torn truncation of a sealed segment: the whole records before the cut are served; CORRUPT names file, byte and seq from the cut record on', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 1000 });
    for (let i = 0; i < 24; i++) s.append(batch([rec(`t${i}-${'k'.repeat(90)}`)]));
    const segs = s.segments();
    s.close();
    assert.ok(segs.length >= 3);
    const victim = segs[1]!;
    const log = join(dir, logFileName(victim.baseSeq));
    const bytes = readFileSync(log);
    const starts: number[] = [];
    for (let off = 0; off < bytes.length; off += bytes.readUInt32LE(off)) starts.push(off);
    assert.ok(starts.length >= 5);
    const cut = starts[3]! + 17; // inside the segment's fourth record
    truncateSync(log, cut);
    const r = openStore({ dir, segmentBytesMax: 1000 });
    const got = r.read(victim.baseSeq, 1 << 20);
    assert.equal(got.count, 3, 'the three whole records before the cut');
    assert.deepEqual(decodeAll(got.bytes).map((x) => textOf(x.payload)), [0, 1, 2].map((k) => `t${victim.baseSeq + k}-${'k'.repeat(90)}`));
    assert.equal(got.nextSeq, victim.baseSeq + 3);
    for (const seq of [victim.baseSeq + 3, victim.baseSeq + 4, victim.endSeq - 1]) {
      assert.throws(
        () => r.read(seq, 1 << 20),
        (e: unknown) => isCode('CORRUPT')(e) && (e as Error).message.includes(log) && /at byte \d+/.test((e as Error).message),
        `seq ${seq}`,
      );
    }
    const target = new Uint8Array(1 << 16);
    assert.equal(r.readInto(victim.baseSeq + 1, target, target.length).count, 2);
    assert.equal(r.read(victim.endSeq, 1 << 20).firstSeq, victim.endSeq);
    assert.ok(r.read(victim.endSeq, 1 << 20).count > 0, 'the next segment is served');
    r.close();
  } finally {
    cleanup();
  }
});

test('a damaged length field inside a sealed segment: reads past it resynchronise on the next valid record before the next index entry; the damaged seq is CORRUPT with its range', () => {
  const { dir, cleanup } = tempDir();
  try {
    // One index entry per segment (the default 4 KiB interval): everything after the damage depends on resynchronising.
    const s = openStore({ dir, segmentBytesMax: 3000 });
    for (let i = 0; i < 40; i++) s.append(batch([rec(`L${i}-${'m'.repeat(120)}`)]));
    const segs = s.segments();
    s.close();
    const victim = segs[1]!;
    const log = join(dir, logFileName(victim.baseSeq));
    const bytes = readFileSync(log);
    const starts: number[] = [];
    for (let off = 0; off < bytes.length; off += bytes.readUInt32LE(off)) starts.push(off);
    assert.ok(starts.length >= 6);
    bytes.writeUInt32LE(0xdead, starts[2]!); // record 2's length field: boundaries after it are lost
    writeFileSync(log, bytes);
    const r = openStore({ dir, segmentBytesMax: 3000 });
    const damaged = victim.baseSeq + 2;
    assert.equal(r.read(victim.baseSeq, 1 << 20).count, 2, 'the records before the damage');
    assert.throws(
      () => r.read(damaged, 1 << 20),
      (e: unknown) => isCode('CORRUPT')(e) && (e as Error).message.includes(log) && (e as Error).message.includes(`byte ${starts[2]}`) && (e as Error).message.includes(`seq ${damaged}`),
    );
    for (let seq = damaged + 1; seq < victim.endSeq; seq++) {
      const got = r.read(seq, 1);
      assert.equal(got.count, 1, `seq ${seq}`);
      assert.equal(textOf(decodeAll(got.bytes)[0]!.payload), `L${seq}-${'m'.repeat(120)}`);
    }
    const rest = r.read(damaged + 1, 1 << 20);
    assert.equal(rest.nextSeq, victim.endSeq, 'one read serves every record after the damage');
    r.close();
  } finally {
    cleanup();
  }
});

test('a damaged but plausible length field (it points into the middle of a later record): reads of the records it skips over are still served', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = openStore({ dir, segmentBytesMax: 3000 });
    for (let i = 0; i < 40; i++) s.append(batch([rec(`P${i}-${'n'.repeat(120)}`)]));
    const victim = s.segments()[1]!;
    s.close();
    const log = join(dir, logFileName(victim.baseSeq));
    const bytes = readFileSync(log);
    const starts: number[] = [];
    for (let off = 0; off < bytes.length; off += bytes.readUInt32LE(off)) starts.push(off);
    bytes.writeUInt32LE(starts[3]! + 16, 0); // record 0 now claims to end 16 bytes into record 3
    writeFileSync(log, bytes);
    const r = openStore({ dir, segmentBytesMax: 3000 });
    assert.throws(() => r.read(victim.baseSeq, 1 << 20), (e: unknown) => isCode('CORRUPT')(e) && (e as Error).message.includes(log));
    for (let seq = victim.baseSeq + 1; seq < victim.endSeq; seq++) {
      const got = r.read(seq, 1);
      assert.equal(textOf(decodeAll(got.bytes)[0]!.payload), `P${seq}-${'n'.repeat(120)}`, `seq ${seq}`);
    }
    r.close();
  } finally {
    cleanup();
  }
});
