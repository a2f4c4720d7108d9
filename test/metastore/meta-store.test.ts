import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, truncateSync, statSync, rmSync, copyFileSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore, META_DIR_NAME, COMMAND_LOG_FILE, SNAPSHOT_FILE } from '../../src/metastore/meta-store.js';
import { MetaError } from '../../src/metastore/types.js';
import { SHARDS_PER_STREAM_MAX, COMMAND_BYTES_MAX } from '../../src/metastore/bounds.js';
import { Packr } from 'msgpackr';
import { decodeEntry, encodeEntry } from '../../src/metastore/command-codec.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'nl-meta-'));
}
const logPath = (d: string) => join(d, META_DIR_NAME, COMMAND_LOG_FILE);
const snapPath = (d: string) => join(d, META_DIR_NAME, SNAPSHOT_FILE);
const names = (s: MetaStore) => s.listStreams().map((x) => `${x.namespace}/${x.name}`);

async function openCode(dir: string): Promise<string> {
  try {
    const s = await MetaStore.open(dir);
    await s.close();
    return 'OK';
  } catch (e) {
    assert.ok(e instanceof MetaError, String(e));
    return e.code;
  }
}

test('streams created and deleted survive reopen with the same configs, sorted by namespace then name', async () => {
  const dir = tempDir();
  const a = await MetaStore.open(dir, { now: () => 1234 });
  const created = await a.createStream({ name: 'events', shards: 4, retentionMs: 60000, schema: ' host  string,cpu float64 ' });
  assert.match(created.incarnation, /^[0-9a-f]{16}$/);
  assert.deepEqual(created, {
    namespace: 'default', name: 'events', shards: 4, replicas: 1, retentionMs: 60000, retentionBytes: null,
    schema: 'host string, cpu float64', schemaVersion: 1, createdAt: 1234, incarnation: created.incarnation,
  });
  await a.createStream({ namespace: 'b', name: 'z' });
  await a.createStream({ namespace: 'a', name: 'y' });
  await a.createStream({ name: 'gone' });
  await a.deleteStream('default', 'gone');
  await a.setRetention('a', 'y', null, 1000);
  await a.close();
  const b = await MetaStore.open(dir);
  assert.deepEqual(names(b), ['a/y', 'b/z', 'default/events']);
  assert.deepEqual(b.getStream('default', 'events'), created);
  assert.equal(b.getStream('a', 'y')?.retentionBytes, 1000);
  assert.deepEqual(names(b).length, b.listStreams().length);
  assert.deepEqual(b.listStreams('b').map((s) => s.name), ['z']);
  assert.equal(b.lastIndex, 6);
  await b.close();
  rmSync(dir, { recursive: true });
});

test('conditional commands fail with typed errors and are not logged', async () => {
  const dir = tempDir();
  const s = await MetaStore.open(dir);
  await s.createStream({ name: 'x' });
  const bytes = s.logBytes;
  await assert.rejects(s.createStream({ name: 'x' }), { code: 'STREAM_EXISTS' });
  await assert.rejects(s.deleteStream('default', 'nope'), { code: 'UNKNOWN_STREAM' });
  await assert.rejects(s.setRetention('default', 'nope', 1, 1), { code: 'UNKNOWN_STREAM' });
  await assert.rejects(s.createStream({ name: '..' }), { code: 'INVALID_NAME' });
  await assert.rejects(s.createStream({ name: 'ok', namespace: 'a/b' }), { code: 'INVALID_NAME' });
  await assert.rejects(s.createStream({ name: 'big', shards: SHARDS_PER_STREAM_MAX + 1 }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(s.createStream({ name: 'neg', retentionMs: -5 }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(s.createStream({ name: 'sch', schema: 'a notatype' }), { code: 'INVALID_ARGUMENT', message: /Invalid schema: column "a" has unknown type "notatype"/ });
  await assert.rejects(s.createStream({ name: 'sch', schema: 'a int64, a string' }), { code: 'INVALID_ARGUMENT' });
  assert.equal(s.logBytes, bytes);
  assert.equal(s.lastIndex, 1);
  await s.close();
  rmSync(dir, { recursive: true });
});

test('a command larger than COMMAND_BYTES_MAX is refused with a clear error', () => {
  const huge = { op: 'deleteStream' as const, namespace: 'default', name: 'x'.repeat(COMMAND_BYTES_MAX) };
  assert.throws(() => encodeEntry({ index: 1, command: huge }), (e: unknown) => e instanceof MetaError && /more than the 65536 allowed/.test(e.message));
});

test('concurrent calls are serialized: exactly one of many racing creates of one name wins', async () => {
  const dir = tempDir();
  const s = await MetaStore.open(dir);
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => s.createStream({ name: 'race' })));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  await s.close();
  rmSync(dir, { recursive: true });
});

test('truncating the log at every byte offset of its last entry drops exactly that entry, and the store keeps working', async () => {
  const dir = tempDir();
  const s = await MetaStore.open(dir);
  await s.createStream({ name: 'first' });
  await s.createStream({ name: 'second' });
  const before = s.logBytes;
  await s.createStream({ name: 'last', shards: 3, schema: 'a int64' });
  const after = s.logBytes;
  await s.close();
  const full = readFileSync(logPath(dir));
  for (let cut = before; cut < after; cut++) {
    writeFileSync(logPath(dir), full.subarray(0, cut));
    const r = await MetaStore.open(dir);
    assert.deepEqual(names(r), ['default/first', 'default/second'], `cut at ${cut}`);
    assert.equal(statSync(logPath(dir)).size, before, `torn tail removed at cut ${cut}`);
    if (cut === before + 5) {
      await r.createStream({ name: 'again' });
      await r.close();
      const r2 = await MetaStore.open(dir);
      assert.deepEqual(names(r2), ['default/again', 'default/first', 'default/second']);
      await r2.close();
      continue;
    }
    await r.close();
  }
  rmSync(dir, { recursive: true });
});

test('a zero-filled tail (file extended but never written) is dropped as torn', async () => {
  const dir = tempDir();
  const s = await MetaStore.open(dir);
  await s.createStream({ name: 'a' });
  await s.close();
  appendFileSync(logPath(dir), Buffer.alloc(300));
  const r = await MetaStore.open(dir);
  assert.deepEqual(names(r), ['default/a']);
  await r.close();
  rmSync(dir, { recursive: true });
});

test('a damaged byte in any entry before the last one is META_CORRUPT, never skipped', async () => {
  const dir = tempDir();
  const s = await MetaStore.open(dir);
  for (const n of ['a', 'b', 'c']) await s.createStream({ name: n });
  const lastStart = s.logBytes;
  await s.createStream({ name: 'd' });
  await s.close();
  const full = readFileSync(logPath(dir));
  for (let i = 0; i < lastStart; i++) {
    const bad = Buffer.from(full);
    bad[i] = (bad[i] as number) ^ 0x20;
    writeFileSync(logPath(dir), bad);
    assert.equal(await openCode(dir), 'META_CORRUPT', `byte ${i}`);
  }
  rmSync(dir, { recursive: true });
});

test('a snapshot empties the log; state is the same after reopen, also with the old log left behind by a crash', async () => {
  const dir = tempDir();
  const s = await MetaStore.open(dir, { snapshotEvery: 1_000_000 });
  for (let i = 0; i < 5; i++) await s.createStream({ name: `s${i}` });
  await s.deleteStream('default', 's2');
  copyFileSync(logPath(dir), `${logPath(dir)}.old`);
  await s.snapshot();
  assert.equal(s.logBytes, 0);
  await s.createStream({ name: 'post' });
  await s.close();
  const expected = ['default/post', 'default/s0', 'default/s1', 'default/s3', 'default/s4'];
  const r = await MetaStore.open(dir);
  assert.deepEqual(names(r), expected);
  assert.equal(r.lastIndex, 7);
  await r.close();
  // crash after the snapshot's rename but before the log was emptied: the log still holds commands 1..6
  copyFileSync(`${logPath(dir)}.old`, logPath(dir));
  const r2 = await MetaStore.open(dir);
  assert.deepEqual(names(r2), expected.filter((n) => n !== 'default/post'));
  assert.equal(r2.lastIndex, 6);
  await r2.close();
  rmSync(dir, { recursive: true });
});

test('snapshots are taken automatically every snapshotEvery commands', async () => {
  const dir = tempDir();
  const s = await MetaStore.open(dir, { snapshotEvery: 3 });
  for (let i = 0; i < 7; i++) await s.createStream({ name: `s${i}` });
  assert.ok(existsSync(snapPath(dir)));
  assert.ok(s.logBytes > 0);
  await s.close();
  const r = await MetaStore.open(dir);
  assert.equal(r.listStreams().length, 7);
  await r.close();
  rmSync(dir, { recursive: true });
});

test('a damaged snapshot is META_CORRUPT; a leftover snapshot temp file is ignored', async () => {
  const dir = tempDir();
  const s = await MetaStore.open(dir);
  await s.createStream({ name: 'a' });
  await s.snapshot();
  await s.close();
  writeFileSync(`${snapPath(dir)}.tmp`, 'half written');
  assert.equal(await openCode(dir), 'OK');
  const snap = readFileSync(snapPath(dir));
  snap[snap.length - 3] = (snap[snap.length - 3] as number) ^ 1;
  writeFileSync(snapPath(dir), snap);
  assert.equal(await openCode(dir), 'META_CORRUPT');
  truncateSync(snapPath(dir), 10);
  assert.equal(await openCode(dir), 'META_CORRUPT');
  rmSync(dir, { recursive: true });
});

test('every life of a name gets its own incarnation, kept across reopen; a config logged before incarnations existed reads as legacy ("")', async () => {
  const dir = tempDir();
  const a = await MetaStore.open(dir);
  const first = await a.createStream({ name: 'again' });
  await a.deleteStream('default', 'again');
  const second = await a.createStream({ name: 'again' });
  assert.notEqual(first.incarnation, second.incarnation);
  await a.close();
  const b = await MetaStore.open(dir);
  assert.equal(b.getStream('default', 'again')?.incarnation, second.incarnation);
  await b.close();
  rmSync(dir, { recursive: true });

  const legacy = { op: 'createStream', stream: { namespace: 'default', name: 'old', shards: 1, replicas: 1, retentionMs: null, retentionBytes: null, schema: null, schemaVersion: 0, createdAt: 5 } };
  const entry = decodeEntry(new Packr({ useRecords: false, moreTypes: false }).pack({ index: 1, command: legacy }), 'test');
  assert.equal(entry.command.op === 'createStream' && entry.command.stream.incarnation, '');
});
