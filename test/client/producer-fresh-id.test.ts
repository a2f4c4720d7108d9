/**
 * A batch that fails for good (here a non-retriable BAD_RECORD from the shard)
 * leaves a gap in its producerId's producerSeqs, so the idempotent producer
 * continues that shard under a fresh producerId at producerSeq 0
 * (src/client/producer.ts, "Ordering"). The fake shard below enforces the
 * storage engine's sequence rule (a known producer's batch must start at its
 * last producerSeq + 1, else OUT_OF_ORDER_SEQUENCE), so a producer that kept
 * the old id would have its later sends refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/index.js';
import { NativeLogError } from '../../src/client/types.js';
import { DEFAULT_CONFIG } from '../../src/node/config.js';
import { startNode } from '../../src/node/start-node.js';
import { decodeRecord, forEachRecord, type DecodedRecord } from '../../src/record/record.js';
import type { AppendResult } from '../../src/shard/types.js';
import { FakeShardHandle } from '../node/fake-shard-handle.js';

const POISON = 'poison';

class CodedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

function decodeAll(bytes: Uint8Array): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  forEachRecord(bytes, (off) => out.push(decodeRecord(bytes, off)));
  return out;
}

const text = (r: DecodedRecord): string => Buffer.from(r.payload).toString();

/** Refuses any batch holding a POISON record with BAD_RECORD (non-retriable); applies the producerSeq rule. */
class PoisonShard extends FakeShardHandle {
  /** Every append received, decoded, with what became of it. */
  readonly received: { records: DecodedRecord[]; outcome: string }[] = [];
  private readonly lastSeq = new Map<number, number>();

  override async append(bytes: Uint8Array): Promise<AppendResult> {
    const records = decodeAll(bytes);
    const entry = { records, outcome: 'stored' };
    this.received.push(entry);
    if (records.some((r) => text(r) === POISON)) {
      entry.outcome = 'BAD_RECORD';
      throw new CodedError('BAD_RECORD', 'injected: poison record');
    }
    const first = records[0]!;
    const last = this.lastSeq.get(first.producerId);
    if (first.producerId !== 0 && last !== undefined && first.producerSeq !== last + 1) {
      const dup = first.producerSeq <= last; // the fake dedupes remembered batches itself
      if (!dup) {
        entry.outcome = 'OUT_OF_ORDER_SEQUENCE';
        throw new CodedError('OUT_OF_ORDER_SEQUENCE', `expected producerSeq ${last + 1}, got ${first.producerSeq}`);
      }
    }
    const r = await super.append(bytes);
    if (first.producerId !== 0) this.lastSeq.set(first.producerId, Math.max(last ?? -1, records.at(-1)!.producerSeq));
    return r;
  }
}

interface Outcome {
  shard: PoisonShard;
  poisonError: unknown;
  afterAcks: { shard: number; seq: number }[];
  afterError: unknown;
}

/** warm-up (acked), then a poison batch (fails for good), then two more records on the same shard. */
async function scenario(): Promise<Outcome> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nativelog-fresh-id-'));
  const shards: PoisonShard[] = [];
  const node = await startNode(
    { ...DEFAULT_CONFIG, dataDir, port: 0, minFreeBytes: 0 },
    {
      openShard: async (opts) => {
        await FakeShardHandle.open(opts);
        const h = new PoisonShard(opts);
        shards.push(h);
        return h;
      },
      log: () => undefined,
    },
  );
  const address = `127.0.0.1:${node.port}`;
  try {
    const client = await connect(address);
    await client.createStream('fresh');
    const p = client.producer('fresh', { shard: 0 });
    await p.send({ value: 'warm-up' });
    const poisonError = await p.send({ value: POISON }).then(
      () => undefined,
      (e: unknown) => e,
    );
    let afterAcks: { shard: number; seq: number }[] = [];
    let afterError: unknown;
    try {
      afterAcks = await Promise.all([p.send({ value: 'after-1' }), p.send({ value: 'after-2' })]);
    } catch (e) {
      afterError = e;
    }
    await client.close();
    assert.equal(shards.length, 1);
    return { shard: shards[0]!, poisonError, afterAcks, afterError };
  } finally {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

let cached: Promise<Outcome> | undefined;
const outcome = (): Promise<Outcome> => (cached ??= scenario());

test('after a batch fails for good with a non-retriable error, a later send on the same shard is acked', async () => {
  const o = await outcome();
  assert.ok(o.poisonError instanceof NativeLogError, 'the poison send failed');
  assert.equal(o.poisonError.codeName, 'BAD_RECORD');
  assert.equal(o.afterError, undefined, `later sends failed: ${String(o.afterError)}`);
  assert.deepEqual(o.afterAcks.map((a) => a.seq), [1, 2], 'acked right after warm-up');
});

test('the later send is under a fresh producerId starting at producerSeq 0, not the failed batch\'s id', async () => {
  const o = await outcome();
  const failed = o.shard.received.find((a) => a.outcome === 'BAD_RECORD');
  assert.ok(failed !== undefined, 'the shard received the poison batch');
  const failedId = failed.records[0]!.producerId;
  assert.notEqual(failedId, 0);
  assert.deepEqual(failed.records.map((r) => r.producerSeq), [1], 'the poison batch followed warm-up under the same id');
  const stored = o.shard.records.map((r) => decodeRecord(r));
  const after = stored.filter((r) => text(r).startsWith('after-'));
  assert.deepEqual(after.map(text), ['after-1', 'after-2']);
  for (const r of after) assert.notEqual(r.producerId, failedId, 'a fresh producerId');
  assert.equal(after[0]!.producerId, after[1]!.producerId, 'one id for the shard');
  assert.deepEqual(after.map((r) => r.producerSeq), [0, 1], 'starting at producerSeq 0');
  const warm = stored.find((r) => text(r) === 'warm-up');
  assert.equal(warm?.producerId, failedId, 'warm-up was under the id that failed');
  assert.ok(
    o.shard.received.every((a) => a.outcome !== 'OUT_OF_ORDER_SEQUENCE'),
    'no batch was refused for a producerSeq gap',
  );
});

test('nothing of the batch that failed for good was stored', async () => {
  const o = await outcome();
  const stored = o.shard.records.map((r) => text(decodeRecord(r)));
  assert.deepEqual(stored, ['warm-up', 'after-1', 'after-2']);
  assert.ok(!stored.includes(POISON));
});
