import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sweep } from './seed-sweep.js';

test('seeds 1001..2000: no invariant is violated and every run recovers after the heal within the liveness bound', () => {
  const s = sweep(1001, 1000);
  // The schedules really exercise the protocol (a sweep that did nothing would prove nothing).
  for (const k of ['elections', 'crashes', 'partitions', 'proposalsAccepted', 'readsServed', 'compactions', 'snapshotsInstalled', 'configChangesCommitted', 'transfersStarted'] as const) {
    assert.ok(s.stats[k] > 0, `${k} never happened`);
  }
  assert.ok(s.committed > 1000);
});
