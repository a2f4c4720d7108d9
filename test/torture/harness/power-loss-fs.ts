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
  private nextFd = 3;
  /** File-layer calls so far. */
  calls = 0;
  private crashAtCall = Infinity;
  private tornWrite: ((n: number) => number) | null = null;
  crashed = false;
  fsyncs = 0;
  /** Harness self-test only: fsync does nothing (a disk that lies), so 'always' must be caught losing data. */
  lyingFsync = false;

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
      ino = { data: new Uint8Array(0), size: 0, durable: new Uint8Array(0), ops: [] };
      d.current.set(basename(path), ino);
    }
    const fd = this.nextFd++;
    this.fds.set(fd, ino);
    return fd;
  }

  close(fd: number): void {
    this.step('close');
    this.fds.delete(fd);
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
    this.fsyncs++;
    if (this.lyingFsync) return;
    ino.durable = ino.data.slice(0, ino.size);
    ino.ops = [];
  }

  /** Background fsync: makes durable what the file holds when it completes (a later microtask). */
  async fsyncAsync(fd: number): Promise<void> {
    this.fdInode(fd);
    await Promise.resolve();
    this.fsync(fd);
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
        c = { data: ino.durable.slice(), size: ino.durable.length, durable: new Uint8Array(0), ops: [] };
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
