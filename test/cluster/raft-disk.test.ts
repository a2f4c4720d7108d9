/**
 * RaftDisk on the real file system (temp dirs): round trip, conflicting
 * suffix, compaction, install-snapshot, torn tails, damage reported with the
 * file and offset, contract and bound errors, fsync failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftDisk, raftDiskDir, segmentFileName } from '../../src/cluster/raft-disk.js';
import { RaftDiskError } from '../../src/cluster/raft-disk-error.js';
import { ENTRY_BYTES_MAX } from '../../src/cluster/raft-disk-limits.js';
import { snapshotFileName } from '../../src/cluster/raft-disk-snapshot.js';
import type { Entry, Persist } from '../../src/consensus/types.js';
import { SimDisk } from '../../src/sim/sim-disk.js';
import { CountingFileLayer, nodeFileLayer } from '../../src/storage/file-layer.js';
import { assertSameState } from './raft-disk-gen.js';

function tmp(): { dir: string; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'nl-raftdisk-'));
  return { dir: raftDiskDir(root), done: () => rmSync(root, { recursive: true, force: true }) };
}

const enc = new TextEncoder();
function ent(index: number, term: number, text = `cmd ${index}@${term}`): Entry {
  return { index, term, kind: 'normal', data: enc.encode(text), voters: null };
}
function run(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term));
  return out;
}
const P = (x: Partial<Persist>): Persist => ({ snapshot: null, entries: [], hardState: null, ...x });

/** Persists to both the disk and the model. */
function both(disk: RaftDisk, model: SimDisk, p: Persist): void {
  disk.persist(p);
  model.apply(p);
}

function expectCorrupt(fn: () => unknown, file: string, offset: number | null): RaftDiskError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RaftDiskError, `not a RaftDiskError: ${String(e)}`);
    assert.equal(e.code, 'RAFT_DISK_CORRUPT', e.message);
    assert.ok(e.message.includes(file), `${e.message} should name ${file}`);
    if (offset !== null) assert.ok(e.message.includes(`at byte ${offset}:`), `${e.message} should name offset ${offset}`);
    return e;
  }
  assert.fail('open accepted damaged storage');
}

test('fresh folder opens empty; persist then reopen gives back entries of every kind, the hard state and the snapshot', () => {
  const t = tmp();
  try {
    const first = RaftDisk.open(t.dir, nodeFileLayer);
    assert.deepEqual(first.durable, { hardState: { term: 0, vote: 0 }, snapshot: null, entries: [] });
    const model = new SimDisk();
    const d = first.disk;
    both(d, model, P({ hardState: { term: 1, vote: 1 } }));
    both(d, model, P({ entries: [{ index: 1, term: 1, kind: 'noop', data: null, voters: null }, { index: 2, term: 1, kind: 'config', data: null, voters: [1, 2, 3] }, ent(3, 1)] }));
    both(d, model, P({ entries: [ent(4, 2, ''), ent(5, 2)], hardState: { term: 2, vote: 0 } }));
    both(d, model, P({ snapshot: { index: 3, term: 1, voters: [1, 2, 3], data: enc.encode('state@3') } }));
    both(d, model, P({ entries: [ent(6, 2)], hardState: { term: 2, vote: 3 } }));
    d.close();
    const again = RaftDisk.open(t.dir, nodeFileLayer);
    assertSameState(again.durable, model.durableState(), 'reopened');
    assert.equal(again.durable.entries[0]?.index, 4);
    assert.equal(again.repair.tornTail, null);
    again.disk.close();
  } finally {
    t.done();
  }
});

test('a conflicting suffix is replaced: entries >= the first new index are discarded, also across a segment roll', () => {
  const t = tmp();
  try {
    const model = new SimDisk();
    const { disk } = RaftDisk.open(t.dir, nodeFileLayer, { segmentBytesMax: 150 });
    both(disk, model, P({ entries: run(1, 10, 1), hardState: { term: 1, vote: 0 } }));
    both(disk, model, P({ entries: run(11, 20, 1) }));
    both(disk, model, P({ entries: run(21, 25, 1) }));
    assert.ok(readdirSync(t.dir).filter((n) => n.endsWith('.seg')).length >= 3, 'rolled');
    // New leader of term 3: entries from 8 on are replaced (they sit in older segments).
    both(disk, model, P({ entries: run(8, 9, 3), hardState: { term: 3, vote: 2 } }));
    disk.close();
    const r = RaftDisk.open(t.dir, nodeFileLayer, { segmentBytesMax: 150 });
    assertSameState(r.durable, model.durableState(), 'after truncation');
    assert.equal(r.durable.entries.length, 9);
    assert.equal(r.durable.entries[8]?.term, 3);
    r.disk.close();
  } finally {
    t.done();
  }
});

test('compaction after a snapshot deletes whole old segments and the old snapshot file; reopen still gives the model state', () => {
  const t = tmp();
  try {
    const model = new SimDisk();
    const { disk } = RaftDisk.open(t.dir, nodeFileLayer, { segmentBytesMax: 300 });
    both(disk, model, P({ hardState: { term: 1, vote: 1 } }));
    for (let i = 1; i <= 60; i += 5) both(disk, model, P({ entries: run(i, i + 4, 1) }));
    const segsBefore = readdirSync(t.dir).filter((n) => n.endsWith('.seg')).sort();
    assert.ok(segsBefore.length >= 5, `expected several segments, got ${segsBefore.join(' ')}`);
    both(disk, model, P({ snapshot: { index: 20, term: 1, voters: [1], data: enc.encode('s20') } }));
    both(disk, model, P({ snapshot: { index: 50, term: 1, voters: [1], data: enc.encode('s50') } }));
    const after = readdirSync(t.dir).sort();
    assert.ok(!after.includes(snapshotFileName(20)), 'old snapshot file removed');
    assert.ok(after.includes(snapshotFileName(50)));
    const segsAfter = after.filter((n) => n.endsWith('.seg'));
    assert.ok(segsAfter.length < segsBefore.length - 2, `segments ${segsBefore.length} -> ${segsAfter.length}`);
    assert.ok(!segsAfter.includes(segsBefore[0] as string), 'the oldest segment is gone');
    both(disk, model, P({ entries: run(61, 62, 1) }));
    disk.close();
    const r = RaftDisk.open(t.dir, nodeFileLayer, { segmentBytesMax: 300 });
    assertSameState(r.durable, model.durableState(), 'after compaction');
    assert.equal(r.durable.entries[0]?.index, 51);
    r.disk.close();
  } finally {
    t.done();
  }
});

test('install-snapshot over a diverging log drops the whole tail; over a matching one keeps it', () => {
  const t = tmp();
  try {
    const model = new SimDisk();
    const { disk } = RaftDisk.open(t.dir, nodeFileLayer);
    both(disk, model, P({ entries: run(1, 10, 2), hardState: { term: 2, vote: 0 } }));
    both(disk, model, P({ snapshot: { index: 5, term: 2, voters: [1, 2], data: enc.encode('match') } }));
    assert.equal(model.lastIndex(), 10);
    both(disk, model, P({ hardState: { term: 4, vote: 0 } }));
    both(disk, model, P({ snapshot: { index: 8, term: 3, voters: [1, 2], data: enc.encode('diverge') } }));
    assert.equal(model.lastIndex(), 8);
    both(disk, model, P({ entries: [ent(9, 4)] }));
    disk.close();
    const r = RaftDisk.open(t.dir, nodeFileLayer);
    assertSameState(r.durable, model.durableState(), 'after installs');
    assert.deepEqual(r.durable.entries.map((e) => [e.index, e.term]), [[9, 4]]);
    r.disk.close();
  } finally {
    t.done();
  }
});

test('a torn tail of the last segment is cut back to the last whole frame and the disk appends after it', () => {
  const t = tmp();
  try {
    const model = new SimDisk();
    const { disk } = RaftDisk.open(t.dir, nodeFileLayer);
    both(disk, model, P({ entries: run(1, 3, 1), hardState: { term: 1, vote: 0 } }));
    disk.close();
    const seg = join(t.dir, segmentFileName(1));
    const good = statSync(seg).size;
    // The frame of a persist that never returned, cut in the middle.
    const probe = tmp();
    const p = RaftDisk.open(probe.dir, nodeFileLayer);
    p.disk.persist(P({ entries: run(1, 3, 1), hardState: { term: 1, vote: 0 } }));
    p.disk.persist(P({ entries: run(4, 6, 1) }));
    p.disk.close();
    const full = readFileSync(join(probe.dir, segmentFileName(1)));
    probe.done();
    appendFileSync(seg, full.subarray(good, good + Math.floor((full.length - good) / 2)));
    const r = RaftDisk.open(t.dir, nodeFileLayer);
    assert.deepEqual(r.repair.tornTail, { file: seg, offset: good });
    assert.equal(statSync(seg).size, good, 'the torn bytes are gone from the file');
    assertSameState(r.durable, model.durableState(), 'torn frame dropped');
    both(r.disk, model, P({ entries: run(4, 4, 1) }));
    r.disk.close();
    assertSameState(RaftDisk.open(t.dir, nodeFileLayer).durable, model.durableState(), 'appended after the cut');
  } finally {
    t.done();
  }
});

/** A folder with three segments (small roll size) and a snapshot; returns the model. */
function threeSegments(dir: string): SimDisk {
  const model = new SimDisk();
  const { disk } = RaftDisk.open(dir, nodeFileLayer, { segmentBytesMax: 200 });
  both(disk, model, P({ entries: run(1, 6, 1), hardState: { term: 1, vote: 0 } }));
  both(disk, model, P({ entries: run(7, 12, 1) }));
  both(disk, model, P({ snapshot: { index: 2, term: 1, voters: [1], data: enc.encode('s2') } }));
  both(disk, model, P({ entries: run(13, 18, 1) }));
  both(disk, model, P({ entries: run(19, 20, 1) }));
  both(disk, model, P({ hardState: { term: 2, vote: 1 } }));
  disk.close();
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.seg')).length, 3);
  return model;
}

function flip(path: string, offset: number): void {
  const b = readFileSync(path);
  b[offset] = (b[offset] as number) ^ 0x40;
  writeFileSync(path, b);
}

test('a flipped byte in a sealed segment is reported with the file and offset, never skipped', () => {
  const t = tmp();
  try {
    threeSegments(t.dir);
    const seg = join(t.dir, segmentFileName(1));
    const size = statSync(seg).size;
    flip(seg, size - 3);
    const e = expectCorrupt(() => RaftDisk.open(t.dir, nodeFileLayer, { segmentBytesMax: 200 }), seg, null);
    assert.match(e.message, /sealed segment/);
  } finally {
    t.done();
  }
});

test('a flipped byte in the last segment with a valid frame after it is corruption, not a torn tail', () => {
  const t = tmp();
  try {
    threeSegments(t.dir);
    const seg = join(t.dir, segmentFileName(3));
    // The first frame of the last segment, followed by the frame of the last persist.
    assert.ok(statSync(seg).size > 130, 'the last segment holds two frames');
    flip(seg, 20);
    expectCorrupt(() => RaftDisk.open(t.dir, nodeFileLayer, { segmentBytesMax: 200 }), seg, 0);
  } finally {
    t.done();
  }
});

test('a missing segment, a missing or damaged snapshot and a foreign file are reported naming the file', () => {
  const t = tmp();
  try {
    threeSegments(t.dir);
    const snap = join(t.dir, snapshotFileName(2));
    const saved = readFileSync(snap);
    flip(snap, saved.length - 1);
    expectCorrupt(() => RaftDisk.open(t.dir, nodeFileLayer), snap, 16);
    unlinkSync(snap);
    expectCorrupt(() => RaftDisk.open(t.dir, nodeFileLayer), snap, 0);
    writeFileSync(snap, saved);
    writeFileSync(join(t.dir, 'stray.txt'), 'x');
    expectCorrupt(() => RaftDisk.open(t.dir, nodeFileLayer), 'stray.txt', 0);
    unlinkSync(join(t.dir, 'stray.txt'));
    const seg2 = join(t.dir, segmentFileName(2));
    const s2 = readFileSync(seg2);
    unlinkSync(seg2);
    expectCorrupt(() => RaftDisk.open(t.dir, nodeFileLayer), segmentFileName(3), 0);
    writeFileSync(seg2, s2);
    // The first segment gone: entries 3.. after snapshot 2 would be missing.
    const seg1 = join(t.dir, segmentFileName(1));
    unlinkSync(seg1);
    const e = expectCorrupt(() => RaftDisk.open(t.dir, nodeFileLayer), segmentFileName(2), 0);
    assert.match(e.message, /not right after snapshot 2/);
  } finally {
    t.done();
  }
});

test('a persist that breaks the contract or a bound is refused without writing, and the disk stays usable', () => {
  const t = tmp();
  try {
    const model = new SimDisk();
    const { disk } = RaftDisk.open(t.dir, nodeFileLayer);
    both(disk, model, P({ entries: run(1, 3, 2), hardState: { term: 2, vote: 1 } }));
    const refused = (p: Persist, code: string, re: RegExp): void => {
      assert.throws(() => disk.persist(p), (e: unknown) => e instanceof RaftDiskError && e.code === code && re.test(e.message));
    };
    refused(P({ entries: [ent(5, 2)] }), 'RAFT_DISK_CONTRACT', /gap after 3/);
    refused(P({ entries: [ent(4, 1)] }), 'RAFT_DISK_CONTRACT', /below the term 2/);
    refused(P({ entries: [ent(4, 3)] }), 'RAFT_DISK_CONTRACT', /hard state term 2 is below the last entry's term 3/);
    refused(P({ hardState: { term: 1, vote: 0 } }), 'RAFT_DISK_CONTRACT', /below the stored 2/);
    refused(P({ hardState: { term: 2, vote: 3 } }), 'RAFT_DISK_CONTRACT', /already has a vote for 1/);
    refused(P({ entries: [{ index: 4, term: 2, kind: 'normal', data: new Uint8Array(ENTRY_BYTES_MAX + 1), voters: null }] }), 'RAFT_DISK_TOO_LARGE', /ENTRY_BYTES_MAX/);
    both(disk, model, P({ snapshot: { index: 2, term: 2, voters: [1], data: enc.encode('s') } }));
    refused(P({ entries: [ent(2, 2)] }), 'RAFT_DISK_CONTRACT', /overwrites snapshot 2/);
    both(disk, model, P({ entries: [ent(4, 2)] }));
    disk.close();
    assertSameState(RaftDisk.open(t.dir, nodeFileLayer).durable, model.durableState(), 'refused persists left no trace');
  } finally {
    t.done();
  }
});

test('an empty last segment (a roll whose first frame never landed) is removed at open', () => {
  const t = tmp();
  try {
    const model = threeSegments(t.dir);
    const seg4 = join(t.dir, segmentFileName(4));
    writeFileSync(seg4, new Uint8Array(7));
    const r = RaftDisk.open(t.dir, nodeFileLayer, { segmentBytesMax: 200 });
    assert.deepEqual(r.repair.removed, [seg4]);
    assertSameState(r.durable, model.durableState(), 'empty segment dropped');
    r.disk.close();
    // And a leftover temp snapshot is removed too.
    writeFileSync(join(t.dir, `${snapshotFileName(9)}.tmp`), 'partial');
    const r2 = RaftDisk.open(t.dir, nodeFileLayer);
    assert.equal(r2.repair.removed.length, 1);
    r2.disk.close();
  } finally {
    t.done();
  }
});

test('one fsync per persist, whatever the number of entries; a roll adds only the directory sync', () => {
  const t = tmp();
  try {
    const layer = new CountingFileLayer(nodeFileLayer);
    const { disk } = RaftDisk.open(t.dir, layer, { segmentBytesMax: 4000 });
    disk.persist(P({ entries: run(1, 2, 1), hardState: { term: 1, vote: 1 } }));
    const seg = join(t.dir, segmentFileName(1));
    layer.reset();
    disk.persist(P({ entries: run(3, 40, 1), hardState: { term: 2, vote: 0 } }));
    assert.deepEqual([...layer.fsyncsByPath.entries()], [[seg, 1]]);
    layer.reset();
    disk.persist(P({ hardState: { term: 2, vote: 2 } }));
    assert.deepEqual([...layer.fsyncsByPath.entries()], [[seg, 1]]);
    layer.reset();
    disk.persist(P({ hardState: { term: 2, vote: 2 } }));
    assert.equal(layer.fsyncsByPath.size, 0, 'an unchanged hard state writes nothing');
    disk.close();
  } finally {
    t.done();
  }
});
