/**
 * Self-tests of the linearizability checker (src/sim/linearizability.ts) with
 * the MetaStore model (src/sim/meta-model.ts): hand-made histories that are
 * and are not linearizable, "unknown" operations, the search bound, and a
 * property: any history produced by really executing operations one at a
 * time (each at a point inside its interval) is accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkLinearizable, type Model, type Operation } from '../../src/sim/linearizability.js';
import { applyCommand, checkMetaHistory, metaModel, type MetaInput, type MetaOperation } from '../../src/sim/meta-model.js';
import { readKey, resultKey } from '../../src/sim/meta-state.js';
import { emptyState, type MetaState } from '../../src/metastore/state-machine.js';
import type { MetaCommand, StreamConfig } from '../../src/metastore/types.js';

const stream = (name: string, incarnation = '00000000000000a1'): StreamConfig => ({
  namespace: 'ns0', name, shards: 1, replicas: 1, retentionMs: null, retentionBytes: null, schema: null, schemaVersion: 0, createdAt: 1, incarnation,
});
const create = (name: string, incarnation?: string): MetaInput => ({ kind: 'command', command: { op: 'createStream', stream: stream(name, incarnation) } });
const del = (name: string): MetaInput => ({ kind: 'command', command: { op: 'deleteStream', namespace: 'ns0', name } });
const read = (name: string): MetaInput => ({ kind: 'read', namespace: 'ns0', name });
const elect = (name: string, node: number, expectEpoch: number): MetaInput => ({
  kind: 'command', command: { op: 'electSequencer', namespace: 'ns0', name, incarnation: '00000000000000a1', shard: 0, node, expectEpoch },
});

/** The output the model gives `input` after `before` ran sequentially. */
function outputAfter(before: readonly MetaInput[], input: MetaInput): string {
  let s = emptyState();
  for (const i of before) s = metaModel.step(s, i).state;
  return metaModel.step(s, input).output;
}

let nextId = 1;
const op = (invokeMs: number, completeMs: number | null, input: MetaInput, output: string | null): MetaOperation => ({ id: nextId++, invokeMs, completeMs, input, output });

const created = outputAfter([], create('a'));
const present = outputAfter([create('a')], read('a'));

test('a sequential history whose answers follow apply() is accepted', () => {
  const h = [op(0, 10, create('a'), created), op(20, 30, read('a'), present), op(40, 50, create('a'), 'err STREAM_EXISTS'), op(60, 70, del('a'), 'ok'), op(80, 90, read('a'), 'none')];
  assert.equal(checkLinearizable(metaModel, h).kind, 'ok');
});

test('a second successful create of the same stream, after the first completed, is rejected', () => {
  const h = [op(0, 10, create('a'), created), op(20, 30, create('a'), created)];
  const v = checkLinearizable(metaModel, h);
  assert.equal(v.kind, 'violation');
  assert.match(v.kind === 'violation' ? v.history : '', /createStream ns0\/a .* -> ok/);
});

test('a stale read (invoked after a create completed, answering "none") is rejected; overlapping the create it is accepted', () => {
  assert.equal(checkLinearizable(metaModel, [op(0, 10, create('a'), created), op(20, 30, read('a'), 'none')]).kind, 'violation');
  assert.equal(checkLinearizable(metaModel, [op(0, 50, create('a'), created), op(10, 20, read('a'), 'none')]).kind, 'ok');
});

test('two concurrent compare-and-sets on one epoch cannot both succeed; one success and one STALE_EPOCH is fine', () => {
  const okElect = outputAfter([create('a')], elect('a', 1, 0));
  const okElect2 = outputAfter([create('a')], elect('a', 2, 0));
  const h = (second: string) => [op(0, 5, create('a'), created), op(10, 30, elect('a', 1, 0), okElect), op(12, 28, elect('a', 2, 0), second)];
  assert.equal(checkLinearizable(metaModel, h(okElect2)).kind, 'violation');
  assert.equal(checkLinearizable(metaModel, h('err STALE_EPOCH')).kind, 'ok');
});

test('an unknown operation may take effect at any time after its invocation, or never', () => {
  // The unknown delete explains the read of "none" after the create.
  const tookEffect = [op(0, 10, create('a'), created), op(5, null, del('a'), null), op(20, 30, read('a'), 'none')];
  assert.equal(checkLinearizable(metaModel, tookEffect).kind, 'ok');
  // ...or it never happened.
  const never = [op(0, 10, create('a'), created), op(5, null, del('a'), null), op(20, 30, read('a'), present)];
  assert.equal(checkLinearizable(metaModel, never).kind, 'ok');
  // But it cannot take effect before it was invoked...
  const early = [op(0, 10, create('a'), created), op(20, 30, read('a'), 'none'), op(40, null, del('a'), null)];
  assert.equal(checkLinearizable(metaModel, early).kind, 'violation');
  // ...nor take effect and then un-happen.
  const undone = [op(0, 10, create('a'), created), op(5, null, del('a'), null), op(20, 30, read('a'), 'none'), op(40, 50, read('a'), present)];
  assert.equal(checkLinearizable(metaModel, undone).kind, 'violation');
});

test('a write that changes nothing now may still change something later: it is not linearized greedily (found by seed 180)', () => {
  const setRet = (ms: number | null): MetaInput => ({ kind: 'command', command: { op: 'setRetention', namespace: 'ns0', name: 'a', retentionMs: ms, retentionBytes: null } });
  const afterNull = outputAfter([create('a')], setRet(null));
  const after4000 = outputAfter([create('a')], setRet(4000));
  // The set-to-null is invoked first and would be a no-op right after the create; only 4000-then-null explains the read.
  const h = [op(0, 10, create('a'), created), op(20, 50, setRet(null), afterNull), op(21, 50, setRet(4000), after4000), op(60, 70, read('a'), present)];
  assert.equal(checkLinearizable(metaModel, h).kind, 'ok');
});

test('the search is bounded: past stepsMax the verdict is too-complex, not a hang', () => {
  // Twelve concurrent unknown creates/deletes and a final read nothing explains: the search must give up.
  const h: MetaOperation[] = [];
  for (let k = 0; k < 12; k++) h.push(op(0, null, k % 2 === 0 ? create('a', `00000000000000b${k.toString(16)}`) : del('a'), null));
  h.push(op(100, 110, read('a'), 'something no order produces'));
  assert.equal(checkLinearizable(metaModel, h, 50).kind, 'too-complex');
  assert.equal(checkLinearizable(metaModel, h).kind, 'violation');
});

test('histories are partitioned by stream: each stream is checked on its own, the violation names its stream', () => {
  const h = [op(0, 10, create('a'), created), op(0, 10, create('b'), outputAfter([], create('b'))), op(20, 30, read('b'), 'none')];
  const v = checkMetaHistory(h);
  assert.equal(v.passed, 1);
  assert.match(String(v.violation), /on stream ns0\/b/);
});

test('malformed histories are refused with a clear error', () => {
  assert.throws(() => checkLinearizable(metaModel, [op(10, 5, read('a'), 'none')]), /completes before it is invoked/);
  assert.throws(() => checkLinearizable(metaModel, [op(0, 5, read('a'), null)]), /both a completion time and an output/);
});

// ---------------------------------------------------------------- property

const names = ['a', 'a', 'a', 'b'];
const incs = ['00000000000000a1', '00000000000000a2'];
const arbCommand: fc.Arbitrary<MetaCommand> = fc.oneof(
  fc.record({ name: fc.constantFrom(...names), inc: fc.constantFrom(...incs) }).map(({ name, inc }): MetaCommand => ({ op: 'createStream', stream: stream(name, inc) })),
  fc.constantFrom(...names).map((name): MetaCommand => ({ op: 'deleteStream', namespace: 'ns0', name })),
  fc.record({ name: fc.constantFrom(...names), ms: fc.option(fc.integer({ min: 1, max: 2 })) }).map(({ name, ms }): MetaCommand => ({ op: 'setRetention', namespace: 'ns0', name, retentionMs: ms, retentionBytes: null })),
  fc.record({ name: fc.constantFrom(...names), inc: fc.constantFrom(...incs), node: fc.integer({ min: 1, max: 3 }), e: fc.integer({ min: 0, max: 2 }) })
    .map(({ name, inc, node, e }): MetaCommand => ({ op: 'electSequencer', namespace: 'ns0', name, incarnation: inc, shard: 0, node, expectEpoch: e })),
);
const arbInput: fc.Arbitrary<MetaInput> = fc.oneof(
  { weight: 3, arbitrary: arbCommand.map((command): MetaInput => ({ kind: 'command', command })) },
  { weight: 1, arbitrary: fc.constantFrom(...names).map((name): MetaInput => ({ kind: 'read', namespace: 'ns0', name })) },
);
/** One operation: its input, when it takes effect (distinct points), how far its interval reaches either side, and its fate. */
const arbOp = fc.record({
  input: arbInput,
  before: fc.integer({ min: 0, max: 40 }),
  after: fc.integer({ min: 0, max: 40 }),
  fate: fc.constantFrom('answered', 'answered', 'answered', 'unknown-applied', 'unknown-lost'),
});

test('property: a history made by really executing the operations, one at a time inside their intervals, is linearizable', () => {
  fc.assert(fc.property(fc.array(arbOp, { maxLength: 14 }), (specs) => {
    let state: MetaState = emptyState();
    const h: MetaOperation[] = [];
    specs.forEach((s, k) => {
      const at = 10 + k * 10; // linearization point
      let output: string | null = null;
      if (s.fate !== 'unknown-lost') {
        if (s.input.kind === 'read') output = readKey(state, s.input.namespace, s.input.name);
        else {
          const r = applyCommand(state, s.input.command);
          state = r.state;
          output = resultKey(r);
        }
      }
      if (s.input.kind === 'read' && s.fate !== 'answered') return; // a read never answered has no effect: not in a history
      const answered = s.fate === 'answered';
      h.push({ id: k, invokeMs: Math.max(0, at - s.before), completeMs: answered ? at + s.after : null, input: s.input, output: answered ? output : null });
    });
    const v = checkMetaHistory(h);
    assert.equal(v.violation, null);
    assert.equal(v.tooComplex, 0);
  }), { numRuns: 500 });
});

test('property: a register model shows the checker is generic (a swapped pair of sequential writes is rejected)', () => {
  const register: Model<number, { w: number } | { r: true }> = {
    init: () => 0,
    step: (s, i) => ('w' in i ? { state: i.w, output: 'ok' } : { state: s, output: String(s) }),
    stateKey: (s) => String(s),
    effectFree: (i) => !('w' in i),
    describe: (i) => ('w' in i ? `write ${i.w}` : 'read'),
  };
  fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 101, max: 200 }), (a, b) => {
    const h = (last: number): Operation<{ w: number } | { r: true }>[] => [
      { id: 1, invokeMs: 0, completeMs: 1, input: { w: a }, output: 'ok' },
      { id: 2, invokeMs: 2, completeMs: 3, input: { w: b }, output: 'ok' },
      { id: 3, invokeMs: 4, completeMs: 5, input: { r: true }, output: String(last) },
    ];
    assert.equal(checkLinearizable(register, h(b)).kind, 'ok');
    assert.equal(checkLinearizable(register, h(a)).kind, 'violation');
  }), { numRuns: 50 });
});
