/**
 * An in-memory file layer that can lose power. Each file keeps its current
 * bytes and the bytes last made durable by fsync; each directory entry
 * (create, rename, unlink) becomes durable only when its directory is
 * synced (syncDir). crash() throws away everything not durable, like a power
 * cut under a pessimistic POSIX file system: file contents revert to their
 * last fsync, and names revert to the last syncDir. Optionally a torn write
 * survives: crash(keep) can keep a prefix of each file's unsynced tail.
 *
 * Used by crash tests and the torture test; no real disk is touched.
 *
 * failFsyncOnce() models a failed fsync as Linux does it (docs/FORMAT.md
 * section 8): the kernel drops the file's dirty pages, so its live content
 * reverts to what is durable (the old bytes of overwritten ranges, zeros
 * past the durable length; the size stays), and the error is reported once:
 * the next fsync of the file succeeds without bringing the data back.
 */
import { dirname } from 'node:path';
import { type FileLayer, type OpenMode, fsError } from './file-layer.js';

class MemFile {
  data = new Uint8Array(256);
  size = 0;
  durable = new Uint8Array(0);

  ensure(n: number): void {
    if (n <= this.data.length) return;
    const next = new Uint8Array(Math.max(n, this.data.length * 2));
    next.set(this.data.subarray(0, this.size));
    this.data = next;
  }
}

interface OpenFile {
  file: MemFile;
  path: string;
  writable: boolean;
}

/** Chooses how many bytes of a file's unsynced tail survive a crash (0 = none). */
export type TornTail = (path: string, unsyncedBytes: number) => number;

/** An injected fsync failure: which paths (files, or directories for syncDir) it hits, and the errno code. */
interface FsyncFault {
  match: (path: string) => boolean;
  code: string;
}

export class MemFileLayer implements FileLayer {
  private fsyncFault: FsyncFault | null = null;
  /** fsync / syncDir calls failed by an injected fault. */
  fsyncFailures = 0;
  private readonly names = new Map<string, MemFile>();
  private durableNames = new Map<string, MemFile>();
  private readonly dirs = new Set<string>();
  private readonly fds = new Map<number, OpenFile>();
  private nextFd = 3;
  freeBytesValue = Number.MAX_SAFE_INTEGER;

  open(path: string, mode: OpenMode): number {
    let file = this.names.get(path);
    if (file === undefined) {
      if (mode !== 'create') throw fsError('ENOENT', 'open', path);
      if (!this.dirs.has(dirname(path))) throw fsError('ENOENT', 'open', path);
      file = new MemFile();
      this.names.set(path, file);
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { file, path, writable: mode !== 'read' });
    return fd;
  }
  close(fd: number): void {
    if (!this.fds.delete(fd)) throw fsError('EBADF', 'close');
  }
  read(fd: number, target: Uint8Array, offset: number, length: number, position: number): number {
    const f = this.fileOf(fd).file;
    const n = Math.max(0, Math.min(length, f.size - position));
    target.set(f.data.subarray(position, position + n), offset);
    return n;
  }
  write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    const o = this.fileOf(fd);
    if (!o.writable) throw fsError('EBADF', 'write', o.path);
    const f = o.file;
    f.ensure(position + length);
    if (position > f.size) f.data.fill(0, f.size, position);
    f.data.set(source.subarray(offset, offset + length), position);
    f.size = Math.max(f.size, position + length);
    return length;
  }
  /**
   * The next fsync (or fsyncAsync, or syncDir for a directory) of a path that
   * `match` accepts fails with `code`, once; a file's dirty pages are dropped
   * (its unsynced content reverts to the durable bytes, zeros past them).
   */
  failFsyncOnce(match: (path: string) => boolean, code = 'EIO'): void {
    this.fsyncFault = { match, code };
  }
  private takeFault(path: string): string | null {
    const f = this.fsyncFault;
    if (f === null || !f.match(path)) return null;
    this.fsyncFault = null;
    this.fsyncFailures++;
    return f.code;
  }
  fsync(fd: number): void {
    const o = this.fileOf(fd);
    const f = o.file;
    const code = this.takeFault(o.path);
    if (code !== null) {
      // Writeback failed: the dirty pages are gone; what is read back is what the disk has.
      const live = new Uint8Array(Math.max(f.data.length, f.size));
      live.set(f.durable.subarray(0, Math.min(f.durable.length, f.size)));
      f.data = live;
      throw fsError(code, 'fsync', o.path);
    }
    f.durable = f.data.slice(0, f.size);
  }
  /** Completes on a later microtask, making durable what the file holds then (a real fsync may also cover writes made while it runs). */
  async fsyncAsync(fd: number): Promise<void> {
    this.fileOf(fd);
    await Promise.resolve();
    this.fsync(fd);
  }
  truncate(fd: number, length: number): void {
    const f = this.fileOf(fd).file;
    f.ensure(length);
    if (length > f.size) f.data.fill(0, f.size, length);
    f.size = length;
  }
  size(fd: number): number {
    return this.fileOf(fd).file.size;
  }
  readdir(dir: string): string[] {
    if (!this.dirs.has(dir)) throw fsError('ENOENT', 'scandir', dir);
    const out: string[] = [];
    for (const p of this.names.keys()) if (dirname(p) === dir) out.push(p.slice(dir.length + 1));
    return out;
  }
  mkdirp(dir: string): void {
    for (let d = dir; !this.dirs.has(d); d = dirname(d)) {
      this.dirs.add(d);
      if (dirname(d) === d) break;
    }
  }
  exists(path: string): boolean {
    return this.names.has(path) || this.dirs.has(path);
  }
  unlink(path: string): void {
    if (!this.names.delete(path)) throw fsError('ENOENT', 'unlink', path);
  }
  rename(from: string, to: string): void {
    const f = this.names.get(from);
    if (f === undefined) throw fsError('ENOENT', 'rename', from);
    this.names.delete(from);
    this.names.set(to, f);
  }
  syncDir(dir: string): void {
    const code = this.takeFault(dir);
    if (code !== null) throw fsError(code, 'fsync', dir);
    for (const p of [...this.durableNames.keys()]) if (dirname(p) === dir && !this.names.has(p)) this.durableNames.delete(p);
    for (const [p, f] of this.names) if (dirname(p) === dir) this.durableNames.set(p, f);
  }
  async syncDirAsync(dir: string): Promise<void> {
    await Promise.resolve();
    this.syncDir(dir);
  }
  freeBytes(_dir: string): number {
    return this.freeBytesValue;
  }

  /** Power loss: every descriptor is gone; only durable names and durable bytes remain (plus torn tails, if asked). */
  crash(tornTail: TornTail = () => 0): void {
    this.fds.clear();
    this.names.clear();
    for (const [p, f] of this.durableNames) {
      const unsynced = f.size > f.durable.length && startsWith(f.data, f.durable) ? f.size - f.durable.length : 0;
      const keep = Math.max(0, Math.min(unsynced, tornTail(p, unsynced)));
      const survived = new Uint8Array(f.durable.length + keep);
      survived.set(f.durable);
      survived.set(f.data.subarray(f.durable.length, f.durable.length + keep), f.durable.length);
      f.data = survived;
      f.size = survived.length;
      f.durable = survived.slice();
      this.names.set(p, f);
    }
    this.durableNames = new Map(this.names);
  }

  private fileOf(fd: number): OpenFile {
    const o = this.fds.get(fd);
    if (o === undefined) throw fsError('EBADF', 'fd');
    return o;
  }
}

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix[i]) return false;
  return true;
}
