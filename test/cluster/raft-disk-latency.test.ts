/**
 * Measures what one persist costs on this machine's disk (fsync included),
 * for docs/CONSENSUS.md: PERSISTS calls of a small batch (3 normal entries
 * of 100 bytes, the hard state every 10th call), then a reopen that must
 * give every entry back. Prints median, p90, p99 and max as a test
 * diagnostic; asserts only correctness (timings vary with the machine's
 * load, so they are reported, not checked). RAFT_DISK_BENCH_DIR picks the
 * folder (default: the OS temp dir).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftDisk, raftDiskDir } from '../../src/cluster/raft-disk.js';
import type { Entry } from '../../src/consensus/types.js';
import { nodeFileLayer } from '../../src/storage/file-layer.js';

const PERSISTS = 300;
const ENTRIES_PER_PERSIST = 3;
const ENTRY_BYTES = 100;

test(`persist latency: ${PERSISTS} persists of ${ENTRIES_PER_PERSIST} x ${ENTRY_BYTES}-byte entries on the real file system`, (t) => {
  const root = mkdtempSync(join(process.env['RAFT_DISK_BENCH_DIR'] ?? tmpdir(), 'nl-raftdisk-lat-'));
  try {
    const dir = raftDiskDir(root);
    const { disk } = RaftDisk.open(dir, nodeFileLayer);
    const ms: number[] = [];
    let index = 0;
    for (let i = 0; i < PERSISTS; i++) {
      const entries: Entry[] = [];
      for (let k = 0; k < ENTRIES_PER_PERSIST; k++) entries.push({ index: ++index, term: 1 + Math.floor(i / 10), kind: 'normal', data: new Uint8Array(ENTRY_BYTES).fill(i & 0xff), voters: null });
      const hardState = i % 10 === 0 ? { term: 1 + Math.floor(i / 10), vote: 1 } : null;
      const t0 = process.hrtime.bigint();
      disk.persist({ snapshot: null, entries, hardState });
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    disk.close();
    const r = RaftDisk.open(dir, nodeFileLayer);
    assert.equal(r.durable.entries.length, PERSISTS * ENTRIES_PER_PERSIST);
    r.disk.close();
    ms.sort((a, b) => a - b);
    const q = (p: number): string => (ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] as number).toFixed(3);
    t.diagnostic(`persist ms: median ${q(0.5)}, p90 ${q(0.9)}, p99 ${q(0.99)}, max ${q(1)} (${PERSISTS} calls, dir ${root})`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
