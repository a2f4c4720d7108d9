/**
 * Test helper (not a test): a real process that tries to take a directory's
 * lock. argv: DIR START_AT_MS HOLD_MS. Waits until START_AT_MS (a barrier so
 * several children try at the same instant), tries acquireOwnerLock once and
 * prints one JSON line: {"pid","ok"} or {"pid","ok":false,"holderPid","message"}.
 * STALL_MS: block that long between judging a lock stale and taking it over
 * (the racing window). Holds the lock HOLD_MS (or until killed), then releases it and exits 0.
 */
import { acquireOwnerLock, LockHeldError } from '../../src/lock/owner-lock.js';

const [dir, startAt, holdMs, stallMs] = process.argv.slice(2);
const stall = Number(stallMs ?? 0);
const wait = Number(startAt) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
try {
  const lock = acquireOwnerLock(dir!, { what: 'test dir', owner: 'lock-child', beforeTakeover: stall > 0 ? () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stall) : undefined });
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ok: true })}\n`);
  await new Promise((r) => setTimeout(r, Number(holdMs)));
  lock.release();
} catch (e) {
  const holderPid = e instanceof LockHeldError ? (e.holder?.pid ?? null) : null;
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ok: false, holderPid, message: (e as Error).message })}\n`);
}
