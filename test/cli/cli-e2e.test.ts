/**
 * End to end through real processes: one `nativelog start` node on a free
 * loopback port and a temp data dir, driven by the `nativelog` command.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { cli, lines, startNode, CLI_MAIN, type NodeProcess } from './cli-process.js';

let dir: string;
let node: NodeProcess;
const srv = () => ['--server', node.server];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nl-cli-e2e-'));
  node = await startNode(join(dir, 'data'));
});

after(async () => {
  assert.equal(await node.stop('SIGTERM'), 0, 'SIGTERM stops the node with exit 0');
  rmSync(dir, { recursive: true, force: true });
});

interface RecJson {
  shard: number;
  seq: number;
  appendTime: number;
  eventTime: number;
  payload?: string;
  payloadBase64?: string;
}
const parse = (b: Buffer): RecJson[] => lines(b).map((l) => JSON.parse(l) as RecJson);

test('stream create, list --json and describe (text and --json with a "shards" array)', async () => {
  const c = await cli(['stream', 'create', 'meta1', '--shards', '3', '--retention-ms', '60000', ...srv()]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout.toString(), /created stream default\/meta1 with 3 shards/);
  const l = await cli(['stream', 'list', '--json', ...srv()]);
  const listed = lines(l.stdout).map((x) => JSON.parse(x) as { name: string; shards: number; retentionMs: number });
  assert.deepEqual(listed.find((s) => s.name === 'meta1')?.shards, 3);
  const d = await cli(['stream', 'describe', 'meta1', '--json', ...srv()]);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(lines(d.stdout).length, 1);
  const obj = JSON.parse(d.stdout.toString()) as { shards: { shard: number; startSeq: number; endSeq: number; bytes: number; segmentFiles: number; segments: unknown[] }[]; retentionMs: number; createdAt: number };
  assert.deepEqual(obj.shards.map((s) => [s.shard, s.startSeq, s.endSeq]), [[0, 0, 0], [1, 0, 0], [2, 0, 0]]);
  for (const s of obj.shards) {
    assert.equal(typeof s.bytes, 'number');
    assert.equal(typeof s.segmentFiles, 'number');
    assert.ok(Array.isArray(s.segments), 'placed segments (none on a single node)');
  }
  assert.equal(obj.retentionMs, 60000);
  assert.equal(typeof obj.createdAt, 'number');
  const t = await cli(['stream', 'describe', 'meta1', ...srv()]);
  assert.match(t.stdout.toString(), /SHARD\s+START_SEQ\s+END_SEQ\s+BYTES\s+FILES\s+SEQUENCER\s+EPOCH\s+STATE/);
  const again = await cli(['stream', 'create', 'meta1', ...srv()]);
  assert.equal(again.code, 1);
  assert.equal(lines(Buffer.from(again.stderr)).length, 1, 'one sentence on stderr');
  assert.match(again.stderr, /already exists/);
});

test('produce N lines over 4 shards, then consume them back byte-equal with per-shard order kept', async () => {
  assert.equal((await cli(['stream', 'create', 'rt', '--shards', '4', ...srv()])).code, 0);
  const sent = Array.from({ length: 4000 }, (_, i) => (i % 7 === 0 ? `héllo ✓ ${i}` : i % 11 === 0 ? `{"i":${i},"tab":"\t"}` : `line ${i}`));
  const p = await cli(['produce', 'rt', '--json', ...srv()], { input: `${sent.join('\n')}\n` });
  assert.equal(p.code, 0, p.stderr);
  const summary = JSON.parse(lines(p.stdout).at(-1)!) as { acked: number; ranges: { shard: number; first: number; last: number }[] };
  assert.equal(summary.acked, sent.length);
  assert.deepEqual(summary.ranges, [0, 1, 2, 3].map((shard) => ({ shard, first: 0, last: sent.length / 4 - 1 })), 'spread evenly over every shard');
  const plain = await cli(['consume', 'rt', ...srv()]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(lines(plain.stdout).sort(), [...sent].sort());
  const recs = parse((await cli(['consume', 'rt', '--json', ...srv()])).stdout);
  assert.equal(recs.length, sent.length);
  for (const r of recs) assert.equal(r.payload, sent[r.seq * 4 + r.shard], 'round-robin record by record: line i went to shard i % 4');
  const one = parse((await cli(['consume', 'rt', '--shard', '2', '--json', ...srv()])).stdout);
  assert.deepEqual(one.map((r) => r.seq), Array.from({ length: 1000 }, (_, i) => i));
});

test('consume seeks: --from-seq, --from latest, --max, --shard', async () => {
  await cli(['stream', 'create', 'seek', '--shards', '2', ...srv()]);
  await cli(['produce', 'seek', '--shard', '1', ...srv()], { input: Array.from({ length: 50 }, (_, i) => `r${i}`).join('\n') });
  const fromSeq = parse((await cli(['consume', 'seek', '--shard', '1', '--from-seq', '45', '--json', ...srv()])).stdout);
  assert.deepEqual(fromSeq.map((r) => r.payload), ['r45', 'r46', 'r47', 'r48', 'r49']);
  const latest = await cli(['consume', 'seek', '--from', 'latest', ...srv()]);
  assert.equal(latest.code, 0);
  assert.equal(latest.stdout.length, 0, 'latest without --follow: nothing');
  const max = await cli(['consume', 'seek', '--max', '7', ...srv()]);
  assert.equal(lines(max.stdout).length, 7);
  const empty = await cli(['consume', 'seek', '--shard', '0', ...srv()]);
  assert.equal(empty.stdout.length, 0);
  const bad = await cli(['consume', 'seek', '--shard', '2', ...srv()]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--shard must be below 2/);
});

test('--from-append-time starts after a point in time; --from-event-time finds the lowest seq with event time >= T', async () => {
  await cli(['stream', 'create', 'times', ...srv()]);
  await cli(['produce', 'times', ...srv()], { input: 'a1\na2\n' });
  const first = parse((await cli(['consume', 'times', '--json', ...srv()])).stdout);
  const t = Math.max(...first.map((r) => r.appendTime)) + 1;
  await new Promise((r) => setTimeout(r, 5)); // the next appends get a later clock reading than t
  await cli(['produce', 'times', ...srv()], { input: 'b1\nb2\n' });
  const after = parse((await cli(['consume', 'times', '--json', '--from-append-time', new Date(t).toISOString(), ...srv()])).stdout);
  assert.deepEqual(after.map((r) => r.payload), ['b1', 'b2']);

  await cli(['stream', 'create', 'etimes', ...srv()]);
  const events = [5000, 1000, 9000, 3000, 7000].map((ts, i) => JSON.stringify({ i, ts }));
  const p = await cli(['produce', 'etimes', '--event-time-field', 'ts', ...srv()], { input: events.join('\n') });
  assert.equal(p.code, 0, p.stderr);
  const all = parse((await cli(['consume', 'etimes', '--json', ...srv()])).stdout);
  assert.deepEqual(all.map((r) => r.eventTime), [5000, 1000, 9000, 3000, 7000]);
  const seek = parse((await cli(['consume', 'etimes', '--json', '--from-event-time', '6000', ...srv()])).stdout);
  assert.equal(seek[0]?.seq, 2, 'seq 2 is the lowest with event time >= 6000 (event time is not monotonic)');
  const iso = parse((await cli(['consume', 'etimes', '--json', '--from-event-time', '1970-01-01T00:00:00.001Z', ...srv()])).stdout);
  assert.equal(iso[0]?.seq, 0);
});

test('payloads that are not UTF-8 come back as payloadBase64, byte-equal', async () => {
  await cli(['stream', 'create', 'bin', ...srv()]);
  const raw = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3]);
  await cli(['produce', 'bin', ...srv()], { input: Buffer.concat([raw, Buffer.from('\n')]) });
  const [r] = parse((await cli(['consume', 'bin', '--json', ...srv()])).stdout);
  assert.equal(r?.payload, undefined);
  assert.deepEqual(Buffer.from(r!.payloadBase64!, 'base64'), raw);
  const plain = await cli(['consume', 'bin', ...srv()]);
  assert.deepEqual(plain.stdout, Buffer.concat([raw, Buffer.from('\n')]));
});

test('bad names are rejected with one clear sentence, a usage exit code, and no folder created', async () => {
  const before = readdirSync(join(dir, 'data')).sort();
  for (const bad of ['..', '../escape', 'a/b', 'x'.repeat(250), 'sp ace', '']) {
    const r = await cli(['stream', 'create', bad, ...srv()]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /^Invalid stream name .*\.\n$/);
  }
  const ns = await cli(['stream', 'create', 'ok', '--namespace', '../up', ...srv()]);
  assert.match(ns.stderr, /^Invalid namespace name/);
  assert.deepEqual(readdirSync(join(dir, 'data')).sort(), before);
});

test('errors: unknown stream, unknown flag, bad time, unreachable node: one sentence on stderr, non-zero exit', async () => {
  const unknown = await cli(['consume', 'nope', ...srv()]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^[A-Z].*nope.*\.\n$/);
  const flag = await cli(['consume', 'x', '--bogus', ...srv()]);
  assert.equal(flag.code, 2);
  assert.equal(flag.stderr, "Unknown option '--bogus'.\n");
  const time = await cli(['consume', 'x', '--from-append-time', 'yesterday', ...srv()]);
  assert.equal(time.code, 2);
  const down = await cli(['stream', 'list', '--server', '127.0.0.1:1']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^Cannot connect to 127\.0\.0\.1:1/);
  const p = await cli(['produce', 'nope', '--json', ...srv()], { input: 'x\n' });
  assert.notEqual(p.code, 0);
  assert.deepEqual(JSON.parse(lines(p.stdout).at(-1)!), { acked: 0, ranges: [] }, 'produce --json reports what was acked even when it fails before sending');
});

test('stream delete removes the stream', async () => {
  await cli(['stream', 'create', 'gone', ...srv()]);
  const d = await cli(['stream', 'delete', 'gone', ...srv()]);
  assert.equal(d.code, 0, d.stderr);
  const desc = await cli(['stream', 'describe', 'gone', ...srv()]);
  assert.equal(desc.code, 1);
});

test('a stream with a schema: produce --format jsonl --block-rows packs rows; consume --json prints one object per row', async () => {
  const c = await cli(['stream', 'create', 'rows', '--schema', 'host string, cpu float64, _tp_time datetime64', ...srv()]);
  assert.equal(c.code, 0, c.stderr);
  const rows = Array.from({ length: 7 }, (_, i) => ({ host: `h${i}`, cpu: i / 2, _tp_time: 1000 + i }));
  const p = await cli(['produce', 'rows', '--format', 'jsonl', '--block-rows', '3', '--json', ...srv()], { input: rows.map((r) => JSON.stringify(r)).join('\n') });
  assert.equal(p.code, 0, p.stderr);
  assert.equal((JSON.parse(lines(p.stdout).at(-1)!) as { acked: number }).acked, 3, '7 rows in blocks of 3: 3 records');
  const out = lines((await cli(['consume', 'rows', '--json', ...srv()])).stdout).map((l) => JSON.parse(l) as { seq: number; row: number; eventTime: number; values: unknown });
  assert.deepEqual(out.map((o) => o.values), rows);
  assert.deepEqual(out.map((o) => [o.seq, o.row]), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2], [2, 0]]);
  assert.deepEqual(out.map((o) => o.eventTime), rows.map((r) => r._tp_time));
  const bad = await cli(['produce', 'rows', '--format', 'jsonl', '--block-rows', '2', ...srv()], { input: '{"host":"a","cpu":1,"_tp_time":1}\n{"host":"b","cpu":"x","_tp_time":2}\n' });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Line 2/);
  const after = lines((await cli(['consume', 'rows', '--json', ...srv()])).stdout);
  assert.equal(after.length, rows.length, 'the bad block wrote nothing: still exactly the 7 good rows');
});

test('consume --follow prints records appended after it started, as they arrive', { timeout: 30_000 }, async () => {
  await cli(['stream', 'create', 'tail', '--shards', '2', ...srv()]);
  await cli(['produce', 'tail', ...srv()], { input: 'old\n' });
  const follower = spawn(process.execPath, [CLI_MAIN, 'consume', 'tail', '--follow', '--json', ...srv()], { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  const got = new Promise<string[]>((resolve) => {
    follower.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      const ls = seen.split('\n').filter((l) => l.length > 0);
      if (ls.length >= 4) resolve(ls);
    });
  });
  await new Promise<void>((resolve) => follower.stdout.once('data', () => resolve())); // it has read "old": it is at the end now
  await cli(['produce', 'tail', ...srv()], { input: 'new1\nnew2\nnew3\n' });
  const payloads = (await got).map((l) => (JSON.parse(l) as RecJson).payload).sort();
  follower.kill('SIGTERM');
  assert.deepEqual(payloads, ['new1', 'new2', 'new3', 'old']);
});

test('empty lines are empty records, and a last line without a newline still counts', async () => {
  await cli(['stream', 'create', 'empties', ...srv()]);
  const p = await cli(['produce', 'empties', '--shard', '0', '--json', ...srv()], { input: 'a\n\n\nb' });
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(JSON.parse(lines(p.stdout).at(-1)!), { acked: 4, ranges: [{ shard: 0, first: 0, last: 3 }] });
  const c = await cli(['consume', 'empties', ...srv()]);
  assert.equal(c.stdout.toString(), 'a\n\n\nb\n');
});

test('Ctrl-C on an endless produce (tail -f style): every line read is acked and reported, exit 130', { timeout: 30_000 }, async () => {
  await cli(['stream', 'create', 'endless', '--shards', '2', ...srv()]);
  const producer = spawn(process.execPath, [CLI_MAIN, 'produce', 'endless', '--json', ...srv()], { stdio: ['pipe', 'pipe', 'pipe'] });
  const { collect } = await import('./cli-process.js');
  const result = collect(producer);
  producer.stdin.write(Array.from({ length: 500 }, (_, i) => `e${i}`).join('\n') + '\n'); // stdin stays open
  for (;;) {
    const d = JSON.parse((await cli(['stream', 'describe', 'endless', '--json', ...srv()])).stdout.toString()) as { shards: { endSeq: number }[] };
    if (d.shards.reduce((a, s) => a + s.endSeq, 0) === 500) break;
  }
  producer.kill('SIGINT');
  const r = await result;
  assert.equal(r.code, 130);
  assert.deepEqual(JSON.parse(lines(r.stdout).at(-1)!), { acked: 500, ranges: [{ shard: 0, first: 0, last: 249 }, { shard: 1, first: 0, last: 249 }] });
  assert.match(r.stderr, /^Stopped by SIGINT/);
});
