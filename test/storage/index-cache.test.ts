/**
 * The cache of loaded sealed-segment indexes is bounded by bytes
 * (indexCacheBytesMax, default INDEX_CACHE_BYTES_MAX): random seeks over
 * more segments than a count-bounded cache held no longer reload an index
 * per seek, and a small bound is held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INDEX_CACHE_BYTES_MAX } from '../../src/storage/defaults.js';
import { batch, openStore, rec, tempDir } from './helpers.js';

const SEGMENTS = 12;

/** A closed shard of SEGMENTS sealed segments of 40 records each, an index entry per record. */
function fillShard(dir: string): void {
  const s = openStore({ dir, segmentBytesMax: 40 * 96, indexIntervalBytes: 1 });
  for (let i = 0; i < SEGMENTS * 40 + 1; i++) s.append(batch([rec(`r${i}`.padEnd(12, '.'))]));
  assert.ok(s.describe().segments >= SEGMENTS + 1, `segments ${s.describe().segments}`);
  s.close();
}

/** Reads one record at a pseudo-random seq, rounds times per segment. */
function seekAround(s: ReturnType<typeof openStore>, rounds: number): void {
  const { startSeq, endSeq } = s.describe();
  let x = 7;
  for (let i = 0; i < SEGMENTS * rounds; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const r = s.read(startSeq + (x % (endSeq - startSeq)), 1);
    assert.equal(r.count, 1);
  }
}

test('random seeks over 12 sealed segments load each index once when they fit the cache bytes (a 4-segment count bound reloaded)', () => {
  const { dir, cleanup } = tempDir();
  try {
    fillShard(dir);
    const s = openStore({ dir, segmentBytesMax: 40 * 96, indexIntervalBytes: 1 });
    seekAround(s, 20);
    const st = s.indexCacheStats;
    assert.ok(st.loads <= SEGMENTS, `index loads ${st.loads} for ${SEGMENTS} sealed segments`);
    assert.ok(st.bytes > 0 && st.bytes <= INDEX_CACHE_BYTES_MAX, `cache bytes ${st.bytes}`);
    s.close();
  } finally {
    cleanup();
  }
});

test('a small indexCacheBytesMax is held: the loaded indexes stay within it, and seeks still answer right', () => {
  const { dir, cleanup } = tempDir();
  try {
    fillShard(dir);
    const probe = openStore({ dir, segmentBytesMax: 40 * 96, indexIntervalBytes: 1 });
    probe.read(0, 1);
    const oneIndexBytes = probe.indexCacheStats.bytes;
    probe.close();
    const cap = oneIndexBytes * 3;
    const s = openStore({ dir, segmentBytesMax: 40 * 96, indexIntervalBytes: 1, indexCacheBytesMax: cap });
    const { startSeq, endSeq } = s.describe();
    for (let round = 0; round < 3; round++) {
      for (let seq = startSeq; seq < endSeq; seq += 37) {
        const r = s.read(seq, 1);
        assert.equal(r.firstSeq, seq);
        assert.ok(s.indexCacheStats.bytes <= cap, `cache bytes ${s.indexCacheStats.bytes} over ${cap}`);
      }
    }
    assert.ok(s.indexCacheStats.loads > SEGMENTS, `a 3-index cache reloads on a sweep: ${s.indexCacheStats.loads} loads`);
    s.close();
  } finally {
    cleanup();
  }
});

test('indexCacheBytesMax below zero is rejected naming the option', () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.throws(() => openStore({ dir, indexCacheBytesMax: -1 }), /indexCacheBytesMax/);
  } finally {
    cleanup();
  }
});
