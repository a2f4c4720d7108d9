/**
 * describeStream's shard line on the node (src/node/admin-handlers.ts
 * withPlacement): the local figures plus the MetaStore's placement
 * (sequencer, epoch, segments with replicas and sealed), and, when the
 * replication path has set ctx.replication, its committed end and
 * under-replication instead of the local end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPlacement } from '../../src/node/admin-handlers.js';
import type { NodeContext } from '../../src/node/node-context.js';
import type { ShardPlacement, StreamConfig } from '../../src/metastore/types.js';

const config = { namespace: 'ns', name: 's', incarnation: 'abcd', shards: 2, replicas: 3 } as unknown as StreamConfig;
const local = { shard: 0, startSeq: 0, endSeq: 12, bytes: 960, segmentFiles: 2, failed: null };

const placement: ShardPlacement = {
  namespace: 'ns', name: 's', incarnation: 'abcd', shard: 0, sequencer: 2, epoch: 5,
  segments: [
    { baseSeq: 0, endSeq: 7, epoch: 4, replicas: [1, 2, 3] },
    { baseSeq: 7, endSeq: null, epoch: 5, replicas: [2, 3, 4] },
  ],
};

function ctx(p: ShardPlacement | undefined, view?: { endSeq: number; underReplicated: boolean } | null): NodeContext {
  const meta = { getPlacement: (ns: string, name: string, shard: number) => (ns === 'ns' && name === 's' && shard === 0 ? p : undefined) };
  return { meta, ...(view === undefined ? {} : { replication: { shardView: () => view } }) } as unknown as NodeContext;
}

test('a placed shard shows its sequencer, epoch and segments; endSeq stays local without the replication hook', () => {
  assert.deepEqual(withPlacement(ctx(placement), config, 0, local), {
    ...local,
    sequencer: 2,
    epoch: 5,
    underReplicated: false,
    segments: [
      { baseSeq: 0, endSeq: 7, epoch: 4, replicas: [1, 2, 3], sealed: true },
      { baseSeq: 7, endSeq: null, epoch: 5, replicas: [2, 3, 4], sealed: false },
    ],
  });
});

test('with the replication hook, endSeq is the committed end and underReplicated its flag; null view: local figures', () => {
  const w = withPlacement(ctx(placement, { endSeq: 10, underReplicated: true }), config, 0, local);
  assert.equal(w.endSeq, 10);
  assert.equal(w.underReplicated, true);
  const none = withPlacement(ctx(placement, null), config, 0, local);
  assert.equal(none.endSeq, 12);
  assert.equal(none.underReplicated, false);
});

test('no placement (a single node, or a MetaStore without placements): null sequencer, epoch 0, no segments', () => {
  assert.deepEqual(withPlacement(ctx(undefined), config, 0, local), { ...local, sequencer: null, epoch: 0, underReplicated: false, segments: [] });
  const noReader = { meta: {} } as unknown as NodeContext;
  assert.deepEqual(withPlacement(noReader, config, 0, local), { ...local, sequencer: null, epoch: 0, underReplicated: false, segments: [] });
});

test('a placement of another life of the name (older incarnation) is not shown', () => {
  const old = { ...placement, incarnation: 'old0' };
  assert.equal(withPlacement(ctx(old), config, 0, local).sequencer, null);
});

test('a failed shard keeps its reason and null figures, with its placement', () => {
  const failed = { shard: 0, startSeq: null, endSeq: null, bytes: null, segmentFiles: null, failed: 'broken disk' };
  const w = withPlacement(ctx(placement, { endSeq: 10, underReplicated: false }), config, 0, failed);
  assert.equal(w.failed, 'broken disk');
  assert.equal(w.endSeq, null, 'no committed end shown for a shard that does not serve here');
  assert.equal(w.sequencer, 2);
});
