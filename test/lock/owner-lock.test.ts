import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import {
  LOCK_FILE,
  LOCK_UNREADABLE_GRACE_MS,
  LockHeldError,
  acquireOwnerLock,
  procStat,
  readLockHolder,
  releaseOwnerLock,
  type LockHolder,
} from '../../src/lock/owner-lock.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'lock-child.js');
const HAS_PROC = procStat(process.pid) !== null;

const roots: string[] = [];
after(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nativelog-lock-'));
  roots.push(d);
  return d;
}

interface ChildLine {
  pid: number;
  ok: boolean;
  holderPid?: number | null;
  message?: string;
}

/** Starts lock-child.js; resolves with its first output line and a handle to stop it (by pid). */
function lockChild(dir: string, startAt: number, holdMs: number, stallMs = 0): { child: ChildProcess; line: Promise<ChildLine>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CHILD, dir, String(startAt), String(holdMs), String(stallMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const line = new Promise<ChildLine>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as ChildLine);
    });
    void exited.then((c) => reject(new Error(`lock child exited (${c}) without a line`)));
  });
  return { child, line, exited };
}

async function kill9(c: { child: ChildProcess; exited: Promise<number | null> }): Promise<void> {
  if (c.child.exitCode === null && c.child.signalCode === null) process.kill(c.child.pid!, 'SIGKILL');
  await c.exited;
}

function holderFile(dir: string, h: Partial<LockHolder>): void {
  const full: LockHolder = { v: 1, pid: 1, startTime: null, hostname: hostname(), threadId: 0, token: randomUUID(), acquiredAt: Date.now(), owner: 'hand-written', ...h };
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(full));
}

test('acquire writes our pid, start time and token; release removes LOCK; release with another token leaves it', () => {
  const dir = tempDir();
  const lock = acquireOwnerLock(dir, { owner: 'unit test' });
  const h = readLockHolder(dir)!;
  assert.equal(h.pid, process.pid);
  assert.equal(h.token, lock.token);
  assert.equal(h.owner, 'unit test');
  if (HAS_PROC) assert.equal(h.startTime, procStat(process.pid)!.startTime);
  assert.equal(releaseOwnerLock(dir, 'not-the-token'), false, 'a wrong token releases nothing');
  assert.ok(existsSync(join(dir, LOCK_FILE)));
  assert.equal(lock.release(), true);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  assert.equal(lock.release(), false, 'release is idempotent');
});

test('in this process: a second acquire is refused naming our pid; only the holder token takes it over; the old token then releases nothing', () => {
  const dir = tempDir();
  const first = acquireOwnerLock(dir, { what: 'shard folder' });
  assert.throws(
    () => acquireOwnerLock(dir, { what: 'shard folder' }),
    (e: unknown) => e instanceof LockHeldError && e.holder?.pid === process.pid && e.message.includes(`pid ${process.pid}`) && e.message.includes(join(dir, LOCK_FILE)) && /another thread of this process/.test(e.message),
  );
  assert.throws(() => acquireOwnerLock(dir, { takeOverToken: 'a-guess' }), LockHeldError, 'a wrong takeover token is refused');
  const second = acquireOwnerLock(dir, { takeOverToken: first.token });
  assert.equal(readLockHolder(dir)!.token, second.token);
  assert.equal(first.release(), false, "the replaced owner's release leaves the new owner's lock");
  assert.ok(existsSync(join(dir, LOCK_FILE)));
  assert.equal(second.release(), true);
});

test('a live holder in another process is refused with one sentence naming the path and its pid; after kill -9 its stale lock is taken over', async () => {
  const dir = tempDir();
  const holder = lockChild(dir, 0, 60_000);
  try {
    const l = await holder.line;
    assert.equal(l.ok, true);
    assert.throws(
      () => acquireOwnerLock(dir, { what: 'data dir' }),
      (e: unknown) => e instanceof LockHeldError && e.message.includes(`process ${holder.child.pid}`) && e.message.includes(join(dir, LOCK_FILE)) && !e.message.includes('\n'),
    );
  } finally {
    await kill9(holder);
  }
  assert.equal(readLockHolder(dir)!.pid, holder.child.pid, 'kill -9 leaves the lock file behind');
  const lock = acquireOwnerLock(dir);
  assert.equal(readLockHolder(dir)!.pid, process.pid);
  assert.equal(existsSync(join(dir, 'LOCK.takeover')), false, 'the takeover mutex is gone');
  lock.release();
});

test('a recycled pid is not mistaken for the holder: a live pid with another start time is stale; with its own start time it holds', { skip: !HAS_PROC && 'no /proc' }, async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'elsewhere'));
  const other = lockChild(join(dir, 'elsewhere'), 0, 60_000); // any live process that is not us (it holds another dir's lock for 60 s)
  try {
    assert.equal((await other.line).ok, true, 'the child runs and holds its own lock');
    const pid = other.child.pid!;
    const real = procStat(pid)!.startTime;
    holderFile(dir, { pid, startTime: real });
    assert.throws(() => acquireOwnerLock(dir), (e: unknown) => e instanceof LockHeldError && e.holder?.pid === pid);
    holderFile(dir, { pid, startTime: real - 1 });
    const lock = acquireOwnerLock(dir);
    assert.equal(readLockHolder(dir)!.pid, process.pid);
    lock.release();
    // Our own pid from an earlier boot or container run (start time differs) is stale too, not "this process".
    holderFile(dir, { pid: process.pid, startTime: procStat(process.pid)!.startTime + 1 });
    acquireOwnerLock(dir).release();
  } finally {
    await kill9(other);
  }
});

test('a holder on another host is assumed alive and refused, naming the host', () => {
  const dir = tempDir();
  holderFile(dir, { pid: 4242, hostname: `not-${hostname()}` });
  assert.throws(() => acquireOwnerLock(dir), (e: unknown) => e instanceof LockHeldError && /process 4242 on host not-/.test(e.message));
});

test('an unreadable LOCK is taken as being written while young and as stale once older than the grace period', () => {
  const dir = tempDir();
  const path = join(dir, LOCK_FILE);
  writeFileSync(path, '{"pid": 12');
  assert.throws(() => acquireOwnerLock(dir), LockHeldError);
  const old = (Date.now() - LOCK_UNREADABLE_GRACE_MS - 1000) / 1000;
  utimesSync(path, old, old);
  const lock = acquireOwnerLock(dir);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).token, lock.token);
  lock.release();
});

test('processes racing to take over one stale lock: exactly one wins, every other is refused naming the winner', async () => {
  const dir = tempDir();
  holderFile(dir, { pid: await deadPid(), startTime: null });
  const racers = 5;
  const startAt = Date.now() + 1500; // after every child has loaded
  // Each racer stalls 300 ms between judging the lock stale and taking it over, so all of them are inside that window at once.
  const children = Array.from({ length: racers }, () => lockChild(dir, startAt, 4000, 300));
  try {
    const lines = await Promise.all(children.map((c) => c.line));
    const winners = lines.filter((l) => l.ok);
    assert.equal(winners.length, 1, JSON.stringify(lines));
    for (const l of lines.filter((x) => !x.ok)) assert.equal(l.holderPid, winners[0]!.pid, l.message);
    assert.equal(readLockHolder(dir)!.pid, winners[0]!.pid);
  } finally {
    await Promise.all(children.map(kill9));
  }
});

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => c.once('exit', r));
  return c.pid!;
}
