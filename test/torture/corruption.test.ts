/**
 * Torture 3 (CI bound): damage planted in a stopped node's segment logs,
 * sparse indexes and checkpoints; verify names it, the node starts, serves
 * what is intact, reports the damage, and never serves a corrupt byte.
 * Each test plants one family of damage, so a failure names one defect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INDEX_KINDS, runCorruption, type CorruptionOptions, type CorruptionStats } from './scenarios/corruption.js';
import { runSeed } from './harness/rng.js';

const RECORDS_PER_SHARD = 800;

async function run(name: string, o: Omit<CorruptionOptions, 'seed' | 'recordsPerShard'>): Promise<CorruptionStats> {
  const seed = runSeed();
  const s = await runCorruption({ seed, recordsPerShard: RECORDS_PER_SHARD, ...o });
  console.log(`corruption ${name} seed=${seed}: ${JSON.stringify({ ...s, plantings: s.plantings.map((p) => `${p.kind}:${p.seqFirst ?? ''}-${p.seqLast ?? ''}`) })}`);
  return s;
}

test('bit flips and garbage in sealed segment logs: verify names each damaged range; the node serves every record of undamaged segments and before the damage, answers CORRUPT naming the file, and never serves a corrupt byte', async () => {
  const s = await run('sealed', { kinds: ['flip', 'garbage'], plantings: 5, where: 'sealed', destroyCheckpoints: false, requireIntactAfterDamage: false });
  assert.ok(s.plantings.length === 5 && s.verifyNamedAll && s.corruptReadErrors > 0 && s.appendsAfter === 100);
});

test('a torn truncation of a sealed segment: verify names it and the records before the cut are still served', async () => {
  const s = await run('sealed-truncate', { kinds: ['truncate'], plantings: 2, where: 'sealed', destroyCheckpoints: false, requireIntactAfterDamage: false });
  assert.ok(s.verifyNamedAll && s.corruptReadErrors > 0);
});

test('intact records after a damaged length field (first record of a sealed segment) are still served (reads resynchronize past the damage, as verify does)', async () => {
  const s = await run('intact-after-damage', { kinds: ['flip', 'garbage'], plantings: 3, where: 'sealed', destroyCheckpoints: false, requireIntactAfterDamage: true, firstRecord: true });
  assert.equal(s.intactUnreachable, 0);
});

test('bit flips and garbage in the active segment: reported by a CORRUPT read naming the file, never served, and the shard takes appends again', async () => {
  const s = await run('active', { kinds: ['flip', 'garbage'], plantings: 2, where: 'active', destroyCheckpoints: false, requireIntactAfterDamage: false });
  assert.equal(s.appendsAfter, 100);
});

test('a torn truncation of the active segment (acked records cut off): the loss is reported (the node log names the file), and the shard takes appends again', async () => {
  const s = await run('active-truncate', { kinds: ['truncate'], plantings: 1, where: 'active', destroyCheckpoints: false, requireIntactAfterDamage: false });
  assert.equal(s.appendsAfter, 100);
});

test('damaged sparse indexes (flips, garbage, cut entries, deletion): verify names each damaged index and the node still serves every record', async () => {
  const s = await run('index', { kinds: INDEX_KINDS, plantings: 6, where: 'any', destroyCheckpoints: false, requireIntactAfterDamage: true });
  assert.equal(s.corruptReadErrors, 0);
  assert.equal(s.recordsServedChecked, RECORDS_PER_SHARD * 2);
});

test('sealed-segment damage with every checkpoint destroyed (full-scan recovery): the undamaged segments after the damage are kept and served, and the damage is reported', async () => {
  const s = await run('no-checkpoint', { kinds: ['flip', 'garbage'], plantings: 2, where: 'sealed', destroyCheckpoints: true, requireIntactAfterDamage: false });
  assert.ok(s.verifyNamedAll);
});
