/**
 * Smoke test of `nativelog bench` for real: the command (standalone entry,
 * the same registerBenchCommand the CLI uses) starts an embedded node in a
 * child process, produces and consumes over TCP with the real client for
 * about a second, and prints one JSON object on its last line. No speed is
 * asserted here (targets live in the benchmark), only that the numbers are
 * there, positive and consistent, and that nothing was lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/bench/bench-main.js', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function runJson(args: string[], via: string[] = [entry]): Record<string, any> {
  const r = spawnSync(process.execPath, [...via, ...args, '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `bench exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

test('nativelog bench --json against an embedded node: keys present, numbers positive, consumed == produced', () => {
  const args = ['--record-bytes', '1024', '--seconds', '1', '--warmup-seconds', '0.3', '--e2e-seconds', '0.5', '--shards', '2', '--producers', '2', '--limit-seconds-max', '2'];
  const j = runJson(args, [cli, 'bench']);
  assert.equal(j.ok, true, JSON.stringify(j.problems));
  for (const k of ['recordsPerSec', 'mbPerSec']) {
    assert.ok(j.produce[k] > 0, `produce.${k}`);
    assert.ok(j.consume[k] > 0, `consume.${k}`);
  }
  const l = j.produce.latencyMs;
  for (const k of ['p50', 'p99', 'p999', 'max']) assert.ok(l[k] > 0, `produce.latencyMs.${k}`);
  assert.ok(l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max);
  assert.ok(j.limits.rawWriteMbPerSec > 0 && j.limits.rawFsyncWriteMbPerSec > 0 && j.limits.tcpLoopbackMbPerSec > 0);
  assert.ok(j.ratios.produceVsRawWrite > 0 && j.ratios.produceVsRawFsyncWrite > 0 && j.ratios.produceVsTcpLoopback > 0);
  assert.equal(j.consume.records, j.produce.ackedTotal);
  assert.equal(j.verification.consumed, j.produce.ackedTotal);
  assert.equal(j.verification.missing, 0);
  assert.equal(j.verification.duplicates, 0);
  assert.ok(j.produce.records <= j.produce.ackedTotal);
  assert.ok(Math.abs(j.produce.mbPerSec - (j.produce.recordsPerSec * 1024) / 1e6) < 1e-6);
  assert.ok(j.endToEnd.latencyMs.count > 0 && j.endToEnd.delivery.ok);
  assert.equal(j.config.recordBytes, 1024);
  assert.equal(j.config.node, 'child');
  assert.equal(typeof j.machine.cpus, 'number');
});

test('bench --records with 100-byte records, fixed rate, fsync always, no limits', () => {
  const j = runJson(['--record-bytes', '100', '--records', '3000', '--rate', '3000', '--warmup-seconds', '0', '--e2e-seconds', '0', '--fsync', 'always', '--no-limits']);
  assert.equal(j.ok, true, JSON.stringify(j.problems));
  assert.equal(j.produce.ackedTotal, 3000);
  assert.equal(j.produce.primedRecords, 1);
  assert.equal(j.produce.records, 3000 - 1);
  assert.equal(j.consume.records, 3000);
  assert.equal(j.produce.coordinatedOmissionCorrected, true);
  assert.equal(j.limits, null);
  assert.equal(j.endToEnd, null);
  assert.equal(j.config.nodeFsync, 'always');
});

test('bench refuses bad options with one sentence and a non-zero exit', () => {
  const r = spawnSync(process.execPath, [entry, '--record-bytes', '5', '--json'], { encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--record-bytes must be an integer from 24/);
});
