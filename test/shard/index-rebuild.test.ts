/**
 * Offline index rebuilds (issue 3: piscina runs stateless jobs, among them
 * index rebuilds): indexes of sealed segments written by the real ShardStore
 * are deleted, corrupted, cut or swapped; rebuildIndexes (piscina pool) must
 * write them back byte-identical, leave valid ones alone, refuse damaged logs
 * and the active segment, and the reopened store must answer seq and time
 * lookups right without rebuilding anything itself. Also `nativelog verify
 * --rebuild-indexes` as a process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecord, encodeRecordInto, encodedRecordLength, type RecordInput } from '../../src/record/index.js';
import { ShardStore } from '../../src/storage/shard-store.js';
import { rebuildSegmentIndex } from '../../src/storage/index-rebuild.js';
import { rebuildIndexes, sealedSegmentPaths } from '../../src/shard/index-rebuild-pool.js';
import { cli } from '../cli/cli-process.js';

const SEGMENTS = 5; // 4 sealed + the active one
const PER_SEGMENT = 80;

interface Written {
  seq: number;
  appendTime: number;
  eventTimeMax: number;
  payload: Uint8Array;
}

/** Deterministic pseudo-random numbers (LCG) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function encodeAll(inputs: RecordInput[]): Uint8Array {
  const out = new Uint8Array(inputs.reduce((n, r) => n + encodedRecordLength(r), 0));
  let pos = 0;
  for (const r of inputs) pos += encodeRecordInto(out, pos, r);
  return out;
}

/** One shard folder with SEGMENTS segments of PER_SEGMENT records (sizes 60..1060 B, out-of-order event times), closed cleanly. */
function writeShard(dir: string, seed: number): Written[] {
  const rand = rng(seed);
  let clock = 1_700_000_000_000;
  const store = ShardStore.open({ dir, minFreeBytes: 0, now: () => clock });
  const written: Written[] = [];
  for (let seg = 0; seg < SEGMENTS; seg++) {
    for (let b = 0; b < PER_SEGMENT / 10; b++) {
      clock += 1 + Math.floor(rand() * 50);
      const inputs: RecordInput[] = Array.from({ length: 10 }, () => {
        const payload = new Uint8Array(60 + Math.floor(rand() * 1000)).map(() => Math.floor(rand() * 256));
        const ev = clock - 100_000 + Math.floor(rand() * 200_000);
        return { payload, eventTimeMin: ev, eventTimeMax: ev + Math.floor(rand() * 1000) };
      });
      const r = store.append(encodeAll(inputs));
      inputs.forEach((inp, k) => written.push({ seq: r.firstSeq + k, appendTime: r.appendTime, eventTimeMax: inp.eventTimeMax!, payload: inp.payload }));
    }
    if (seg < SEGMENTS - 1) store.roll();
  }
  store.close();
  return written;
}

interface Fixture {
  dataDir: string;
  shards: Array<{ dir: string; written: Written[] }>;
  /** Index file path -> bytes as the store wrote them. */
  originals: Map<string, Buffer>;
}

function fixture(t: { after(fn: () => void): void }): Fixture {
  const dataDir = mkdtempSync(join(tmpdir(), 'nl-index-rebuild-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const shards = ['0', '1'].map((shard, k) => {
    const dir = join(dataDir, 'default', 'events', shard);
    return { dir, written: writeShard(dir, 7 + k) };
  });
  const originals = new Map<string, Buffer>();
  for (const s of shards) {
    for (const n of readdirSync(s.dir).filter((f) => f.endsWith('.index'))) originals.set(join(s.dir, n), readFileSync(join(s.dir, n)));
  }
  return { dataDir, shards, originals };
}

const indexOf = (logPath: string): string => logPath.replace(/\.log$/, '.index');

/** Reopens the shard and checks every seq and a set of time lookups against what was written; the store must rebuild nothing. */
function checkLookups(dir: string, written: Written[]): void {
  const store = ShardStore.open({ dir, minFreeBytes: 0 });
  try {
    for (const w of written) {
      const r = store.read(w.seq, 1);
      const rec = decodeRecord(r.bytes, 0);
      assert.equal(rec.seq, w.seq);
      assert.deepEqual(rec.payload, w.payload, `payload of seq ${w.seq}`);
    }
    const end = written.length;
    const lowest = (values: number[], q: number): number => {
      const i = values.findIndex((v) => v >= q);
      return i < 0 ? end : i;
    };
    const appends = written.map((w) => w.appendTime);
    const events = written.map((w) => w.eventTimeMax);
    const lo = Math.min(...events) - 10;
    const hi = Math.max(...events, ...appends) + 10;
    for (let k = 0; k <= 64; k++) {
      const q = Math.round(lo + ((hi - lo) * k) / 64);
      assert.equal(store.seqForEventTime(q), lowest(events, q), `event time ${q}`);
      assert.equal(store.seqForAppendTime(q), lowest(appends, q), `append time ${q}`);
    }
    for (const w of written.filter((_, i) => i % 37 === 0)) {
      assert.equal(store.seqForAppendTime(w.appendTime), lowest(appends, w.appendTime));
      assert.equal(store.seqForEventTime(w.eventTimeMax), lowest(events, w.eventTimeMax));
    }
    assert.equal(store.indexRebuilds, 0, 'the rebuilt indexes are accepted as they are (entry counts match the checkpoint)');
  } finally {
    store.close();
  }
}

test('missing, corrupt, cut and swapped indexes of sealed segments are rebuilt byte-identical; valid ones are left alone; lookups after reopening are right', async (t) => {
  const f = fixture(t);
  const [a, b] = f.shards.map((s) => sealedSegmentPaths(s.dir));
  assert.equal(a!.length, SEGMENTS - 1);
  assert.ok([...f.originals.values()].every((bytes) => bytes.length >= 3 * 32), 'several entries per index');
  unlinkSync(indexOf(a![0]!)); // missing
  const corrupt = Buffer.from(f.originals.get(indexOf(a![1]!))!);
  corrupt[32 + 5] ^= 0x10; // entry 1's position: its CRC no longer matches
  writeFileSync(indexOf(a![1]!), corrupt);
  truncateSync(indexOf(a![2]!), f.originals.get(indexOf(a![2]!))!.length - 40); // cut, and a partial entry
  copyFileSync(indexOf(b![2]!), indexOf(b![1]!)); // CRC-valid entries that point at the wrong records
  writeFileSync(indexOf(b![3]!), Buffer.alloc(0)); // empty: 0 entries, the checkpoint says more
  const activeIndex = indexOf(join(f.shards[0]!.dir, readdirSync(f.shards[0]!.dir).filter((n) => n.endsWith('.log')).sort().at(-1)!));
  const activeBefore = readFileSync(activeIndex);

  const r = await rebuildIndexes(f.dataDir, { threads: 2, onlyMissingOrInvalid: true });
  assert.equal(r.ok, true, JSON.stringify(r.failed));
  assert.deepEqual([r.shards, r.segments, r.kept], [2, 2 * (SEGMENTS - 1), 2 * (SEGMENTS - 1) - 5]);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(
    r.rebuilt.map((x) => x.file),
    [a![0]!, a![1]!, a![2]!, b![1]!, b![3]!].map(indexOf).sort(),
  );
  const reasons = new Map(r.rebuilt.map((x) => [x.file, x.reason]));
  assert.equal(reasons.get(indexOf(a![0]!)), 'missing');
  assert.match(reasons.get(indexOf(a![1]!))!, /bad crc/);
  assert.match(reasons.get(indexOf(a![2]!))!, /partial entry/);
  assert.match(reasons.get(indexOf(b![1]!))!, /entry \d+/);
  assert.match(reasons.get(indexOf(b![3]!))!, /has 0 entries, the checkpoint says \d+/);
  for (const [file, bytes] of f.originals) assert.deepEqual(readFileSync(file), bytes, `${file} byte-identical to the store's`);
  assert.deepEqual(readFileSync(activeIndex), activeBefore, 'the active segment is not touched');
  assert.ok(readdirSync(f.shards[0]!.dir).every((n) => !n.endsWith('.tmp')));
  for (const s of f.shards) checkLookups(s.dir, s.written);
});

test('without onlyMissingOrInvalid every sealed index is rewritten, still byte-identical', async (t) => {
  const f = fixture(t);
  for (const s of f.shards) for (const p of sealedSegmentPaths(s.dir)) unlinkSync(indexOf(p));
  const r = await rebuildIndexes(f.dataDir, { threads: 2 });
  assert.deepEqual([r.ok, r.rebuilt.length, r.kept], [true, 2 * (SEGMENTS - 1), 0]);
  assert.equal(r.rebuilt.reduce((n, x) => n + x.records, 0), 2 * (SEGMENTS - 1) * PER_SEGMENT);
  for (const [file, bytes] of f.originals) assert.deepEqual(readFileSync(file), bytes, file);
  const again = await rebuildIndexes(f.dataDir, { threads: 1, onlyMissingOrInvalid: true });
  assert.deepEqual([again.rebuilt.length, again.kept], [0, 2 * (SEGMENTS - 1)]);
  checkLookups(f.shards[1]!.dir, f.shards[1]!.written);
});

test('a damaged sealed log is reported and its index not written; the active segment is refused; another interval is warned about', async (t) => {
  const f = fixture(t);
  const segs = sealedSegmentPaths(f.shards[0]!.dir);
  const victim = segs[2]!;
  const log = readFileSync(victim);
  log[Math.floor(log.length / 2)] ^= 0x40;
  writeFileSync(victim, log);
  unlinkSync(indexOf(victim));
  unlinkSync(indexOf(segs[0]!));
  const r = await rebuildIndexes(f.dataDir, { threads: 2, onlyMissingOrInvalid: true });
  assert.equal(r.ok, false);
  assert.deepEqual(r.failed.map((x) => x.file), [victim]);
  assert.match(r.failed[0]!.error, /byte \d+ \(from seq \d+\).*index was not rebuilt/);
  assert.ok(!existsSync(indexOf(victim)));
  assert.deepEqual(r.rebuilt.map((x) => x.file), [indexOf(segs[0]!)]);

  const dir = f.shards[1]!.dir;
  const active = join(dir, readdirSync(dir).filter((n) => n.endsWith('.log')).sort().at(-1)!);
  assert.throws(() => rebuildSegmentIndex(active), /active segment/);

  const sealed = sealedSegmentPaths(dir)[0]!;
  const other = rebuildSegmentIndex(sealed, { indexIntervalBytes: 1024 });
  assert.equal(other.rebuilt, true);
  assert.ok(other.entries > f.originals.get(indexOf(sealed))!.length / 32);
  assert.match(other.warnings.join('\n'), /rebuilt with \d+ entries \(indexIntervalBytes 1024\), the checkpoint says \d+/);
  const store = ShardStore.open({ dir, minFreeBytes: 0 });
  try {
    assert.equal(decodeRecord(store.read(10, 1).bytes, 0).seq, 10);
    assert.equal(store.indexRebuilds, 1, 'the node rebuilds an index whose entry count differs from its checkpoint');
  } finally {
    store.close();
  }
  assert.deepEqual(readFileSync(indexOf(sealed)), f.originals.get(indexOf(sealed)));
});

test('nativelog verify --rebuild-indexes: exit 0 after sealed indexes were deleted or corrupted, printing what it rebuilt', async (t) => {
  const f = fixture(t);
  const segs = sealedSegmentPaths(f.shards[0]!.dir);
  unlinkSync(indexOf(segs[0]!));
  const corrupt = Buffer.from(f.originals.get(indexOf(segs[3]!))!);
  corrupt[40] ^= 0x01;
  writeFileSync(indexOf(segs[3]!), corrupt);
  const before = await cli(['verify', '--data-dir', f.dataDir]);
  assert.equal(before.code, 3, 'a corrupt index is a verify failure');

  const fixed = await cli(['verify', '--data-dir', f.dataDir, '--rebuild-indexes']);
  assert.equal(fixed.code, 0, fixed.stdout.toString() + fixed.stderr);
  const out = fixed.stdout.toString();
  assert.match(out, /^indexes: rebuilt 2 of 8 sealed segments' indexes \(6 valid, 0 failed\)$/m);
  assert.ok(out.includes(`rebuilt ${indexOf(segs[0]!)}: `) && out.includes('(was: missing)'), out);
  assert.ok(out.includes(`rebuilt ${indexOf(segs[3]!)}: `) && out.includes('(was: index entry 1: bad crc)'), out);
  assert.match(out, /verify: ok\n$/);
  for (const [file, bytes] of f.originals) assert.deepEqual(readFileSync(file), bytes, file);

  const json = await cli(['verify', '--data-dir', f.dataDir, '--rebuild-indexes', '--json']);
  assert.equal(json.code, 0);
  const report = JSON.parse(json.stdout.toString()) as { ok: boolean; rebuild: { rebuilt: unknown[]; kept: number; segments: number } };
  assert.deepEqual([report.ok, report.rebuild.rebuilt.length, report.rebuild.kept, report.rebuild.segments], [true, 0, 8, 8]);
  assert.equal((await cli(['verify', '--data-dir', f.dataDir, '--index-interval-bytes', '0'])).code, 2);
  assert.ok(statSync(indexOf(segs[0]!)).size > 0);
});
