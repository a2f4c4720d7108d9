import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamConfig } from '../../src/metastore/types.js';
import { reconcileShardFolders } from '../../src/node/reconcile.js';
import { DEFAULT_CONFIG, CONFIG_ENTRIES } from '../../src/node/config.js';
import { parseFsyncPolicy } from '../../src/node/fsync-policy.js';

function stream(namespace: string, name: string, shards: number): StreamConfig {
  return { namespace, name, shards, replicas: 1, retentionMs: null, retentionBytes: null, schema: null, schemaVersion: 0, createdAt: 0, incarnation: '' };
}

test('reconcile removes folders of streams and shards the MetaStore lacks, creates missing ones, leaves @meta and foreign entries', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nativelog-reconcile-'));
  try {
    await mkdir(join(dir, '@meta'), { recursive: true });
    await writeFile(join(dir, '@meta', 'commands.log'), 'x');
    await mkdir(join(dir, 'default', 'gone', '0'), { recursive: true });
    await mkdir(join(dir, 'default', 'kept', '0'), { recursive: true });
    await writeFile(join(dir, 'default', 'kept', '0', 'data'), 'keep me');
    await mkdir(join(dir, 'default', 'kept', '5'), { recursive: true });
    await mkdir(join(dir, 'old-ns', 'x', '0'), { recursive: true });
    await mkdir(join(dir, 'lost+found'), { recursive: true });
    const report = await reconcileShardFolders(dir, [stream('default', 'kept', 2), stream('other', 'fresh', 1)]);
    assert.ok(existsSync(join(dir, '@meta', 'commands.log')));
    assert.ok(existsSync(join(dir, 'lost+found')));
    assert.equal(existsSync(join(dir, 'default', 'gone')), false);
    assert.equal(existsSync(join(dir, 'old-ns')), false);
    assert.equal(existsSync(join(dir, 'default', 'kept', '5')), false);
    assert.ok(existsSync(join(dir, 'default', 'kept', '0', 'data')));
    assert.ok(existsSync(join(dir, 'default', 'kept', '1')));
    assert.ok(existsSync(join(dir, 'other', 'fresh', '0')));
    assert.equal(report.removed.length, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('DEFAULT_CONFIG has a default for every NodeConfig key, from CONFIG_ENTRIES, each with a --flag', () => {
  assert.equal(Object.keys(DEFAULT_CONFIG).length, CONFIG_ENTRIES.length);
  for (const e of CONFIG_ENTRIES) {
    assert.match(e.flag, /^--[a-z-]+$/);
    assert.equal(DEFAULT_CONFIG[e.key], e.default);
  }
  assert.equal(DEFAULT_CONFIG.port, 7070);
  assert.equal(DEFAULT_CONFIG.host, '127.0.0.1');
  assert.equal(DEFAULT_CONFIG.dataDir, './data');
  assert.ok(DEFAULT_CONFIG.ringBytes > DEFAULT_CONFIG.recordBytesMax, 'a ring holds the largest record');
});

test('fsync settings parse to policies and bad ones are rejected', () => {
  assert.deepEqual(parseFsyncPolicy('always'), { mode: 'always' });
  assert.deepEqual(parseFsyncPolicy('bytes:4096'), { mode: 'bytes', bytes: 4096 });
  assert.deepEqual(parseFsyncPolicy('interval:5'), { mode: 'interval', ms: 5 });
  assert.deepEqual(parseFsyncPolicy('roll'), { mode: 'roll' });
  for (const bad of ['', 'never', 'bytes:', 'bytes:0', 'interval:-1']) assert.throws(() => parseFsyncPolicy(bad), /Invalid fsync/);
});
