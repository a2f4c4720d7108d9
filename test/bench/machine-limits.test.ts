/** The machine-limit measurements write/send exactly the bytes asked for and report consistent rates. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { measureRawWrite, recordsPerBatch } from '../../src/bench/raw-write-limit.js';
import { measureTcpLoopback } from '../../src/bench/tcp-loopback-limit.js';
import { payloadTemplate } from '../../src/bench/bench-payload.js';

test('raw write with and without fsync per batch', () => {
  const t = payloadTemplate(1000);
  assert.equal(recordsPerBatch(1000, 65536), 65);
  assert.equal(recordsPerBatch(100_000, 65536), 1);
  for (const fsyncEachBatch of [false, true]) {
    const r = measureRawWrite({ dir: tmpdir(), totalBytes: 2_000_000, recordBytes: 1000, batchBytes: 65536, template: t, fsyncEachBatch, secondsMax: 10 });
    assert.equal(r.bytes, 2_000_000);
    assert.equal(r.batchBytes, 65_000);
    assert.equal(r.batches, Math.ceil(2_000_000 / 65_000));
    assert.ok(r.mbPerSec > 0 && r.seconds > 0);
    assert.ok(Math.abs(r.mbPerSec - r.bytes / 1e6 / r.seconds) < 1e-6);
  }
});

test('tcp loopback to a sink in another process', async () => {
  const r = await measureTcpLoopback({ totalBytes: 8_000_000, recordBytes: 1000, batchBytes: 65536, template: payloadTemplate(1000), secondsMax: 10 });
  assert.equal(r.bytes, 8_000_000);
  assert.ok(r.mbPerSec > 0);
  assert.equal(r.stoppedEarly, false);
});
