/**
 * nativelog start as a process: settings precedence end to end, --help lists
 * every setting with its default, SIGINT exits 0, and verify on the data dir.
 */
import { shardFolder } from '../torture/harness/data-dir.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_ENTRIES } from '../../src/node/config.js';
import { cli, startNode } from './cli-process.js';

test('start --help lists every setting with its default and env name', async () => {
  const r = await cli(['start', '--help']);
  assert.equal(r.code, 0);
  const help = r.stdout.toString().replace(/\s+/g, ' ');
  for (const e of CONFIG_ENTRIES) {
    assert.ok(help.includes(e.flag), e.flag);
    assert.ok(help.includes(`default: ${JSON.stringify(e.default)}`), `${e.flag} default`);
  }
  assert.ok(help.includes('NATIVELOG_DATA_DIR'));
});

test('config precedence in a real node: --data-dir flag beats the config file, which beats NATIVELOG_DATA_DIR; SIGINT exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-cli-start-'));
  const cfg = join(dir, 'node.json');
  writeFileSync(cfg, JSON.stringify({ dataDir: join(dir, 'from-file'), port: 0 }));
  const env = { NATIVELOG_DATA_DIR: join(dir, 'from-env'), NATIVELOG_HOST: '127.0.0.1' };
  const a = await startNode(join(dir, 'from-flag'), ['--config', cfg], env);
  assert.equal(await a.stop('SIGINT'), 0);
  assert.ok(existsSync(join(dir, 'from-flag', '@meta')));
  assert.ok(!existsSync(join(dir, 'from-file')) && !existsSync(join(dir, 'from-env')));

  const { spawn } = await import('node:child_process');
  const { CLI_MAIN, collect } = await import('./cli-process.js');
  const b = spawn(process.execPath, [CLI_MAIN, 'start', '--config', cfg], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = collect(b);
  await new Promise<void>((resolve) => b.stdout!.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve()));
  b.kill('SIGTERM');
  assert.equal((await out).code, 0);
  assert.ok(existsSync(join(dir, 'from-file', '@meta')), 'the config file beats the environment');
  assert.ok(!existsSync(join(dir, 'from-env')));
  rmSync(dir, { recursive: true, force: true });
});

test('a bad setting fails start with one sentence naming its source and a usage exit code', async () => {
  const r = await cli(['start', '--port', 'http'], { env: {} });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, '--port must be a non-negative integer, got "http".\n');
});

test('verify: exit 0 on an intact data dir; exit 3 naming the damaged range for a flipped segment byte or a corrupt MetaStore log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-cli-verify-'));
  const data = join(dir, 'data');
  const node = await startNode(data);
  for (const n of ['a', 'b', 'c']) assert.equal((await cli(['stream', 'create', n, '--server', node.server])).code, 0);
  await cli(['produce', 'a', '--server', node.server], { input: Array.from({ length: 20 }, (_, i) => `payload-${i}`).join('\n') });
  assert.equal(await node.stop('SIGTERM'), 0);
  const ok = await cli(['verify', '--data-dir', data, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout.toString()) as { ok: boolean; metastore: { ok: boolean; commands: number }; data: { records: number } };
  assert.equal(report.ok, true);
  assert.equal(report.metastore.commands, 3);
  assert.equal(report.data.records, 20);

  const shardDir = shardFolder(data, 'default', 'a', 0);
  const segment = readdirSync(shardDir).find((f) => f.endsWith('.log'));
  assert.ok(segment !== undefined, `a segment file in ${readdirSync(shardDir).join(', ')}`);
  const segPath = join(shardDir, segment);
  const original = readFileSync(segPath);
  const damaged = Buffer.from(original);
  const at = damaged.indexOf('payload-5');
  damaged[at] = (damaged[at] as number) ^ 0x01;
  writeFileSync(segPath, damaged);
  const bad = await cli(['verify', '--data-dir', data]);
  assert.equal(bad.code, 3);
  assert.match(bad.stdout.toString(), /segments: DAMAGED[\s\S]*\.log bytes \d+-\d+/);
  assert.match(bad.stderr, /^Corruption found under/);
  writeFileSync(segPath, original);

  const log = join(data, '@meta', 'commands.log');
  const bytes = readFileSync(log);
  bytes[20] = (bytes[20] as number) ^ 0xff;
  writeFileSync(log, bytes);
  const badMeta = await cli(['verify', '--data-dir', data]);
  assert.equal(badMeta.code, 3);
  assert.match(badMeta.stdout.toString(), /metastore: DAMAGED[\s\S]*corrupt at byte 0/);
  rmSync(dir, { recursive: true, force: true });
});

test('no command is a usage error (exit 2); --help and --version exit 0', async () => {
  assert.equal((await cli([])).code, 2);
  assert.equal((await cli(['stream'])).code, 2);
  assert.equal((await cli(['--help'])).code, 0);
  const v = await cli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout.toString(), /^\d+\.\d+\.\d+\n$/);
});
