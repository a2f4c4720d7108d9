/**
 * Sleeping on a ring cursor. A side that must wait first spins briefly
 * (RING_SPIN_MAX re-checks, done by the caller), then raises its idle flag and
 * sleeps on the other side's cursor slot. The other side, after publishing,
 * clears the flag with compareExchange and calls Atomics.notify only if it was
 * set: the hot path pays no notify, and a sleeper gets one notify per sleep
 * however many messages follow (a notify to an Atomics.waitAsync waiter costs
 * tens of microseconds). Flag store and cursor load are sequentially
 * consistent, so either the sleeper sees the new cursor or the publisher sees
 * the flag; and Atomics.wait re-checks the cursor value, so a notify that
 * lands before the sleeper is inside wait is not lost.
 *
 * Sleeps last at most RING_SLEEP_SLICE_MS so a close() that races with a
 * sleeper going to sleep is noticed within one slice.
 */
import { SLOT_CLOSED } from './ring-layout.js';

/** Longest single sleep; bounds how late a racing close() is noticed. */
export const RING_SLEEP_SLICE_MS = 50;

/** Atomics.waitAsync (Node >= 16); the ES2022 lib this project compiles against does not declare it. */
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as {
  waitAsync(ta: Int32Array, index: number, value: number, timeoutMs: number): WaitAsyncResult;
}).waitAsync;

function noop(): void {}

export type RingWaitOutcome = 'ready' | 'timed-out' | 'closed';

export function sliceFor(deadline: number): number {
  if (deadline === Infinity) return RING_SLEEP_SLICE_MS;
  return Math.max(0, Math.min(RING_SLEEP_SLICE_MS, deadline - performance.now()));
}

/** Blocks the calling thread (a worker) while control[slot] === expected, for at most timeoutMs. */
export function sleepSync(control: Int32Array, slot: number, idleSlot: number, expected: number, timeoutMs: number): void {
  Atomics.store(control, idleSlot, 1);
  if (Atomics.load(control, slot) === expected && Atomics.load(control, SLOT_CLOSED) === 0) {
    Atomics.wait(control, slot, expected, timeoutMs);
  }
  Atomics.store(control, idleSlot, 0);
}

/** Like sleepSync but yields the event loop (Atomics.waitAsync); for the main thread or an event-driven worker. */
export async function sleepAsync(
  control: Int32Array,
  slot: number,
  idleSlot: number,
  expected: number,
  timeoutMs: number,
): Promise<void> {
  Atomics.store(control, idleSlot, 1);
  try {
    if (Atomics.load(control, slot) === expected && Atomics.load(control, SLOT_CLOSED) === 0) {
      const r = waitAsync(control, slot, expected, timeoutMs);
      if (r.async) {
        // A pending waitAsync does not keep Node's event loop alive (nor does
        // its timeout); this timer does, and outlives the wait's own timeout.
        const keepAlive = setTimeout(noop, timeoutMs + RING_SLEEP_SLICE_MS);
        try {
          await r.value;
        } finally {
          clearTimeout(keepAlive);
        }
      }
    }
  } finally {
    Atomics.store(control, idleSlot, 0);
  }
}
