import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/sim/main.js', import.meta.url));
const sim = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

test('npm run sim prints a summary with seeds, steps, steps/s and violations, and exits 0 when clean', () => {
  const r = sim('--seeds', '5', '--seed', '10');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^seeds 5, steps \d+, \d+ steps\/s, .*violations 0/);
  assert.match(r.stdout, /\nMetaStore ops ok \d+, failed \d+, unknown \d+, not applied \d+, reads \d+; linearizability: \d+ stream histories passed, 0 too complex/);
});

test('--json prints one JSON object with the same fields', () => {
  const r = sim('--seeds', '3', '--json', '--nodes', '3');
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(o.seeds, 3);
  assert.equal(o.violations, 0);
  assert.equal(typeof o.stepsPerSec, 'number');
  const m = o.metaStore as Record<string, number>;
  for (const k of ['opsOk', 'opsFailed', 'opsUnknown', 'opsDropped', 'reads', 'linearizabilityChecksPassed', 'tooComplex']) assert.equal(typeof m[k], 'number', k);
  assert.ok(m.opsOk! + m.opsFailed! > 0 && m.linearizabilityChecksPassed! > 0);
});

test('on a violation it prints the seed, a replay command and the trace, and exits non-zero', () => {
  const r = sim('--seeds', '50', '--inject-bug', 'vote-twice');
  assert.equal(r.status, 1);
  assert.match(r.stdout, /VIOLATION at seed \d+/);
  assert.match(r.stdout, /replay: npm run sim -- --seeds 1 --seed \d+ --nodes \d --inject-bug vote-twice/);
  assert.match(r.stdout, /last events:\n(.*\n)+.*VIOLATION election safety/);
});

test('an unknown bug name or a bad seed count is a clear error', () => {
  const a = sim('--inject-bug', 'nope');
  assert.notEqual(a.status, 0);
  assert.match(a.stderr, /unknown bug/);
  const b = sim('--seeds', '0');
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, /--seeds must be an integer >= 1/);
});
