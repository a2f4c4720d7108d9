import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFileName, indexFileName } from '../../src/storage/segment-name.js';
import { verifySegmentFile, verifyShardDir } from '../../src/storage/verify.js';
import { batch, openStore, rec, tempDir } from './helpers.js';

function shard(dir: string): number[] {
  const s = openStore({ dir, segmentBytesMax: 1000, indexIntervalBytes: 200 });
  for (let i = 0; i < 30; i++) s.append(batch([rec(`v${i}-${'k'.repeat(i * 3)}`, { eventTimeMin: 1000 - i * 7, eventTimeMax: 1000 + i })]));
  const bases = s.segments().map((m) => m.baseSeq);
  s.close();
  return bases;
}

test('a healthy shard verifies clean: every record counted, every index entry checked', () => {
  const { dir, cleanup } = tempDir();
  try {
    const bases = shard(dir);
    const r = verifyShardDir(dir);
    assert.equal(r.ok, true, JSON.stringify(r.damaged) + r.problems.join());
    assert.equal(r.records, 30);
    assert.equal(r.segments.length, bases.length);
    assert.ok(r.segments.every((s) => s.index !== null && s.index.entries > 0));
  } finally {
    cleanup();
  }
});

test('damage in the middle of a segment is reported as one range and the records after it are still counted', () => {
  const { dir, cleanup } = tempDir();
  try {
    shard(dir);
    const path = join(dir, logFileName(0));
    const bytes = readFileSync(path);
    const second = bytes.readUInt32LE(0);
    const thirdAt = second + bytes.readUInt32LE(second);
    bytes.fill(0xee, second + 40, second + 60); // record 1 only
    writeFileSync(path, bytes);
    const r = verifySegmentFile(path);
    assert.equal(r.ok, false);
    assert.deepEqual(r.damaged.map((d) => [d.byteStart, d.byteEnd, d.seqFirst, d.seqLast]), [[second, thirdAt, 1, 1]]);
    assert.equal(r.lastSeq, verifySegmentFile(path, { checkIndex: false }).lastSeq);
    assert.ok(r.records >= 2);
  } finally {
    cleanup();
  }
});

test('a torn tail is reported to the end of the file with an open seq range', () => {
  const { dir, cleanup } = tempDir();
  try {
    const bases = shard(dir);
    const path = join(dir, logFileName(bases.at(-1)!));
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 5));
    const r = verifySegmentFile(path, { checkIndex: false });
    const d = r.damaged.at(-1)!;
    assert.equal(d.byteEnd, bytes.length - 5);
    assert.equal(d.seqLast, null);
    assert.equal(d.problem, 'beyond-buffer');
  } finally {
    cleanup();
  }
});

test('a wrong index entry and a missing segment are both reported', () => {
  const { dir, cleanup } = tempDir();
  try {
    const bases = shard(dir);
    assert.ok(bases.length >= 3);
    const ipath = join(dir, indexFileName(bases[0]!));
    const ix = readFileSync(ipath);
    // Rewrite entry 1 with a valid CRC but a wrong event time max.
    const { SparseIndex, decodeIndex } = awaitImport();
    const decoded = decodeIndex(ix, 1 << 20).index;
    const rebuilt = new SparseIndex();
    for (let i = 0; i < decoded.count; i++) rebuilt.add(decoded.relSeq[i]!, decoded.position[i]!, decoded.appendTimeMax[i]!, decoded.eventTimeMax[i]! + (i === 1 ? 1 : 0) + (i > 1 ? 1 : 0));
    writeFileSync(ipath, rebuilt.encode(0, rebuilt.count));
    renameSync(join(dir, logFileName(bases[1]!)), join(dir, 'moved-away'));
    const r = verifyShardDir(dir);
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /entry 1 has event time max/);
    assert.ok(r.damaged.some((d) => d.problem === 'segment-gap' && d.seqFirst === bases[1]));
  } finally {
    cleanup();
  }
});

import * as sparse from '../../src/storage/sparse-index.js';
function awaitImport(): typeof sparse {
  return sparse;
}
