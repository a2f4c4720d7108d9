/**
 * A linearizability checker of our own, in the style of Wing & Gong and
 * Porcupine: given a history of operations (invoke time, completion time,
 * input, observed output) and a sequential model, search for a total order
 * that (1) respects real time — an operation that completed before another
 * was invoked comes first — and (2) makes the model produce every observed
 * output. The search is a depth-first search over "which pending operation
 * takes effect next", memoized on (set of operations already linearized,
 * model state), so equal sub-problems reached by different orders are
 * explored once.
 *
 * Unknown operations (output null: the proposal was accepted but the client
 * never learned its fate — the proposer crashed, its entry was compacted
 * away, ...) may take effect at any time after their invocation, or never:
 * they never constrain the real-time order, and the search succeeds once
 * every *known* operation is linearized. An unknown operation that would not
 * change the state (a command that fails in the model) is never tried, since
 * taking effect then is the same as not taking effect.
 *
 * Pruning: a known operation that may go next, gives its observed output here
 * and is effect-free by its observed output (Model.effectFree: a read, a
 * command that failed) is linearized at once without trying alternatives:
 * any valid order can be rearranged to put it first (no pending operation
 * completed before it was invoked, and wherever it stood it changed nothing
 * the others see). Without this, a burst of concurrent failing commands makes
 * the search explore every subset of them. (It must not be applied to a
 * write that merely happens to change nothing in the current state: placed
 * later, the same write may change something. The simulator found that.)
 *
 * The search is bounded by `stepsMax` (LINEARIZABILITY_STEPS_MAX by default):
 * past it the verdict is 'too-complex' instead of a hang. Callers partition
 * histories by independent keys first (see meta-model.ts) so each search is
 * small.
 *
 * API:
 *   checkLinearizable(model, ops, stepsMax?) -> { kind: 'ok' | 'violation' | 'too-complex', ... }
 */

/** A sequential specification. step must be pure: the same (state, input) always gives the same result. */
export interface Model<S, I> {
  init(): S;
  step(state: S, input: I): { readonly state: S; readonly output: string };
  /** A canonical string of the state: equal states, equal keys (used for memoization). */
  stateKey(state: S): string;
  /**
   * True when an operation with this input that gave this output cannot have
   * changed the state, whatever the state was (a read; a command that failed,
   * if failures change nothing). Enables the pruning described above.
   */
  effectFree(input: I, output: string): boolean;
  /** For violation reports. */
  describe(input: I): string;
}

export interface Operation<I> {
  readonly id: number;
  readonly invokeMs: number;
  /** null: unknown (never answered). */
  readonly completeMs: number | null;
  readonly input: I;
  /** The observed output; null: unknown. */
  readonly output: string | null;
}

/** Search states (DFS nodes) explored before a history is reported as too complex. */
export const LINEARIZABILITY_STEPS_MAX = 200_000;
/** Most operations one search accepts (the memo key is a bit set of them). */
export const LINEARIZABILITY_OPS_MAX = 256;

export type Verdict =
  | { readonly kind: 'ok'; readonly steps: number }
  | { readonly kind: 'too-complex'; readonly steps: number }
  | {
      readonly kind: 'violation';
      readonly steps: number;
      /** The most known operations any explored order managed to explain. */
      readonly explainedMax: number;
      readonly known: number;
      /** A readable account of the history, oldest invocation first. */
      readonly history: string;
    };

class TooComplex extends Error {}

export function checkLinearizable<S, I>(model: Model<S, I>, history: readonly Operation<I>[], stepsMax = LINEARIZABILITY_STEPS_MAX): Verdict {
  if (history.length > LINEARIZABILITY_OPS_MAX) throw new Error(`linearizability: ${history.length} operations in one history, more than LINEARIZABILITY_OPS_MAX (${LINEARIZABILITY_OPS_MAX})`);
  for (const op of history) {
    if ((op.completeMs === null) !== (op.output === null)) throw new Error(`linearizability: operation ${op.id} must have both a completion time and an output, or neither`);
    if (op.completeMs !== null && op.completeMs < op.invokeMs) throw new Error(`linearizability: operation ${op.id} completes before it is invoked`);
  }
  const ops = [...history].sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
  const n = ops.length;
  const known = ops.reduce((k, op) => k + (op.output === null ? 0 : 1), 0);
  const done = new Uint8Array(n);
  const memo = new Set<string>();
  let steps = 0;
  let explainedMax = 0;

  const doneKey = (): string => {
    let s = '';
    for (let i = 0; i < n; i += 16) {
      let w = 0;
      for (let j = i; j < Math.min(n, i + 16); j++) if (done[j] === 1) w |= 1 << (j - i);
      s += String.fromCharCode(w + 32);
    }
    return s;
  };

  const search = (state: S, explained: number): boolean => {
    if (explained > explainedMax) explainedMax = explained;
    if (explained === known) return true;
    if (++steps > stepsMax) throw new TooComplex();
    const key = `${doneKey()}|${model.stateKey(state)}`;
    if (memo.has(key)) return false;
    memo.add(key);
    // The earliest completion among operations not yet linearized: nothing invoked after it may go first.
    let horizon = Infinity;
    for (let i = 0; i < n; i++) {
      const c = (ops[i] as Operation<I>).completeMs;
      if (done[i] === 0 && c !== null && c < horizon) horizon = c;
    }
    const here = model.stateKey(state);
    const tries: { i: number; state: S }[] = [];
    for (let i = 0; i < n; i++) {
      const op = ops[i] as Operation<I>;
      if (op.invokeMs > horizon) break;
      if (done[i] === 1) continue;
      const r = model.step(state, op.input);
      const unchanged = model.stateKey(r.state) === here;
      if (op.output === null) {
        if (unchanged) continue;
      } else if (r.output !== op.output) {
        continue;
      } else if (model.effectFree(op.input, op.output)) {
        // It may go next, answers right here, and changes nothing wherever it stands: it can always
        // go first (see the file comment). Take it without branching.
        if (!unchanged) throw new Error(`linearizability: the model calls ${model.describe(op.input)} -> ${op.output} effect-free, but it changed the state`);
        done[i] = 1;
        const ok = search(state, explained + 1);
        done[i] = 0;
        return ok;
      }
      tries.push({ i, state: r.state });
    }
    for (const t of tries) {
      done[t.i] = 1;
      if (search(t.state, explained + ((ops[t.i] as Operation<I>).output === null ? 0 : 1))) return true;
      done[t.i] = 0;
    }
    return false;
  };

  try {
    if (search(model.init(), 0)) return { kind: 'ok', steps };
  } catch (e) {
    if (e instanceof TooComplex) return { kind: 'too-complex', steps };
    throw e;
  }
  return { kind: 'violation', steps, explainedMax, known, history: describeHistory(model, ops) };
}

function describeHistory<S, I>(model: Model<S, I>, ops: readonly Operation<I>[]): string {
  return ops.map((op) => `#${op.id} [${op.invokeMs}, ${op.completeMs ?? '?'}] ${model.describe(op.input)} -> ${op.output ?? 'unknown'}`).join('; ');
}
