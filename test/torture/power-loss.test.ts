/**
 * Torture 2 (CI bound): power loss at seeded file-layer calls, over an
 * in-memory disk that discards unsynced writes (harness/power-loss-fs.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord } from '../../src/record/record.js';
import { BACKGROUND_SYNC_LAG_FACTOR, FSYNC_INTERVAL_MS_DEFAULT, FSYNC_POLICY_DEFAULT } from '../../src/storage/defaults.js';
import { ShardStore } from '../../src/storage/shard-store.js';
import { PowerLossFs } from './harness/power-loss-fs.js';
import { Rng, runSeed } from './harness/rng.js';
import { runPowerLoss } from './scenarios/power-loss.js';

/** Power losses per fsync policy and crash mode in CI. */
const CI_CRASHES = 100;
const FSYNC_BYTES = 8192;

test('the storage default fsync policy is the interval policy whose loss window these tests assert', () => {
  assert.deepEqual(FSYNC_POLICY_DEFAULT, { mode: 'interval', ms: FSYNC_INTERVAL_MS_DEFAULT });
});

test('harness self-check: the power-loss disk really discards unsynced appends (default policy, crash 10 ms after the last sync)', () => {
  let clock = 1_000_000;
  const fs = new PowerLossFs();
  fs.mkdirp('/d');
  const s = ShardStore.open({ dir: '/d', fileLayer: fs, minFreeBytes: 0, now: () => clock });
  s.append(encodeRecord({ payload: new Uint8Array([1]) }));
  s.sync();
  clock += 10;
  s.append(encodeRecord({ payload: new Uint8Array([2]) }));
  const after = fs.crashImage('drop-all', new Rng(1));
  const r = ShardStore.open({ dir: '/d', fileLayer: after, minFreeBytes: 0, now: () => clock });
  assert.equal(r.describe().endSeq, 1, 'the synced record survives, the unsynced one is gone');
  r.close();
});

test('harness self-check: a disk whose fsync lies makes the always-policy check fail (the check can fail)', async () => {
  const seed = runSeed();
  // The lost data shows as a shorter log, or (when a later segment survived: a sealed segment lost its bytes,
  // which honest fsyncs never allow) as CORRUPT reads of the lost seqs: recovery never cuts sealed data.
  await assert.rejects(runPowerLoss({ seed, policy: 'always', mode: 'drop-all', crashes: CI_CRASHES, lyingFsync: true }), /fsync 'always' lost|damaged data in .*\.log/);
});

for (const mode of ['drop-all', 'random'] as const) {
  test(`power loss (${mode}): with fsync 'always' no acked record is lost, and what survives is a dense, byte-identical prefix`, async () => {
    const seed = runSeed();
    const s = await runPowerLoss({ seed, policy: 'always', mode, crashes: CI_CRASHES });
    console.log(`power loss always/${mode} seed=${seed}: ${JSON.stringify(s)}`);
    assert.equal(s.crashes, CI_CRASHES);
    assert.equal(s.ackedLost, 0);
  });

  test(`power loss (${mode}): with the default policy only records younger than ${FSYNC_INTERVAL_MS_DEFAULT} ms plus one tick period are lost`, async () => {
    const seed = runSeed();
    const s = await runPowerLoss({ seed, policy: 'default', mode, crashes: CI_CRASHES });
    console.log(`power loss default/${mode} seed=${seed}: ${JSON.stringify(s)}`);
    assert.equal(s.crashes, CI_CRASHES);
    assert.ok(s.lostAgeBoundMs === null || s.lostAgeMsMax < s.lostAgeBoundMs);
  });

  test(`power loss (${mode}): with fsync bytes:${FSYNC_BYTES} the acked records lost add up to fewer than ${FSYNC_BYTES} bytes`, async () => {
    const seed = runSeed();
    const s = await runPowerLoss({ seed, policy: 'bytes', mode, crashes: CI_CRASHES, fsyncBytes: FSYNC_BYTES });
    console.log(`power loss bytes/${mode} seed=${seed}: ${JSON.stringify(s)}`);
    assert.equal(s.crashes, CI_CRASHES);
    assert.ok(s.lostBytesMax < FSYNC_BYTES);
  });

  test(`power loss (${mode}), background fsync and rolls (as shard workers run): only records younger than ${BACKGROUND_SYNC_LAG_FACTOR} x ${FSYNC_INTERVAL_MS_DEFAULT} ms plus one tick period are lost; dense, byte-identical prefix`, async () => {
    const seed = runSeed();
    const s = await runPowerLoss({ seed, policy: 'default', mode, crashes: CI_CRASHES, background: true });
    console.log(`power loss default+background/${mode} seed=${seed}: ${JSON.stringify(s)}`);
    assert.equal(s.crashes, CI_CRASHES);
    assert.ok(s.lostAgeBoundMs === null || s.lostAgeMsMax < s.lostAgeBoundMs);
  });

  test(`power loss (${mode}), background fsync and rolls with bytes:${FSYNC_BYTES}: the acked records lost add up to fewer than ${BACKGROUND_SYNC_LAG_FACTOR} x ${FSYNC_BYTES} bytes`, async () => {
    const seed = runSeed();
    const s = await runPowerLoss({ seed, policy: 'bytes', mode, crashes: CI_CRASHES, fsyncBytes: FSYNC_BYTES, background: true });
    console.log(`power loss bytes+background/${mode} seed=${seed}: ${JSON.stringify(s)}`);
    assert.equal(s.crashes, CI_CRASHES);
    assert.ok(s.lostBytesMax < BACKGROUND_SYNC_LAG_FACTOR * FSYNC_BYTES);
  });
}

/**
 * EIO with lost pages (PowerLossFs.armFsyncFailure): in about 60% of the cycles an fsync-type call fails once,
 * dropping that file's dirty pages. The store must stop and be reopened from what is durable (ShardStore.reopen);
 * the scenario checks the reopen against the power-loss image of that instant and a process restart, then keeps
 * crashing as above.
 */
const FSYNC_FAILURE_CONFIGS: Array<{ name: string; policy: 'always' | 'default' | 'bytes'; background?: boolean; groupCommit?: boolean }> = [
  { name: 'always', policy: 'always' },
  { name: 'always, group commit as the shard worker runs it', policy: 'always', groupCommit: true },
  { name: 'default interval', policy: 'default' },
  { name: 'default interval, background fsync and rolls', policy: 'default', background: true },
  { name: `bytes:${FSYNC_BYTES}`, policy: 'bytes' },
  { name: `bytes:${FSYNC_BYTES}, background fsync and rolls`, policy: 'bytes', background: true },
];

for (const mode of ['drop-all', 'random'] as const) {
  for (const c of FSYNC_FAILURE_CONFIGS) {
    test(`fsync failures (EIO, dirty pages dropped) and power loss (${mode}), ${c.name}: the shard stops and reopens from what is durable; nothing a successful fsync covered is lost${c.policy === 'always' ? ', nothing acked is lost' : ' and the loss stays within the window'}; a restart serves the same`, async () => {
      const seed = runSeed();
      const s = await runPowerLoss({ seed, policy: c.policy, mode, crashes: CI_CRASHES, fsyncBytes: FSYNC_BYTES, background: c.background, groupCommit: c.groupCommit, fsyncFailures: true });
      console.log(`fsync failures ${c.name}/${mode} seed=${seed}: ${JSON.stringify(s)}`);
      assert.equal(s.crashes, CI_CRASHES);
      assert.ok(s.fsyncFailures > 0 && s.reopens > 0, `fsync failures were injected and reopened from (${s.fsyncFailures} failures, ${s.reopens} reopens)`);
      if (c.policy === 'always') assert.equal(s.ackedLost, 0);
      if (c.policy === 'bytes') assert.ok(s.lostBytesMax < (c.background === true ? BACKGROUND_SYNC_LAG_FACTOR : 1) * FSYNC_BYTES);
      if (c.policy === 'default') assert.ok(s.lostAgeBoundMs === null || s.lostAgeMsMax < s.lostAgeBoundMs);
    });
  }
}
