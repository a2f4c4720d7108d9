/**
 * The MetaStore as a sequential model for the linearizability checker: the
 * very apply() of src/metastore/state-machine.ts, plus reads of one stream.
 *
 * Partitioning: every MetaCommand and every read names exactly one stream
 * (namespace/name); apply() of a command on one stream neither reads nor
 * changes any other stream or its placements (the only global rule,
 * STREAMS_MAX, is far above the simulator's key space). So a history is
 * linearizable iff each stream's sub-history is, and checkMetaHistory checks
 * each key on its own, from the empty state.
 */
import { apply, emptyState, type ApplyResult, type MetaState } from '../metastore/state-machine.js';
import type { MetaCommand } from '../metastore/types.js';
import { checkLinearizable, LINEARIZABILITY_STEPS_MAX, type Model, type Operation, type Verdict } from './linearizability.js';
import { encodeMetaState, readKey, resultKey } from './meta-state.js';

export type MetaInput =
  | { readonly kind: 'command'; readonly command: MetaCommand }
  | { readonly kind: 'read'; readonly namespace: string; readonly name: string };

export type MetaOperation = Operation<MetaInput>;

const keyCache = new WeakMap<MetaState, string>();

/**
 * The state machine's apply(), with MetaErrors created without a stack
 * trace: a simulation applies thousands of failing commands and capturing
 * their stacks was a tenth of its run time. Results are otherwise identical.
 */
export function applyCommand(state: MetaState, command: MetaCommand): ApplyResult {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return apply(state, command);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export const metaModel: Model<MetaState, MetaInput> = {
  init: emptyState,
  step(state, input) {
    if (input.kind === 'read') return { state, output: readKey(state, input.namespace, input.name) };
    const r = applyCommand(state, input.command);
    return { state: r.state, output: resultKey(r) };
  },
  stateKey(state) {
    let k = keyCache.get(state);
    if (k === undefined) {
      k = Buffer.from(encodeMetaState(state)).toString('latin1');
      keyCache.set(state, k);
    }
    return k;
  },
  /** Reads change nothing; apply() leaves the state unchanged when a command fails (state-machine.ts). */
  effectFree: (input, output) => input.kind === 'read' || output.startsWith('err '),
  describe: describeMetaInput,
};

export function inputKey(input: MetaInput): string {
  if (input.kind === 'read') return `${input.namespace}/${input.name}`;
  const c = input.command;
  return c.op === 'createStream' ? `${c.stream.namespace}/${c.stream.name}` : `${c.namespace}/${c.name}`;
}

export function describeMetaInput(input: MetaInput): string {
  if (input.kind === 'read') return `read ${input.namespace}/${input.name}`;
  const c = input.command;
  switch (c.op) {
    case 'createStream': return `createStream ${c.stream.namespace}/${c.stream.name} inc=${c.stream.incarnation} shards=${c.stream.shards} R=${c.stream.replicas}`;
    case 'deleteStream': return `deleteStream ${c.namespace}/${c.name}`;
    case 'setRetention': return `setRetention ${c.namespace}/${c.name} ms=${c.retentionMs} bytes=${c.retentionBytes}`;
    case 'electSequencer': return `electSequencer ${c.namespace}/${c.name}#${c.shard} inc=${c.incarnation} node=${c.node} expect=${c.expectEpoch}`;
    case 'openSegment': return `openSegment ${c.namespace}/${c.name}#${c.shard} inc=${c.incarnation} epoch=${c.epoch} base=${c.baseSeq} replicas=${c.replicas.join(',')}`;
    case 'sealSegment': return `sealSegment ${c.namespace}/${c.name}#${c.shard} inc=${c.incarnation} epoch=${c.epoch} base=${c.baseSeq} end=${c.endSeq}`;
  }
}

export interface MetaHistoryVerdict {
  /** Keys whose history was found linearizable. */
  readonly passed: number;
  readonly tooComplex: number;
  /** The first key found not linearizable, with the checker's account. */
  readonly violation: string | null;
}

/** Checks every stream's sub-history; stops at the first violation. */
export function checkMetaHistory(ops: readonly MetaOperation[], stepsMax = LINEARIZABILITY_STEPS_MAX): MetaHistoryVerdict {
  const byKey = new Map<string, MetaOperation[]>();
  for (const op of ops) {
    const k = inputKey(op.input);
    let list = byKey.get(k);
    if (list === undefined) byKey.set(k, (list = []));
    list.push(op);
  }
  let passed = 0;
  let tooComplex = 0;
  for (const k of [...byKey.keys()].sort()) {
    const v: Verdict = checkLinearizable(metaModel, byKey.get(k) as MetaOperation[], stepsMax);
    if (v.kind === 'ok') passed++;
    else if (v.kind === 'too-complex') tooComplex++;
    else {
      return {
        passed, tooComplex,
        violation: `linearizability: the ${v.known} answered operations on stream ${k} have no order consistent with real time (at most ${v.explainedMax} explained): ${v.history}`,
      };
    }
  }
  return { passed, tooComplex, violation: null };
}
