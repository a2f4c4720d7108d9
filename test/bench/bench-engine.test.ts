/**
 * The bench engine against an in-memory client: the numbers it reports are
 * consistent, and it fails (ok=false) when data is lost or damaged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBench } from '../../src/bench/run-bench.js';
import { BenchOptionError, parseByteSize, resolveBenchOptions } from '../../src/bench/bench-options.js';
import { LatencyHistogram } from '../../src/bench/latency-histogram.js';
import { PAYLOAD_HEADER_BYTES, PayloadSlab, payloadBodyMatches, payloadTemplate, readPayloadHeader } from '../../src/bench/bench-payload.js';
import { fakeConnect, type FakeLog } from './fake-client.js';

const base = { server: '127.0.0.1:1', progress: false, skipLimits: true, warmupSeconds: 0, e2eSeconds: 0 } as const;

test('closed loop by record count: produced == consumed == acked, every number positive', async () => {
  const log: FakeLog = { streams: new Map() };
  const r = await runBench({ ...base, records: 3000, recordBytes: 100, producers: 2, shards: 3, inFlightBytes: 20_000 }, fakeConnect(log));
  assert.equal(r.ok, true, r.problems.join('; '));
  assert.equal(r.produce.ackedTotal, 3000);
  assert.equal(r.produce.primedRecords, 6); // one per shard per producer, before the clock
  assert.equal(r.produce.records, 3000 - 6);
  assert.deepEqual(r.produce.sentPerProducer, [1500, 1500]);
  assert.equal(r.consume.records, 3000);
  assert.equal(r.consume.bytes, 300_000);
  assert.equal(r.verification.distinct, 3000);
  assert.ok(r.verification.bodyChecked > 0);
  assert.ok(r.produce.recordsPerSec > 0 && r.produce.mbPerSec > 0 && r.consume.recordsPerSec > 0);
  assert.ok(Math.abs(r.produce.mbPerSec - (r.produce.recordsPerSec * 100) / 1e6) < 1e-6);
  assert.equal(r.produce.inFlightRecordsPerProducer, 200);
  const l = r.produce.latencyMs;
  assert.ok(l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max);
  assert.equal(l.count, 3000 - 6);
  const j = JSON.parse(JSON.stringify(r));
  for (const k of ['recordsPerSec', 'mbPerSec']) assert.equal(typeof j.produce[k], 'number');
  for (const k of ['p50', 'p99', 'p999', 'max']) assert.equal(typeof j.produce.latencyMs[k], 'number');
});

test('a cluster whose replica serves reads behind the acks: the consume phase follows each shard up to its highest acked seq', async () => {
  const log: FakeLog = { streams: new Map(), replicaLagRecords: 5 };
  const r = await runBench({ ...base, records: 2000, recordBytes: 64, shards: 3, replicas: 3, verifyEvery: 1 }, fakeConnect(log));
  assert.equal(r.ok, true, r.problems.join('; '));
  assert.equal(r.consume.records, 2000);
  assert.equal(r.consume.tailRecords, 3 * 5, 'each shard read its last 5 acked records by following');
  assert.equal(r.verification.missing, 0);
  assert.deepEqual({ replicas: r.cluster.replicas, writeQuorum: r.cluster.writeQuorum, sequencers: r.cluster.sequencers }, { replicas: 3, writeQuorum: 2, sequencers: [1, 2, 3] });
});

test('a lost record fails the run', async () => {
  let n = 0;
  const log: FakeLog = { streams: new Map(), tamper: (v) => (n++ === 7 ? null : v) };
  const r = await runBench({ ...base, records: 500, recordBytes: 64 }, fakeConnect(log));
  assert.equal(r.ok, false);
  assert.equal(r.verification.missing, 1);
  assert.equal(r.verification.consumed, 499);
});

test('a corrupted payload byte fails the run when that record is compared', async () => {
  const log: FakeLog = {
    streams: new Map(),
    tamper: (v, _s, seq) => {
      if (seq === 100) v[PAYLOAD_HEADER_BYTES + 3]! ^= 1;
      return v;
    },
  };
  const r = await runBench({ ...base, records: 300, recordBytes: 64, verifyEvery: 1 }, fakeConnect(log));
  assert.equal(r.ok, false);
  assert.equal(r.verification.corrupt, 1);
});

test('a duplicated record fails the run', async () => {
  let dup: Uint8Array | null = null;
  const log: FakeLog = { streams: new Map() };
  log.tamper = (v, shard, seq) => {
    if (seq === 5) dup = v;
    if (seq === 9 && dup !== null) return dup; // record 9's slot holds record 5 again
    return v;
  };
  const r = await runBench({ ...base, records: 50, recordBytes: 64 }, fakeConnect(log));
  assert.equal(r.ok, false);
  assert.equal(r.verification.duplicates, 1);
  assert.equal(r.verification.missing, 1);
});

test('fixed rate: the offered load is what is sent, latency comes from the due time, end-to-end phase runs', async () => {
  const log: FakeLog = { streams: new Map() };
  const r = await runBench({ ...base, rate: 2000, seconds: 0.5, recordBytes: 100, e2eSeconds: 0.3, e2eRate: 1000 }, fakeConnect(log));
  assert.equal(r.ok, true, r.problems.join('; '));
  assert.equal(r.produce.coordinatedOmissionCorrected, true);
  assert.ok(r.produce.records >= 800 && r.produce.records <= 1100, `records ${r.produce.records}`);
  assert.ok(r.produce.recordsPerSec > 1500 && r.produce.recordsPerSec < 2300, `rate ${r.produce.recordsPerSec}`);
  assert.ok(r.endToEnd !== null);
  assert.equal(r.endToEnd.delivery.ok, true);
  assert.ok(r.endToEnd.latencyMs.count >= 250 && r.endToEnd.latencyMs.p50 > 0);
  assert.equal(r.endToEnd.delivery.consumed, r.endToEnd.produce.ackedTotal);
});

test('options: bounds are enforced with one clear sentence', () => {
  assert.throws(() => resolveBenchOptions({ recordBytes: 10 }), BenchOptionError);
  assert.throws(() => resolveBenchOptions({ producers: 0 }), /--producers/);
  assert.throws(() => resolveBenchOptions({ fsync: 'sometimes' }), /--fsync/);
  assert.throws(() => resolveBenchOptions({ server: '127.0.0.1:7070', fsync: 'always' }), /embedded node only/);
  assert.equal(resolveBenchOptions({}).recordBytes, 1024);
  assert.equal(parseByteSize('64k'), 65536);
  assert.equal(parseByteSize('1MiB'), 1048576);
  assert.equal(parseByteSize('100'), 100);
  assert.throws(() => parseByteSize('lots'), BenchOptionError);
});

test('payload slab: header round trip, body compare, slots are views', () => {
  const t = payloadTemplate(40);
  const slab = new PayloadSlab(40, 3, t);
  const v = slab.fill(2, 5, 123456789, 42.5);
  assert.deepEqual(readPayloadHeader(v), { producer: 5, counter: 123456789, intendedMs: 42.5 });
  assert.equal(payloadBodyMatches(v, t), true);
  const w = Uint8Array.from(v);
  w[39]! ^= 0x80;
  assert.equal(payloadBodyMatches(w, t), false);
  assert.equal(readPayloadHeader(new Uint8Array(40)), null);
});

test('latency histogram: percentiles in ms within 0.1%', () => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 10_000; i++) h.recordMs(i / 100);
  const s = h.summary();
  assert.equal(s.count, 10_000);
  assert.ok(Math.abs(s.p50 - 50) / 50 < 0.001, `p50 ${s.p50}`);
  assert.ok(Math.abs(s.p99 - 99) / 99 < 0.001, `p99 ${s.p99}`);
  assert.ok(Math.abs(s.max - 100) / 100 < 0.001, `max ${s.max}`);
});
