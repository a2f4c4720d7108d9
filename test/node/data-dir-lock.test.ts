/**
 * One process per data dir (issue 13, finding 2), with real `nativelog`
 * processes on 127.0.0.1: a second start on the same data dir exits at once,
 * naming the holder's pid; a kill -9'd holder's lock is taken over; a failed
 * start leaves no lock; verify refuses while a node owns the data dir.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, collect, startNode, CLI_MAIN } from '../cli/cli-process.js';
import { LOCK_FILE, readLockHolder } from '../../src/lock/owner-lock.js';
import { startNode as startNodeInProcess } from '../../src/node/start-node.js';
import { DEFAULT_CONFIG } from '../../src/node/config.js';
import { shardFolder } from '../torture/harness/data-dir.js';

/** The second start must give up well within this (it normally takes well under a second). */
const SECOND_START_EXIT_MS = 5000;

const roots: string[] = [];
after(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});
async function tempDataDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'nativelog-lockdir-'));
  roots.push(root);
  return join(root, 'data');
}

/** Runs `nativelog start` on dataDir and waits for it to exit, failing if it does not within SECOND_START_EXIT_MS. */
async function startExpectingExit(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI_MAIN, 'start', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), SECOND_START_EXIT_MS);
  const r = await collect(child);
  clearTimeout(timer);
  return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr, ms: performance.now() - t0 };
}

test('a second nativelog start on the same data dir exits non-zero at once naming the first pid; after kill -9 of the first a new start takes the lock over and serves', async () => {
  const dataDir = await tempDataDir();
  const first = await startNode(dataDir);
  let firstAlive = true;
  try {
    assert.equal(readLockHolder(dataDir)?.pid, first.pid, 'the node holds <data-dir>/LOCK');
    const second = await startExpectingExit(dataDir);
    assert.notEqual(second.code, 0, `second start exited ${second.code}; stderr: ${second.stderr}`);
    assert.ok(second.code !== null, `second start did not exit within ${SECOND_START_EXIT_MS} ms (killed)`);
    assert.doesNotMatch(second.stdout, /listening on/);
    assert.match(second.stderr, new RegExp(`process ${first.pid}\\b`), second.stderr);
    assert.equal(second.stderr.trim().split('\n').length, 1, `one line: ${second.stderr}`);
    assert.equal(readLockHolder(dataDir)?.pid, first.pid, 'the refused start left the lock alone');

    // The first still serves.
    const create = await cli(['stream', 'create', 'kept', '--server', first.server]);
    assert.equal(create.code, 0, create.stderr);
    const produce = await cli(['produce', 'kept', '--server', first.server], { input: 'a\nb\n' });
    assert.equal(produce.code, 0, produce.stderr);

    await first.stop('SIGKILL');
    firstAlive = false;
    assert.equal(readLockHolder(dataDir)?.pid, first.pid, 'kill -9 leaves a stale lock');

    const shardLock = join(shardFolder(dataDir, 'default', 'kept', 0), LOCK_FILE);
    assert.equal(readLockHolder(shardFolder(dataDir, 'default', 'kept', 0))?.pid, first.pid, "and its shard worker's lock");

    const third = await startNode(dataDir);
    try {
      assert.equal(readLockHolder(dataDir)?.pid, third.pid, 'the stale lock was taken over');
      assert.equal(readLockHolder(shardFolder(dataDir, 'default', 'kept', 0))?.pid, third.pid, "so was the shard folder's");
      const consume = await cli(['consume', 'kept', '--server', third.server]);
      assert.equal(consume.code, 0, consume.stderr);
      assert.deepEqual(consume.stdout.toString('utf8').split('\n').filter((l) => l !== ''), ['a', 'b']);
    } finally {
      await third.stop('SIGKILL');
    }
    // Offline verify takes over the dead node's data-dir lock, ignores the shard LOCK files left behind, and releases.
    assert.ok(existsSync(shardLock));
    const v = await cli(['verify', '--data-dir', dataDir]);
    assert.equal(v.code, 0, `${v.stdout.toString('utf8')} ${v.stderr}`);
    assert.equal(existsSync(join(dataDir, LOCK_FILE)), false, 'verify released the lock it took over');
  } finally {
    if (firstAlive) await first.stop('SIGKILL');
  }
});

test('verify refuses, naming the pid, while a node owns the data dir (read-only and --rebuild-indexes); after the node stops it runs and leaves no lock', async () => {
  const dataDir = await tempDataDir();
  const node = await startNode(dataDir);
  try {
    for (const extra of [[], ['--rebuild-indexes']]) {
      const r = await cli(['verify', '--data-dir', dataDir, ...extra]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`process ${node.pid}\\b`), r.stderr);
      assert.equal(r.stdout.length, 0, 'nothing was checked');
    }
  } finally {
    assert.equal(await node.stop(), 0);
  }
  const r = await cli(['verify', '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(join(dataDir, LOCK_FILE)), false);
});

test('in one process: a second startNode on the same data dir is refused, and a start that fails after taking the lock releases it', async () => {
  const dataDir = await tempDataDir();
  const config = { ...DEFAULT_CONFIG, dataDir, port: 0, minFreeBytes: 0 };
  const node = await startNodeInProcess(config, { log: () => undefined });
  try {
    await assert.rejects(startNodeInProcess(config, { log: () => undefined }), (e: Error) => (e as { code?: string }).code === 'LOCKED' && e.message.includes(`pid ${process.pid}`));
  } finally {
    await node.close();
  }
  assert.equal(existsSync(join(dataDir, LOCK_FILE)), false, 'close released the lock');
  // A start that fails after the lock (the port is taken) must not leave it behind.
  await assert.rejects(startNodeInProcess({ ...config, port: -1 }, { log: () => undefined }));
  assert.equal(existsSync(join(dataDir, LOCK_FILE)), false, 'a failed start released the lock');
  // A MetaStore that cannot open (its folder is a file) fails the start; the lock goes too.
  const other = await tempDataDir();
  await rm(other, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(other, { recursive: true }));
  await writeFile(join(other, '@meta'), 'not a folder');
  await assert.rejects(startNodeInProcess({ ...config, dataDir: other }, { log: () => undefined }));
  assert.equal(existsSync(join(other, LOCK_FILE)), false, 'a start whose MetaStore failed released the lock');
});

test('read-only verify of a data dir it cannot write (a read-only copy) runs without the lock, but still refuses while a live process holds it', { skip: process.getuid?.() === 0 && 'root writes anywhere' }, async () => {
  const dataDir = await tempDataDir();
  const node = await startNode(dataDir);
  assert.equal(await node.stop(), 0);
  await chmod(dataDir, 0o555);
  try {
    const ok = await cli(['verify', '--data-dir', dataDir]);
    assert.equal(ok.code, 0, ok.stderr);
    const rebuild = await cli(['verify', '--data-dir', dataDir, '--rebuild-indexes']);
    assert.notEqual(rebuild.code, 0, 'a writing verify needs the lock');
    await chmod(dataDir, 0o755);
    await writeFile(join(dataDir, LOCK_FILE), JSON.stringify({ v: 1, pid: process.pid, startTime: null, hostname: hostname(), threadId: 0, token: 't', acquiredAt: 1, owner: 'test' }));
    await chmod(dataDir, 0o555);
    const held = await cli(['verify', '--data-dir', dataDir]);
    assert.notEqual(held.code, 0);
    assert.match(held.stderr, new RegExp(`process ${process.pid}\\b`));
  } finally {
    await chmod(dataDir, 0o755);
  }
});
