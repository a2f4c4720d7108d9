import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardStore } from '../../src/storage/shard-store.js';
import { findShardDirs, verifyDataDir } from '../../src/shard/verify-pool.js';
import { batchOf } from './shard-fixtures.js';

/** A data dir with 2 streams x 2 shards, each with 3 segments of 20 records. */
function buildDataDir(t: { after(fn: () => void): void }): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'nativelog-verify-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  mkdirSync(join(dataDir, '@meta'));
  writeFileSync(join(dataDir, '@meta', 'log'), 'not a shard');
  for (const stream of ['orders', 'clicks']) {
    for (const shard of ['0', '1']) {
      const store = ShardStore.open({ dir: join(dataDir, 'default', stream, shard), minFreeBytes: 0 });
      for (let seg = 0; seg < 3; seg++) {
        store.append(batchOf(seg * 20, 20, 200));
        if (seg < 2) store.roll();
      }
      store.close();
    }
  }
  return dataDir;
}

function segmentsOf(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.log')).sort().map((n) => join(dir, n));
}

test('verifyDataDir finds every shard folder (and nothing else) and reports intact data as ok', async (t) => {
  const dataDir = buildDataDir(t);
  assert.deepEqual(findShardDirs(dataDir).map((s) => `${s.namespace}/${s.stream}/${s.shard}`), ['default/clicks/0', 'default/clicks/1', 'default/orders/0', 'default/orders/1']);
  const r = await verifyDataDir(dataDir, { threads: 2 });
  assert.equal(r.ok, true, JSON.stringify(r.damaged.concat(r.problems as never[])));
  assert.equal(r.shards.length, 4);
  assert.equal(r.segments, 12);
  assert.equal(r.records, 240);
  assert.ok(r.shards.every((s) => s.ok && s.records === 60));
});

test('a flipped byte inside a sealed segment is reported as damage in that file and shard', async (t) => {
  const dataDir = buildDataDir(t);
  const victim = segmentsOf(join(dataDir, 'default', 'orders', '1'))[1]!;
  const bytes = readFileSync(victim);
  bytes[Math.floor(statSync(victim).size / 2)] ^= 0x40;
  writeFileSync(victim, bytes);
  const r = await verifyDataDir(dataDir, { threads: 2 });
  assert.equal(r.ok, false);
  assert.ok(r.damaged.length >= 1 && r.damaged.every((d) => d.file === victim));
  assert.deepEqual(r.shards.filter((s) => !s.ok).map((s) => `${s.stream}/${s.shard}`), ['orders/1']);
});

test('a missing middle segment is reported as a seq gap', async (t) => {
  const dataDir = buildDataDir(t);
  const dir = join(dataDir, 'default', 'clicks', '0');
  const middle = segmentsOf(dir)[1]!;
  rmSync(middle);
  rmSync(middle.replace(/\.log$/, '.index'), { force: true });
  const r = await verifyDataDir(dataDir, { threads: 2 });
  assert.equal(r.ok, false);
  const gap = r.damaged.find((d) => d.problem === 'segment-gap');
  assert.ok(gap !== undefined);
  assert.deepEqual([gap.seqFirst, gap.seqLast], [20, 39]);
});

test('an empty data dir verifies as ok with nothing checked', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nativelog-verify-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const r = await verifyDataDir(dataDir);
  assert.deepEqual([r.ok, r.shards.length, r.segments], [true, 0, 0]);
});
