/**
 * An in-memory file system for the storage engine's FileLayer that models a
 * page cache and power loss (the FoundationDB / TigerBeetle simulator idea,
 * applied to one shard):
 *
 *   - write/truncate change a file's current content at once, but only
 *     fsync(fd) makes that file's content durable;
 *   - creating, renaming and unlinking a name changes the directory at once,
 *     but only syncDir(dir) makes that directory's entries durable;
 *   - a crash point can be armed after any number of file-layer calls: the
 *     call that reaches it throws (a write there may land torn: a prefix of
 *     it reaches the cache first), and every later call throws (the process
 *     is dead);
 *   - crashImage() is what the disk holds after the power comes back:
 *       'drop-all': only durable content and durable directory entries;
 *       'random':   durable state plus a seeded random subset of the
 *                   unsynced operations, writes kept or lost per 4 KiB page,
 *                   and each unsynced directory entry either old or new
 *                   (the kernel may have written back any dirty page).
 *
 *   - an fsync failure can be armed after any number of fsync / syncDir
 *     calls (armFsyncFailure). It is modelled as Linux's writeback error
 *     (the PostgreSQL "fsyncgate" finding): the kernel drops the file's
 *     dirty pages, so the live view of every byte range written since the
 *     last successful fsync reverts to what is durable (old bytes where
 *     durable bytes were overwritten, zeros past the durable content; the
 *     size stays, itself not durable), and EIO is reported once per open
 *     file description (Linux >= 4.13, errseq_t): to the fsync that met it,
 *     and to the next fsync through every other descriptor that was open
 *     when it happened; after that, fsyncs of the file succeed without
 *     bringing the data back. A failed syncDir leaves the directory's
 *     entries as they were, not durable.
 *
 * Directories themselves (mkdirp) are durable at once: the shard folder is
 * created once by the node, before any record exists.
 */
import { basename, dirname } from 'node:path';
import { fsError, type FileLayer, type OpenMode } from '../../../src/storage/file-layer.js';
import type { Rng } from './rng.js';

export const PAGE_BYTES = 4096;
const FREE_BYTES_REPORTED = 1 << 40;

type Op = { kind: 'write'; pos: number; bytes: Uint8Array } | { kind: 'truncate'; len: number };

interface Inode {
  data: Uint8Array;
  size: number;
  durable: Uint8Array;
  /** Unsynced operations since the last fsync, in order. */
  ops: Op[];
  /** Failed writebacks so far (dropDirtyPages). */
  drops: number;
}

interface Dir {
  current: Map<string, Inode>;
  durable: Map<string, Inode>;
}

export class PowerCrash extends Error {
  constructor(at: string) {
    super(`simulated power loss at ${at}`);
    this.name = 'PowerCrash';
  }
}

export type CrashMode = 'drop-all' | 'random';

export class PowerLossFs implements FileLayer {
  private readonly dirs = new Map<string, Dir>();
  private readonly fds = new Map<number, Inode>();
  /** Per descriptor: the inode's drop count it has been told about (an error is reported once per description). */
  private readonly seenDrops = new Map<number, number>();
  private nextFd = 3;
  /** File-layer calls so far. */
  calls = 0;
  private crashAtCall = Infinity;
  private tornWrite: ((n: number) => number) | null = null;
  crashed = false;
  fsyncs = 0;
  /** Harness self-test only: fsync does nothing (a disk that lies), so 'always' must be caught losing data. */
  lyingFsync = false;
  /** fsync-type calls (fsync, fsyncAsync, syncDir, syncDirAsync) so far, and the one that fails (armFsyncFailure). */
  private syncCalls = 0;
  private failSyncAt = Infinity;
  /** fsync-type calls failed by armFsyncFailure. */
  fsyncFailures = 0;

  /** The n-th fsync-type call from now (n >= 1) fails with EIO, dropping that file's dirty pages (see the class comment). */
  armFsyncFailure(afterSyncs: number): void {
    this.failSyncAt = this.syncCalls + afterSyncs;
  }

  /** The armed failure (dropping the dirty pages), or a failure this descriptor has not been told about yet: throws EIO. */
  private failIfDue(fd: number, ino: Inode, syscall: string): void {
    if (this.syncFails()) dropDirtyPages(ino);
    else if ((this.seenDrops.get(fd) ?? ino.drops) >= ino.drops) return;
    this.seenDrops.set(fd, ino.drops);
    throw fsError('EIO', syscall);
  }

  /** Counts an fsync-type call; true when it is the one armed to fail. */
  private syncFails(): boolean {
    this.syncCalls++;
    if (this.syncCalls < this.failSyncAt) return false;
    this.failSyncAt = Infinity;
    this.fsyncFailures++;
    return true;
  }

  /** Arms a crash at the n-th call from now; tornPrefix picks how much of a write that crashes reaches the cache. */
  armCrash(afterCalls: number, tornPrefix: (n: number) => number): void {
    this.crashAtCall = this.calls + afterCalls;
    this.tornWrite = tornPrefix;
  }

  private step(what: string): void {
    if (this.crashed) throw new PowerCrash(`${what} (after the crash)`);
    this.calls++;
    if (this.calls >= this.crashAtCall) {
      this.crashed = true;
      throw new PowerCrash(what);
    }
  }

  private dir(path: string): Dir {
    const d = this.dirs.get(path);
    if (d === undefined) throw fsError('ENOENT', 'scandir', path);
    return d;
  }

  private inodeAt(path: string): Inode | undefined {
    return this.dirs.get(dirname(path))?.current.get(basename(path));
  }

  private fdInode(fd: number): Inode {
    const ino = this.fds.get(fd);
    if (ino === undefined) throw fsError('EBADF', 'fd');
    return ino;
  }

  open(path: string, mode: OpenMode): number {
    this.step(`open ${path}`);
    let ino = this.inodeAt(path);
    if (ino === undefined) {
      if (mode !== 'create') throw fsError('ENOENT', 'open', path);
      const d = this.dir(dirname(path));
      ino = { data: new Uint8Array(0), size: 0, durable: new Uint8Array(0), ops: [], drops: 0 };
      d.current.set(basename(path), ino);
    }
    const fd = this.nextFd++;
    this.fds.set(fd, ino);
    this.seenDrops.set(fd, ino.drops);
    return fd;
  }

  close(fd: number): void {
    this.step('close');
    this.fds.delete(fd);
    this.seenDrops.delete(fd);
  }

  read(fd: number, target: Uint8Array, offset: number, length: number, position: number): number {
    this.step('read');
    const ino = this.fdInode(fd);
    const n = Math.max(0, Math.min(length, ino.size - position));
    target.set(ino.data.subarray(position, position + n), offset);
    return n;
  }

  write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    const ino = this.fdInode(fd);
    try {
      this.step('write');
    } catch (e) {
      if (e instanceof PowerCrash && !e.message.includes('after the crash') && this.tornWrite !== null) {
        const torn = this.tornWrite(length);
        if (torn > 0) applyWrite(ino, position, source.slice(offset, offset + torn), true);
      }
      throw e;
    }
    applyWrite(ino, position, source.slice(offset, offset + length), true);
    return length;
  }

  fsync(fd: number): void {
    this.step('fsync');
    const ino = this.fdInode(fd);
    this.failIfDue(fd, ino, 'fsync');
    this.fsyncs++;
    if (this.lyingFsync) return;
    ino.durable = ino.data.slice(0, ino.size);
    ino.ops = [];
  }

  /**
   * Background fsync, completing on a later microtask: it makes durable what
   * the file held when it was called (writes made while it runs stay
   * unsynced: the pessimistic reading of fsync, and what a store may count
   * on). A failure drops the dirty pages like fsync's.
   */
  async fsyncAsync(fd: number): Promise<void> {
    const ino = this.fdInode(fd);
    const snapshot = ino.data.slice(0, ino.size);
    const opsAtCall = ino.ops.length;
    const dropsAtCall = ino.drops;
    await Promise.resolve();
    this.step('fsync');
    this.failIfDue(fd, ino, 'fdatasync');
    this.fsyncs++;
    // After a drop meanwhile, the error was reported once already: "success", with nothing written.
    if (this.lyingFsync || ino.drops !== dropsAtCall) return;
    ino.durable = snapshot;
    ino.ops = ino.ops.slice(opsAtCall);
  }

  truncate(fd: number, length: number): void {
    this.step('truncate');
    applyTruncate(this.fdInode(fd), length, true);
  }

  size(fd: number): number {
    this.step('size');
    return this.fdInode(fd).size;
  }

  readdir(dir: string): string[] {
    this.step(`readdir ${dir}`);
    return [...this.dir(dir).current.keys()];
  }

  mkdirp(dir: string): void {
    this.step(`mkdirp ${dir}`);
    let p = dir;
    const chain: string[] = [];
    while (!this.dirs.has(p) && p !== dirname(p)) {
      chain.push(p);
      p = dirname(p);
    }
    for (const c of chain) this.dirs.set(c, { current: new Map(), durable: new Map() });
  }

  exists(path: string): boolean {
    this.step(`exists ${path}`);
    return this.dirs.has(path) || this.inodeAt(path) !== undefined;
  }

  unlink(path: string): void {
    this.step(`unlink ${path}`);
    const d = this.dir(dirname(path));
    if (!d.current.delete(basename(path))) throw fsError('ENOENT', 'unlink', path);
  }

  rename(from: string, to: string): void {
    this.step(`rename ${from}`);
    const src = this.dir(dirname(from));
    const ino = src.current.get(basename(from));
    if (ino === undefined) throw fsError('ENOENT', 'rename', from);
    src.current.delete(basename(from));
    this.dir(dirname(to)).current.set(basename(to), ino);
  }

  async syncDirAsync(dir: string): Promise<void> {
    await Promise.resolve();
    this.syncDir(dir);
  }

  syncDir(dir: string): void {
    this.step(`syncDir ${dir}`);
    const d = this.dir(dir);
    if (this.syncFails()) throw fsError('EIO', 'fsync', dir);
    d.durable = new Map(d.current);
  }

  freeBytes(_dir: string): number {
    this.step('statfs');
    return FREE_BYTES_REPORTED;
  }

  /** Names and sizes of the files of a directory as they are now (for failure messages). */
  listing(dir: string): string {
    const d = this.dirs.get(dir);
    if (d === undefined) return '(no dir)';
    return [...d.current.entries()].map(([n, i]) => `${n}:${i.size}`).sort().join(' ');
  }

  /** What the disk holds after power comes back: a fresh file system, nothing open, no crash armed. */
  crashImage(mode: CrashMode, rng: Rng): PowerLossFs {
    const out = new PowerLossFs();
    out.lyingFsync = this.lyingFsync;
    const copies = new Map<Inode, Inode>();
    const survivor = (ino: Inode): Inode => {
      let c = copies.get(ino);
      if (c === undefined) {
        c = { data: ino.durable.slice(), size: ino.durable.length, durable: new Uint8Array(0), ops: [], drops: 0 };
        if (mode === 'random') {
          for (const op of ino.ops) {
            if (op.kind === 'truncate') {
              if (rng.bool()) applyTruncate(c, op.len, false);
            } else {
              // Page by page: the kernel writes back dirty pages independently.
              let p = op.pos;
              const end = op.pos + op.bytes.length;
              while (p < end) {
                const next = Math.min(end, (Math.floor(p / PAGE_BYTES) + 1) * PAGE_BYTES);
                if (rng.bool()) applyWrite(c, p, op.bytes.subarray(p - op.pos, next - op.pos), false);
                p = next;
              }
            }
          }
        }
        c.durable = c.data.slice(0, c.size);
        copies.set(ino, c);
      }
      return c;
    };
    for (const [path, d] of this.dirs) {
      const nd: Dir = { current: new Map(), durable: new Map() };
      const names = new Set([...d.current.keys(), ...d.durable.keys()]);
      for (const name of names) {
        const cur = d.current.get(name);
        const dur = d.durable.get(name);
        const pick = cur === dur ? cur : mode === 'random' && rng.bool() ? cur : dur;
        if (pick !== undefined) nd.current.set(name, survivor(pick));
      }
      nd.durable = new Map(nd.current);
      out.dirs.set(path, nd);
    }
    return out;
  }
}

/** A failed writeback: the live content reverts to the durable bytes (zeros past them), the size stays and is not durable. */
function dropDirtyPages(ino: Inode): void {
  const live = new Uint8Array(Math.max(ino.data.length, ino.size));
  live.set(ino.durable.subarray(0, Math.min(ino.durable.length, ino.size)));
  ino.data = live;
  ino.drops++;
  ino.ops = ino.size === ino.durable.length ? [] : [{ kind: 'truncate', len: ino.size }];
}

function ensure(ino: Inode, len: number): void {
  if (len <= ino.data.length) return;
  const grown = new Uint8Array(Math.max(len, ino.data.length * 2, 4096));
  grown.set(ino.data.subarray(0, ino.size));
  ino.data = grown;
}

function applyWrite(ino: Inode, pos: number, bytes: Uint8Array, log: boolean): void {
  ensure(ino, pos + bytes.length);
  if (pos > ino.size) ino.data.fill(0, ino.size, pos);
  ino.data.set(bytes, pos);
  ino.size = Math.max(ino.size, pos + bytes.length);
  if (log) ino.ops.push({ kind: 'write', pos, bytes });
}

function applyTruncate(ino: Inode, len: number, log: boolean): void {
  ensure(ino, len);
  if (len > ino.size) ino.data.fill(0, ino.size, len);
  ino.size = len;
  if (log) ino.ops.push({ kind: 'truncate', len });
}
