/**
 * Shard isolation and refused settings, through real `nativelog` processes
 * (issue 13, findings 5 and "settings that are accepted must work"):
 * a node whose shard cannot be opened starts anyway, shows the shard as
 * failed with its reason, answers that shard's requests with SHARD_FAILED,
 * and serves every other shard; --replicas > 1 is refused with
 * one clear sentence instead of being stored and ignored; a bad --peers is refused at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shardFolder } from '../torture/harness/data-dir.js';
import { spawn } from 'node:child_process';
import { CLI_MAIN, cli, collect, lines, startNode, type CliResult } from './cli-process.js';

/** A refused start exits at once; one that runs is killed after this long (and fails the test). */
const REFUSAL_WAIT_MS = 10_000;

/** Runs `nativelog ...args`, killing it (by pid) if it has not exited within ms. */
async function cliWithin(args: string[], ms: number): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  try {
    return await collect(child);
  } finally {
    clearTimeout(timer);
  }
}

test('a shard that cannot be opened at start is marked failed (describe shows why), its requests get SHARD_FAILED, and the other shards keep serving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-cli-isolation-'));
  try {
    const a = await startNode(dir);
    assert.equal((await cli(['stream', 'create', 's', '--shards', '3', '--server', a.server])).code, 0);
    for (const shard of [0, 1, 2]) {
      const p = await cli(['produce', 's', '--shard', String(shard), '--server', a.server], { input: `r${shard}-0\nr${shard}-1\n` });
      assert.equal(p.code, 0, p.stderr);
    }
    assert.equal(await a.stop('SIGTERM'), 0);

    // Break shard 1: its segment file becomes a directory, so opening the shard fails (EISDIR).
    const shard1 = shardFolder(dir, 'default', 's', 1);
    for (const f of readdirSync(shard1)) rmSync(join(shard1, f), { recursive: true, force: true });
    mkdirSync(join(shard1, '00000000000000000000.log'));

    const b = await startNode(dir);
    try {
      const d = await cli(['stream', 'describe', 's', '--json', '--server', b.server]);
      assert.equal(d.code, 0, d.stderr);
      const shards = (JSON.parse(d.stdout.toString()) as { shards: { shard: number; endSeq: number | null; failed: string | null }[] }).shards;
      assert.equal(shards[0]!.failed, null);
      assert.equal(shards[0]!.endSeq, 2);
      assert.equal(shards[2]!.endSeq, 2);
      assert.equal(shards[1]!.endSeq, null);
      assert.match(shards[1]!.failed ?? '', /\S/, 'the failed shard names its reason');

      const text = await cli(['stream', 'describe', 's', '--server', b.server]);
      assert.match(text.stdout.toString(), /FAILED: /);

      const bad = await cli(['produce', 's', '--shard', '1', '--timeout-ms', '5000', '--server', b.server], { input: 'x\n' });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /Shard 1 of stream "s" in namespace "default" does not serve: it failed to open \(EISDIR/);
      const good = await cli(['produce', 's', '--shard', '2', '--server', b.server], { input: 'r2-2\n' });
      assert.equal(good.code, 0, good.stderr);
      const c0 = await cli(['consume', 's', '--shard', '0', '--server', b.server]);
      assert.deepEqual(lines(c0.stdout), ['r0-0', 'r0-1']);
      const c2 = await cli(['consume', 's', '--shard', '2', '--server', b.server]);
      assert.deepEqual(lines(c2.stdout), ['r2-0', 'r2-1', 'r2-2']);
    } finally {
      assert.equal(await b.stop('SIGTERM'), 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad --peers is refused at start and --replicas above 1 at stream create, each with one clear sentence; nothing is stored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-cli-refused-'));
  try {
    const peers = await cliWithin(['start', '--port', '0', '--data-dir', join(dir, 'p'), '--node-id', '1', '--peers', '2@127.0.0.1:7071,1@127.0.0.1:7072'], REFUSAL_WAIT_MS);
    assert.notEqual(peers.code, 0);
    assert.match(peers.stderr, /--peers entry "1@127.0.0.1:7072" names this node \(1\)/, peers.stderr);
    assert.equal(peers.stderr.trim().split('\n').length, 1, peers.stderr);
    assert.doesNotMatch(peers.stdout.toString(), /listening on/);

    const a = await startNode(join(dir, 'n'));
    try {
      const r = await cli(['stream', 'create', 'rep', '--replicas', '3', '--server', a.server]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /replicas 3 is refused: a node alone stores exactly 1 copy/i);
      const list = await cli(['stream', 'list', '--json', '--server', a.server]);
      assert.equal(list.stdout.toString(), '', 'the refused stream was not created');
      assert.equal((await cli(['stream', 'create', 'one', '--replicas', '1', '--server', a.server])).code, 0);
    } finally {
      assert.equal(await a.stop('SIGTERM'), 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
