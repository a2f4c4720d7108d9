/**
 * Power loss at every kind of point: a crash is armed at a random file-layer
 * call (a write there lands torn), the run goes on until it hits, and the
 * disk is reopened on the crash image ('drop-all': only what was fsynced;
 * 'random': plus any subset of unsynced pages and directory entries). The
 * reopened state must be the model's state after the last persist that
 * returned, or after the one in flight (whole), nothing else; and the
 * recovered disk must take more persists and reopen to the model again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftDisk } from '../../src/cluster/raft-disk.js';
import type { DurableState } from '../../src/consensus/types.js';
import { SimDisk } from '../../src/sim/sim-disk.js';
import { PowerCrash, PowerLossFs, type CrashMode } from '../torture/harness/power-loss-fs.js';
import { Rng, runSeed, withSeed } from '../torture/harness/rng.js';
import { assertSameState, nextPersist, sameState, summary } from './raft-disk-gen.js';

const DIR = '/data/@raft';
const ITERATIONS = 400;
const STEPS = 40;

function isCrash(e: unknown): boolean {
  return e instanceof PowerCrash || (e instanceof Error && e.cause instanceof PowerCrash);
}

function runOne(seed: number, mode: CrashMode): { inFlightWhole: boolean; crashed: boolean; tornTail: boolean } {
  const rng = new Rng(seed);
  const pick = (n: number): number => (n <= 1 ? 0 : rng.int(0, n - 1));
  const segmentBytesMax = rng.pick([300, 2000, 1 << 20]);
  const fs = new PowerLossFs();
  fs.mkdirp('/data');
  const model = new SimDisk();
  const states: DurableState[] = [model.durableState()];
  fs.armCrash(rng.int(1, STEPS * 6), (n) => rng.int(0, n));
  let returned = 0;
  let crashed = false;
  try {
    let { disk } = RaftDisk.open(DIR, fs, { segmentBytesMax });
    for (let i = 0; i < STEPS; i++) {
      const p = nextPersist(model, pick);
      model.apply(p);
      states.push(model.durableState());
      if (rng.int(0, 9) === 0) {
        disk.close();
        disk = RaftDisk.open(DIR, fs, { segmentBytesMax }).disk;
      }
      disk.persist(p);
      returned = i + 1;
    }
  } catch (e) {
    if (!isCrash(e)) throw e;
    crashed = true;
  }
  const image = fs.crashImage(mode, rng.fork('image'));
  const { disk, durable, repair } = RaftDisk.open(DIR, image, { segmentBytesMax });
  const acked = states[returned] as DurableState;
  const inFlight = states[returned + 1];
  const whole = inFlight !== undefined && sameState(durable, inFlight);
  if (!whole && !sameState(durable, acked)) {
    assertSameState(durable, acked, `after ${returned} returned persists (got ${summary(durable)}; the one in flight: ${inFlight === undefined ? 'none' : summary(inFlight)})`);
  }
  // The recovered disk goes on: more persists, then a clean reopen equals the model.
  const again = new SimDisk();
  again.apply({ snapshot: durable.snapshot, entries: durable.entries, hardState: durable.hardState });
  for (let i = 0; i < 8; i++) {
    const p = nextPersist(again, pick);
    disk.persist(p);
    again.apply(p);
  }
  disk.close();
  assertSameState(RaftDisk.open(DIR, image, { segmentBytesMax }).durable, again.durableState(), 'after recovery and 8 more persists');
  return { inFlightWhole: whole && inFlight !== undefined, crashed, tornTail: repair.tornTail !== null };
}

for (const mode of ['drop-all', 'random'] as const) {
  test(`power loss (${mode} image) at a random file-layer call: reopen gives the state after the last returned persist or the one in flight whole, and the disk goes on`, () => {
    const base = runSeed();
    let whole = 0;
    let crashes = 0;
    let torn = 0;
    for (let k = 0; k < ITERATIONS; k++) {
      const seed = (base + k) >>> 0;
      try {
        const r = runOne(seed, mode);
        if (r.inFlightWhole) whole++;
        if (r.crashed) crashes++;
        if (r.tornTail) torn++;
      } catch (e) {
        throw withSeed(`raft-disk power loss ${mode}`, seed, e);
      }
    }
    // Both outcomes must occur, or the test is not exercising the in-flight persist.
    assert.ok(whole > 0 && whole < crashes, `in-flight persist survived whole in ${whole} of ${crashes} crashed runs`);
    // A torn frame reaches the disk only when unsynced pages may survive.
    if (mode === 'random') assert.ok(torn > 0, 'no run left a torn tail to truncate');
    assert.ok(crashes > ITERATIONS * 0.8, `only ${crashes} of ${ITERATIONS} runs reached their crash point`);
  });
}
