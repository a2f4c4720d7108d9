import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AckRanges, describeRanges } from '../../src/cli/ack-ranges.js';
import { recordToJson } from '../../src/cli/record-json.js';
import { describeJson, describeText } from '../../src/cli/commands/stream.js';
import type { StreamDescription } from '../../src/client/types.js';
import { startPosition } from '../../src/cli/commands/consume.js';
import { toMessage } from '../../src/cli/cli-error.js';

test('ack ranges cover exactly the acked seqs, merged and sorted, in any ack order', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 60 }))), (acks) => {
      const unique = [...new Map(acks.map(([s, q]) => [`${s}:${q}`, [s, q] as const])).values()];
      const r = new AckRanges();
      for (const [s, q] of unique) r.add(s, q);
      const ranges = r.ranges();
      const covered = ranges.flatMap((x) => Array.from({ length: x.last - x.first + 1 }, (_, i) => `${x.shard}:${x.first + i}`));
      assert.deepEqual(covered.sort(), unique.map(([s, q]) => `${s}:${q}`).sort());
      for (let i = 1; i < ranges.length; i++) {
        const [a, b] = [ranges[i - 1]!, ranges[i]!];
        assert.ok(a.shard < b.shard || (a.shard === b.shard && a.last + 1 < b.first), 'sorted and not adjacent');
      }
      assert.equal(r.count, unique.length);
    }),
  );
});

test('ranges print as "shard S seq A-B"', () => {
  const r = new AckRanges();
  for (const q of [0, 1, 2]) r.add(0, q);
  r.add(1, 5);
  assert.equal(describeRanges(r.ranges()), 'shard 0 seq 0-2, shard 1 seq 5');
  assert.equal(describeRanges([]), 'none');
});

test('consumed record JSON has the DESIGN keys and the epoch; payload as text, or payloadBase64 when not UTF-8', () => {
  const base = { shard: 1, seq: 7, epoch: 3, appendTime: 1000, eventTime: 900 };
  assert.deepEqual(recordToJson({ ...base, value: Buffer.from('héllo') }), { ...base, payload: 'héllo' });
  const bin = Uint8Array.from([0xff, 0x00, 0xc3]);
  assert.deepEqual(recordToJson({ ...base, value: bin }), { ...base, payloadBase64: Buffer.from(bin).toString('base64') });
  assert.deepEqual(Object.keys(recordToJson({ ...base, value: bin })), ['shard', 'seq', 'epoch', 'appendTime', 'eventTime', 'payloadBase64']);
});

function described(): StreamDescription {
  return {
    namespace: 'default', name: 'e', shards: 2, replicas: 3, retentionMs: null, retentionBytes: null, schema: null, schemaVersion: 0, createdAt: 5,
    shardInfo: [
      {
        shard: 0, startSeq: 0, endSeq: 10, bytes: 800, segmentFiles: 1, failed: null, sequencer: 2, epoch: 4, underReplicated: true,
        segments: [
          { baseSeq: 0, endSeq: 6, epoch: 3, replicas: [1, 2, 3], sealed: true },
          { baseSeq: 6, endSeq: null, epoch: 4, replicas: [2, 3, 4], sealed: false },
        ],
      },
      { shard: 1, startSeq: null, endSeq: null, bytes: null, segmentFiles: null, failed: 'injected: the shard could not be opened', sequencer: null, epoch: 0, underReplicated: false, segments: [] },
    ],
  };
}

test('describe --json is one object whose "shards" is the per-shard array with placement fields', () => {
  const d = described();
  const j = describeJson(d);
  assert.equal(j.shardCount, 2);
  assert.deepEqual(j.shards, d.shardInfo);
  assert.deepEqual(Object.keys((j.shards as object[])[0]!), ['shard', 'startSeq', 'endSeq', 'bytes', 'segmentFiles', 'failed', 'sequencer', 'epoch', 'underReplicated', 'segments']);
  assert.equal(j.createdAt, 5);
});

test('describe text shows sequencer, epoch, under-replication and each placed segment', () => {
  const text = describeText(described());
  assert.match(text, /SHARD\s+START_SEQ\s+END_SEQ\s+BYTES\s+FILES\s+SEQUENCER\s+EPOCH\s+STATE/);
  assert.match(text, /^0\s+0\s+10\s+800\s+1\s+2\s+4\s+ok, under-replicated$/m);
  assert.match(text, /^1\s+-\s+-\s+-\s+-\s+-\s+0\s+FAILED: injected/m);
  assert.match(text, /^0\s+0\s+6\s+3\s+1,2,3\s+sealed$/m);
  assert.match(text, /^0\s+6\s+-\s+4\s+2,3,4\s+active$/m);
});

test('consume start position: at most one --from* flag; default earliest; times parsed', () => {
  assert.equal(startPosition({}), 'earliest');
  assert.equal(startPosition({ from: 'latest' }), 'latest');
  assert.deepEqual(startPosition({ fromSeq: 5 }), { seq: 5 });
  assert.deepEqual(startPosition({ fromAppendTime: '1970-01-01T00:00:01Z' }), { appendTime: 1000 });
  assert.deepEqual(startPosition({ fromEventTime: '42' }), { eventTime: 42 });
  assert.throws(() => startPosition({ from: 'earliest', fromSeq: 1 }), /at most one of --from/);
});

test('error messages become one capitalized sentence on one line', () => {
  assert.equal(toMessage(new Error('connect ECONNREFUSED\n  at x')), 'Connect ECONNREFUSED at x.');
  assert.equal(toMessage('Done.'), 'Done.');
});
