import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { apply, emptyState, sortedStreams, stateFromStreams, type MetaState } from '../../src/metastore/state-machine.js';
import { STREAMS_MAX, SHARDS_PER_STREAM_MAX } from '../../src/metastore/bounds.js';
import type { MetaCommand, StreamConfig } from '../../src/metastore/types.js';

function stream(name: string, over: Partial<StreamConfig> = {}): StreamConfig {
  return { namespace: 'default', name, shards: 1, replicas: 1, retentionMs: null, retentionBytes: null, schema: null, schemaVersion: 0, createdAt: 1, incarnation: '00000000000000aa', ...over };
}

const nameArb = fc.constantFrom('a', 'b', 'c', 'd');
const nsArb = fc.constantFrom('default', 'ns1');
const retention = fc.option(fc.integer({ min: 1, max: 1e9 }), { nil: null });
const commandArb: fc.Arbitrary<MetaCommand> = fc.oneof(
  fc.record({ ns: nsArb, name: nameArb, shards: fc.integer({ min: 0, max: 5 }) }).map(({ ns, name, shards }) => ({
    op: 'createStream' as const,
    stream: stream(name, { namespace: ns, shards }),
  })),
  fc.record({ namespace: nsArb, name: nameArb }).map((c) => ({ op: 'deleteStream' as const, ...c })),
  fc.record({ namespace: nsArb, name: nameArb, retentionMs: retention, retentionBytes: retention }).map((c) => ({ op: 'setRetention' as const, ...c })),
);

function run(commands: MetaCommand[]): MetaState {
  return commands.reduce((s, c) => apply(s, c).state, emptyState());
}

test('applying the same commands in the same order always yields the same state (determinism)', () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 40 }), (commands) => {
      assert.deepEqual(sortedStreams(run(commands)), sortedStreams(run(structuredClone(commands))));
    }),
  );
});

test('apply never changes its input state, and a failed command returns the state unchanged', () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 20 }), commandArb, (prefix, cmd) => {
      const before = run(prefix);
      const snapshot = sortedStreams(before);
      const result = apply(before, cmd);
      assert.deepEqual(sortedStreams(before), snapshot);
      if (!result.ok) assert.equal(result.state, before);
    }),
  );
});

test('the state matches a simple model: create only if absent, delete and setRetention only if present', () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 40 }), (commands) => {
      const model = new Map<string, StreamConfig>();
      let state = emptyState();
      for (const c of commands) {
        const r = apply(state, c);
        state = r.state;
        const key = c.op === 'createStream' ? `${c.stream.namespace}/${c.stream.name}` : `${c.namespace}/${c.name}`;
        if (c.op === 'createStream') {
          const valid = c.stream.shards >= 1;
          assert.equal(r.ok, valid && !model.has(key));
          if (r.ok) model.set(key, c.stream);
        } else if (c.op === 'deleteStream') {
          assert.equal(r.ok, model.has(key));
          model.delete(key);
        } else if (c.op === 'setRetention') {
          assert.equal(r.ok, model.has(key));
          const cur = model.get(key);
          if (cur) model.set(key, { ...cur, retentionMs: c.retentionMs, retentionBytes: c.retentionBytes });
        }
      }
      assert.deepEqual(sortedStreams(state), [...model.values()].sort((a, b) => (a.namespace + '/' + a.name < b.namespace + '/' + b.name ? -1 : 1)));
    }),
  );
});

test('create of an existing stream fails with STREAM_EXISTS; delete of a missing one with UNKNOWN_STREAM', () => {
  const s1 = apply(emptyState(), { op: 'createStream', stream: stream('x') });
  assert.ok(s1.ok);
  const again = apply(s1.state, { op: 'createStream', stream: stream('x', { shards: 3 }) });
  assert.equal(again.ok, false);
  assert.equal(!again.ok && again.error.code, 'STREAM_EXISTS');
  const del = apply(emptyState(), { op: 'deleteStream', namespace: 'default', name: 'x' });
  assert.equal(!del.ok && del.error.code, 'UNKNOWN_STREAM');
});

test('a replicated create with a bad name or too many shards is refused by the state machine itself', () => {
  const badName = apply(emptyState(), { op: 'createStream', stream: stream('../x') });
  assert.equal(!badName.ok && badName.error.code, 'INVALID_NAME');
  const tooMany = apply(emptyState(), { op: 'createStream', stream: stream('x', { shards: SHARDS_PER_STREAM_MAX + 1 }) });
  assert.equal(!tooMany.ok && tooMany.error.code, 'INVALID_ARGUMENT');
  const max = apply(emptyState(), { op: 'createStream', stream: stream('x', { shards: SHARDS_PER_STREAM_MAX }) });
  assert.equal(max.ok, true);
});

test(`creating stream number ${STREAMS_MAX + 1} fails with a clear error naming the limit`, () => {
  const full = stateFromStreams(Array.from({ length: STREAMS_MAX }, (_, i) => stream(`s${i}`)));
  const r = apply(full, { op: 'createStream', stream: stream('one-more') });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error.message : '', new RegExp(`limit of ${STREAMS_MAX} streams`));
});
