/**
 * produce --json when the node is killed (kill -9) part-way: non-zero exit,
 * the acked count and ranges are honest (every acked record is there after a
 * restart), and no record is written twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, collect, lines, startNode, CLI_MAIN } from './cli-process.js';

/** Polls describe until the stream holds at least `n` records (bounded by the test's own timeout). */
async function waitForRecords(server: string, name: string, n: number): Promise<void> {
  for (;;) {
    const d = await cli(['stream', 'describe', name, '--json', '--server', server]);
    const shards = (JSON.parse(d.stdout.toString()) as { shards: { endSeq: number }[] }).shards;
    if (shards.reduce((a, s) => a + s.endSeq, 0) >= n) return;
  }
}

test('produce --json with the node killed part-way: non-zero exit, every acked record present after restart, none twice', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-cli-kill-'));
  const data = join(dir, 'data');
  const node = await startNode(data);
  assert.equal((await cli(['stream', 'create', 'k', '--shards', '2', '--server', node.server])).code, 0);
  const producer = spawn(process.execPath, [CLI_MAIN, 'produce', 'k', '--json', '--timeout-ms', '1000', '--server', node.server], { stdio: ['pipe', 'pipe', 'pipe'] });
  const result = collect(producer);
  producer.stdin.on('error', () => undefined);
  let next = 0;
  const feed = setInterval(() => {
    const chunk = Array.from({ length: 200 }, () => `rec-${next++}`).join('\n');
    producer.stdin.write(`${chunk}\n`);
  }, 10);
  await waitForRecords(node.server, 'k', 1000);
  assert.equal(await node.stop('SIGKILL'), null);
  const r = await result;
  clearInterval(feed);
  assert.notEqual(r.code, 0, 'produce fails when records are not acked');
  assert.match(r.stderr, /^[A-Z].*\.\n$/, 'one sentence on stderr');
  const summary = JSON.parse(lines(r.stdout).at(-1)!) as { acked: number; ranges: { shard: number; first: number; last: number }[] };
  assert.equal(summary.acked, summary.ranges.reduce((a, x) => a + x.last - x.first + 1, 0));
  assert.ok(summary.acked > 0, 'some records were acked before the kill');

  const again = await startNode(data);
  const got = lines((await cli(['consume', 'k', '--json', '--server', again.server])).stdout).map((l) => JSON.parse(l) as { shard: number; seq: number; payload: string });
  assert.equal(await again.stop('SIGTERM'), 0);
  const present = new Set(got.map((x) => `${x.shard}:${x.seq}`));
  for (const range of summary.ranges) {
    for (let s = range.first; s <= range.last; s++) assert.ok(present.has(`${range.shard}:${s}`), `acked ${range.shard}:${s} is present`);
  }
  const payloads = got.map((x) => x.payload);
  assert.equal(new Set(payloads).size, payloads.length, 'no record written twice');
  for (const p of payloads) assert.match(p, /^rec-\d+$/);
  rmSync(dir, { recursive: true, force: true });
});
