/**
 * Exclusive ownership of a directory: `<dir>/LOCK`, created atomically and
 * holding the owner's pid. A node takes `<data-dir>/LOCK` before it opens
 * anything (one process per data dir); a shard worker takes
 * `<shard-dir>/LOCK` before its store opens (one thread per shard folder).
 * Format and rules: docs/FORMAT.md, section "Lock files".
 *
 * Why our own lock file and not proper-lockfile (npm): proper-lockfile
 * creates a directory and records nothing in it, so the error could not name
 * the holder's pid, and it judges a lock stale by its mtime, which needs a
 * timer re-touching the file in every owner (a paused or busy process, or a
 * worker thread blocked in a long fsync, would look dead and be taken over).
 * We know the holder's pid, so we ask the kernel whether it lives.
 *
 * How a lock is taken: the JSON (pid, the process start time from
 * /proc/<pid>/stat so a recycled pid is not mistaken for the holder, host,
 * thread, owner token, time) is written to a private temp file and fsync'd,
 * then hard-linked to `LOCK`; link() fails with EEXIST when `LOCK` exists, so
 * exactly one creator wins and `LOCK` is never seen half written. The name is
 * then read back and must carry our token.
 *
 * When `LOCK` exists, its holder is judged:
 *   - another process that lives (kill(pid, 0) succeeds or EPERM, not a
 *     zombie, same start time when both are known), or any process on another
 *     host (we cannot ask): LockHeldError, naming the path and pid;
 *   - this process (same pid and start time): another thread of ours owns it;
 *     LockHeldError unless the caller presents that owner's token (a shard
 *     handle restarting the worker that died holding it), then the lock is
 *     rewritten with the new owner's details (rename over it);
 *   - dead: stale. The taker first takes `LOCK.takeover` (same link rule),
 *     re-reads `LOCK`, removes it only if its bytes are still the stale ones
 *     it judged, drops `LOCK.takeover`, and competes for `LOCK` again with
 *     link(). Two processes taking over at once: one holds `LOCK.takeover`,
 *     the other waits, then finds the new live holder and is refused.
 *     Residual race: `LOCK.takeover` itself is judged stale by its pid the
 *     same way; if its holder died inside the few microseconds it holds it,
 *     two later takers could both remove it and then race on `LOCK`, which
 *     is still decided by link() (only the removal of a stale `LOCK` could
 *     then happen twice: one taker could remove the lock the other just
 *     created). That needs a crash inside a takeover plus two concurrent
 *     takers; the read-back check catches the loser in most interleavings.
 *
 * Release removes `LOCK` only while it still carries our token. A crashed
 * owner leaves its `LOCK`; the next taker finds the pid dead and takes over.
 *
 * All calls are synchronous: they run once at start, open and close, take
 * microseconds, and so cannot interleave with another call of this thread.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { threadId } from 'node:worker_threads';

/** The lock file's name inside the owned directory. */
export const LOCK_FILE = 'LOCK';
/** Taken while removing a stale LOCK, so two takers cannot both remove one. */
export const LOCK_TAKEOVER_FILE = 'LOCK.takeover';
/** Rounds of (create, judge, take over) before acquire gives up. */
export const LOCK_ATTEMPTS_MAX = 40;
/** Sleep between rounds while another process holds LOCK.takeover. */
export const LOCK_RETRY_SLEEP_MS = 25;
/**
 * A LOCK file that does not parse (only possible on a file system without
 * hard links, where it is written in place, or after disk damage) counts as
 * being written by a live creator while younger than this, as stale after.
 */
export const LOCK_UNREADABLE_GRACE_MS = 2000;
/** Largest LOCK file read (ours are ~250 bytes). */
export const LOCK_FILE_BYTES_MAX = 4096;
/** Lock format version, written as "v". */
export const LOCK_FORMAT_VERSION = 1;

/** What LOCK holds (JSON, one object). */
export interface LockHolder {
  v: number;
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); null where /proc does not exist. */
  startTime: number | null;
  hostname: string;
  /** worker_threads threadId of the owner (0 = main thread). */
  threadId: number;
  /** Random; proves ownership to release() and to an in-process takeover. */
  token: string;
  /** Epoch ms. */
  acquiredAt: number;
  /** Who holds it, for messages ("nativelog start", "shard worker", ...). */
  owner: string;
}

export interface AcquireOptions {
  /** Names the directory in messages: "data dir", "shard folder". */
  what?: string;
  /** Written into the lock as "owner". */
  owner?: string;
  /** Our token (default: a random UUID). */
  token?: string;
  /** An in-process holder carrying this token may be replaced (a dead worker's lock). */
  takeOverToken?: string;
  /** Create the directory (and parents) if missing. */
  createDir?: boolean;
  /** Appended to the LockHeldError message (how to resolve it), without the final period. */
  hint?: string;
  /** Test seam, never set in production: runs after a lock was judged stale, before the takeover (widens the race). */
  beforeTakeover?: () => void;
}

/** The directory is owned by a live process or another thread of this one. */
export class LockHeldError extends Error {
  readonly code = 'LOCKED';
  constructor(
    message: string,
    readonly path: string,
    /** null when the lock file could not be parsed. */
    readonly holder: LockHolder | null,
  ) {
    super(message);
    this.name = 'LockHeldError';
  }
}

export class OwnerLock {
  private released = false;
  constructor(
    readonly dir: string,
    readonly path: string,
    readonly holder: LockHolder,
  ) {}

  get token(): string {
    return this.holder.token;
  }

  /** Removes LOCK if it still carries our token; true if it did. Idempotent. */
  release(): boolean {
    if (this.released) return false;
    this.released = true;
    return releaseOwnerLock(this.dir, this.holder.token);
  }
}

/** Takes `<dir>/LOCK` or throws LockHeldError at once; see the file comment for the rules. */
export function acquireOwnerLock(dir: string, opts: AcquireOptions = {}): OwnerLock {
  const what = opts.what ?? 'directory';
  if (opts.createDir === true) mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = {
    v: LOCK_FORMAT_VERSION,
    pid: process.pid,
    startTime: ownStartTime(),
    hostname: hostname(),
    threadId,
    token: opts.token ?? randomUUID(),
    acquiredAt: Date.now(),
    owner: opts.owner ?? 'nativelog',
  };
  const bytes = `${JSON.stringify(me)}\n`;
  removeDeadTemps(dir);
  for (let attempt = 0; attempt < LOCK_ATTEMPTS_MAX; attempt++) {
    if (createExclusive(path, bytes, me.token)) return confirmed(dir, path, me);
    const found = readLockFile(path);
    if (found === 'missing') continue; // released meanwhile: compete again
    if (found.holder === null) {
      if (Date.now() - found.mtimeMs < LOCK_UNREADABLE_GRACE_MS) {
        throw new LockHeldError(`${cap(what)} ${dir} is locked by a process still writing its lock file ${path}${hintOf(opts)}.`, path, null);
      }
      opts.beforeTakeover?.();
      takeOverStale(dir, path, found.raw, me);
      continue;
    }
    const h = found.holder;
    const state = holderState(h);
    if (state === 'this-process') {
      if (opts.takeOverToken !== undefined && opts.takeOverToken === h.token) {
        replaceOwn(dir, path, bytes);
        return confirmed(dir, path, me);
      }
      throw new LockHeldError(
        `${cap(what)} ${dir} is already owned by another thread of this process (pid ${h.pid}, thread ${h.threadId}, ${h.owner}) since ${iso(h.acquiredAt)} (lock file ${path})${hintOf(opts)}.`,
        path,
        h,
      );
    }
    if (state === 'alive') {
      const host = h.hostname === me.hostname ? '' : ` on host ${h.hostname}`;
      throw new LockHeldError(
        `${cap(what)} ${dir} is already owned by process ${h.pid}${host} (${h.owner}) since ${iso(h.acquiredAt)} (lock file ${path})${hintOf(opts)}.`,
        path,
        h,
      );
    }
    opts.beforeTakeover?.();
    takeOverStale(dir, path, found.raw, me);
  }
  throw new Error(`could not take the lock file ${path} after ${LOCK_ATTEMPTS_MAX} attempts; other processes keep taking it over`);
}

/** Removes `<dir>/LOCK` if it carries `token`; true if it did. A missing file or directory is not an error. */
export function releaseOwnerLock(dir: string, token: string): boolean {
  const path = join(dir, LOCK_FILE);
  const found = readLockFile(path);
  if (found === 'missing' || found.holder?.token !== token) return false;
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
}

/** The holder recorded in `<dir>/LOCK`, or null when there is none or it does not parse. */
export function readLockHolder(dir: string): LockHolder | null {
  const found = readLockFile(join(dir, LOCK_FILE));
  return found === 'missing' ? null : found.holder;
}

export type HolderState = 'alive' | 'dead' | 'this-process';

/** Whether a recorded holder still runs (see the file comment). */
export function holderState(h: LockHolder): HolderState {
  if (h.hostname !== hostname()) return 'alive'; // cannot ask another host's kernel: assume it lives
  const mine = ownStartTime();
  if (h.pid === process.pid) {
    return h.startTime !== null && mine !== null && h.startTime !== mine ? 'dead' : 'this-process';
  }
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if (errno(e) === 'ESRCH') return 'dead';
    if (errno(e) !== 'EPERM') throw e; // EPERM: it exists, under another user
  }
  const stat = procStat(h.pid);
  if (stat === null) return 'alive'; // no /proc (or it just exited): trust kill()
  if (stat.state === 'Z' || stat.state === 'X') return 'dead'; // exited, not yet reaped by its parent
  if (h.startTime !== null && stat.startTime !== h.startTime) return 'dead'; // the pid was recycled
  return 'alive';
}

// ------------------------------------------------------------ internals

interface Found {
  raw: string;
  holder: LockHolder | null;
  mtimeMs: number;
}

function readLockFile(path: string): Found | 'missing' {
  let raw: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return 'missing';
    throw e;
  }
  return { raw, holder: parseHolder(raw), mtimeMs };
}

function parseHolder(raw: string): LockHolder | null {
  if (raw.length > LOCK_FILE_BYTES_MAX) return null;
  try {
    const h = JSON.parse(raw) as Partial<LockHolder>;
    if (!Number.isSafeInteger(h.pid) || (h.pid as number) <= 0) return null;
    if (typeof h.token !== 'string' || typeof h.hostname !== 'string') return null;
    return {
      v: typeof h.v === 'number' ? h.v : 0,
      pid: h.pid as number,
      startTime: typeof h.startTime === 'number' ? h.startTime : null,
      hostname: h.hostname,
      threadId: typeof h.threadId === 'number' ? h.threadId : 0,
      token: h.token,
      acquiredAt: typeof h.acquiredAt === 'number' ? h.acquiredAt : 0,
      owner: typeof h.owner === 'string' ? h.owner : 'unknown owner',
    };
  } catch {
    return null;
  }
}

/**
 * Creates `path` holding `bytes` unless it exists: write + fsync a temp file,
 * link() it to `path` (EEXIST: someone holds it), remove the temp, fsync the
 * folder. On a file system without hard links, O_CREAT|O_EXCL then write.
 */
function createExclusive(path: string, bytes: string, token: string): boolean {
  const tmp = `${path}.${process.pid}.${token.slice(0, 8)}.tmp`;
  writeDurably(tmp, bytes, 'w');
  let created: boolean;
  try {
    linkSync(tmp, path);
    created = true;
  } catch (e) {
    const code = errno(e);
    if (code === 'EEXIST') created = false;
    else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') created = createInPlace(path, bytes);
    else {
      unlinkQuiet(tmp);
      throw e;
    }
  }
  unlinkQuiet(tmp);
  if (created) fsyncDir(dirname(path));
  return created;
}

function createInPlace(path: string, bytes: string): boolean {
  try {
    writeDurably(path, bytes, 'wx');
    return true;
  } catch (e) {
    if (errno(e) === 'EEXIST') return false;
    throw e;
  }
}

function writeDurably(path: string, bytes: string, flags: 'w' | 'wx'): void {
  const fd = openSync(path, flags, 0o644);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** In-process takeover with the dead owner's token: rename a complete new LOCK over it. */
function replaceOwn(dir: string, path: string, bytes: string): void {
  const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  writeDurably(tmp, bytes, 'w');
  renameSync(tmp, path);
  fsyncDir(dir);
}

/** Removes a LOCK judged stale (its bytes `staleRaw`), under LOCK.takeover; the caller then competes for LOCK again. */
function takeOverStale(dir: string, path: string, staleRaw: string, me: LockHolder): void {
  const mutex = join(dir, LOCK_TAKEOVER_FILE);
  if (!createExclusive(mutex, `${JSON.stringify(me)}\n`, me.token)) {
    const other = readLockFile(mutex);
    if (other === 'missing') return;
    const gone = other.holder === null ? Date.now() - other.mtimeMs >= LOCK_UNREADABLE_GRACE_MS : holderState(other.holder) === 'dead';
    if (gone) {
      const again = readLockFile(mutex);
      if (again !== 'missing' && again.raw === other.raw) unlinkQuiet(mutex);
    } else {
      sleepSync(LOCK_RETRY_SLEEP_MS); // another taker is at work: its result decides
    }
    return;
  }
  try {
    const now = readLockFile(path);
    if (now !== 'missing' && now.raw === staleRaw) unlinkQuiet(path);
  } finally {
    const m = readLockFile(mutex);
    if (m !== 'missing' && m.holder?.token === me.token) unlinkQuiet(mutex);
  }
}

/** Reads LOCK back after taking it: it must carry our token (a takeover race lost shows here). */
function confirmed(dir: string, path: string, me: LockHolder): OwnerLock {
  const back = readLockFile(path);
  if (back === 'missing' || back.holder?.token !== me.token) {
    const who = back === 'missing' || back.holder === null ? 'another process' : `process ${back.holder.pid}`;
    throw new LockHeldError(`The lock file ${path} was taken over by ${who} while this process took it.`, path, back === 'missing' ? null : back.holder);
  }
  return new OwnerLock(dir, path, me);
}

/** Temp files of ours whose creator died between writing and linking them. */
function removeDeadTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^LOCK(?:\.takeover)?\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(n);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if (errno(e) === 'ESRCH') unlinkQuiet(join(dir, n));
    }
  }
}

let cachedStartTime: number | null | undefined;

function ownStartTime(): number | null {
  if (cachedStartTime === undefined) cachedStartTime = procStat(process.pid)?.startTime ?? null;
  return cachedStartTime;
}

/** State (field 3) and start time (field 22) of /proc/<pid>/stat; null without /proc or once the pid is gone. */
export function procStat(pid: number): { state: string; startTime: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const startTime = Number(rest[19]); // field 22; rest[0] is field 3
  if (state === undefined || !Number.isSafeInteger(startTime)) return null;
  return { state, startTime };
}

function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the lock still works, it is only less durable.
  } finally {
    closeSync(fd);
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function errno(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

function iso(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : 'an unknown time';
}

function cap(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1);
}

function hintOf(opts: AcquireOptions): string {
  return opts.hint === undefined ? '' : `; ${opts.hint}`;
}
