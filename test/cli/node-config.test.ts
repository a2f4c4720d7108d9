import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_ENTRIES, DEFAULT_CONFIG } from '../../src/node/config.js';
import { envName, readConfigFile, resolveNodeConfig } from '../../src/cli/node-config.js';

test('env names are NATIVELOG_ plus the key in upper snake case', () => {
  assert.equal(envName('dataDir'), 'NATIVELOG_DATA_DIR');
  assert.equal(envName('inFlightPerConnectionMax'), 'NATIVELOG_IN_FLIGHT_PER_CONNECTION_MAX');
  assert.equal(envName('port'), 'NATIVELOG_PORT');
});

test('with no sources every setting is its default', () => {
  assert.deepEqual(resolveNodeConfig(CONFIG_ENTRIES, { flags: {}, env: {} }), DEFAULT_CONFIG);
});

test('precedence is flags > config file > environment > defaults, per setting', () => {
  const cfg = resolveNodeConfig(CONFIG_ENTRIES, {
    flags: { port: '9001' },
    file: { port: 9002, dataDir: '/from/file' },
    env: { NATIVELOG_PORT: '9003', NATIVELOG_DATA_DIR: '/from/env', NATIVELOG_HOST: '0.0.0.0', NATIVELOG_NODE_ID: '7' },
  });
  assert.equal(cfg.port, 9001);
  assert.equal(cfg.dataDir, '/from/file');
  assert.equal(cfg.host, '0.0.0.0');
  assert.equal(cfg.nodeId, 7);
  assert.equal(cfg.fsync, DEFAULT_CONFIG.fsync);
});

test('numeric settings must be non-negative integers; the error names the source', () => {
  assert.throws(() => resolveNodeConfig(CONFIG_ENTRIES, { flags: { port: 'abc' }, env: {} }), { message: '--port must be a non-negative integer, got "abc".' });
  assert.throws(() => resolveNodeConfig(CONFIG_ENTRIES, { flags: {}, file: { port: '70' }, env: {} }), /"port" in the config file must be a non-negative integer/);
  assert.throws(() => resolveNodeConfig(CONFIG_ENTRIES, { flags: {}, env: { NATIVELOG_PORT: '-1' } }), /NATIVELOG_PORT must be a non-negative integer/);
});

test('an unknown key in the config file is rejected, listing the known ones', () => {
  assert.throws(() => resolveNodeConfig(CONFIG_ENTRIES, { flags: {}, file: { prot: 1 }, env: {} }), /unknown setting "prot"; known settings are dataDir, host, port/);
});

test('the config file must be one JSON object', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-cfg-'));
  writeFileSync(join(dir, 'ok.json'), '{"port": 1234}');
  writeFileSync(join(dir, 'bad.json'), '{"port": ');
  writeFileSync(join(dir, 'arr.json'), '[1]');
  assert.deepEqual(await readConfigFile(join(dir, 'ok.json')), { port: 1234 });
  await assert.rejects(readConfigFile(join(dir, 'bad.json')), /is not valid JSON/);
  await assert.rejects(readConfigFile(join(dir, 'arr.json')), /must hold one JSON object/);
  await assert.rejects(readConfigFile(join(dir, 'missing.json')), /Cannot read config file/);
  rmSync(dir, { recursive: true });
});
