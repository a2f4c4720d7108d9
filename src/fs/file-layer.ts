/**
 * The file layer: every byte the storage engine reads or writes, and every
 * directory change it makes, goes through one of these. The engine never
 * imports node:fs itself, so tests can
 *   - count bytes read (recovery must scan only the tail: CountingFileLayer),
 *   - inject ENOSPC / EIO on writes, fsyncs or truncates (FaultyFileLayer),
 *   - simulate power loss (src/storage/mem-file-layer.ts: writes not yet
 *     fsync'd, and directory entries not yet made durable by syncDir, vanish).
 *
 * The interface is positional and synchronous (pread/pwrite): a shard is
 * owned by one thread, and the shard worker must never wait on a promise for
 * its own files. Errors are thrown as Node.js-style errors carrying `code`
 * (ENOENT, ENOSPC, EIO, ...).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';

export type OpenMode =
  | 'read' // existing file, read only
  | 'readwrite' // existing file, read and write
  | 'create'; // read and write, created when missing (never truncated)

export interface FileLayer {
  open(path: string, mode: OpenMode): number;
  close(fd: number): void;
  /** Reads up to length bytes at position; returns the bytes read (0 at end of file). */
  read(fd: number, target: Uint8Array, offset: number, length: number, position: number): number;
  /** Writes bytes at position; returns the bytes written (may be short). */
  write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number;
  /** Data (and the size change) of this file reaches stable storage. */
  fsync(fd: number): void;
  /**
   * fsync off the calling thread (Node: fdatasync on the libuv thread pool):
   * everything written before the call is durable when the promise
   * resolves. The caller must keep fd open until it settles.
   */
  fsyncAsync(fd: number): Promise<void>;
  truncate(fd: number, length: number): void;
  size(fd: number): number;
  /** File names in a directory (not paths), unsorted. */
  readdir(dir: string): string[];
  mkdirp(dir: string): void;
  exists(path: string): boolean;
  unlink(path: string): void;
  /** Atomic replace of `to` by `from` (same directory). */
  rename(from: string, to: string): void;
  /** Creations, renames and unlinks in dir reach stable storage. */
  syncDir(dir: string): void;
  /** syncDir off the calling thread. */
  syncDirAsync(dir: string): Promise<void>;
  /** Bytes available to this process on the file system holding dir. */
  freeBytes(dir: string): number;
}

/** The real file system. */
export class NodeFileLayer implements FileLayer {
  open(path: string, mode: OpenMode): number {
    const flags = mode === 'read' ? 'r' : mode === 'readwrite' ? 'r+' : fs.constants.O_RDWR | fs.constants.O_CREAT;
    return fs.openSync(path, flags, 0o644);
  }
  close(fd: number): void {
    fs.closeSync(fd);
  }
  read(fd: number, target: Uint8Array, offset: number, length: number, position: number): number {
    return fs.readSync(fd, target, offset, length, position);
  }
  write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    return fs.writeSync(fd, source, offset, length, position);
  }
  fsync(fd: number): void {
    fs.fdatasyncSync(fd);
  }
  fsyncAsync(fd: number): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e === null ? resolve() : reject(e))));
  }
  truncate(fd: number, length: number): void {
    fs.ftruncateSync(fd, length);
  }
  size(fd: number): number {
    return fs.fstatSync(fd).size;
  }
  readdir(dir: string): string[] {
    return fs.readdirSync(dir);
  }
  mkdirp(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
  }
  exists(path: string): boolean {
    return fs.existsSync(path);
  }
  unlink(path: string): void {
    fs.unlinkSync(path);
  }
  rename(from: string, to: string): void {
    fs.renameSync(from, to);
  }
  syncDir(dir: string): void {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  async syncDirAsync(dir: string): Promise<void> {
    const fh = await fs.promises.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  freeBytes(dir: string): number {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  }
}

export const nodeFileLayer: FileLayer = new NodeFileLayer();

/** An error shaped like the ones node:fs throws. */
export function fsError(code: string, syscall: string, path = ''): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${syscall}${path === '' ? '' : ` '${path}'`}`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** Reads all of [position, position+length) or until end of file; returns the bytes read. */
export function readFully(layer: FileLayer, fd: number, target: Uint8Array, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = layer.read(fd, target, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Writes all of source[offset, offset+length) at position (loops over short writes). */
export function writeFully(layer: FileLayer, fd: number, source: Uint8Array, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = layer.write(fd, source, offset + done, length - done, position + done);
    if (n <= 0) throw fsError('EIO', 'write');
    done += n;
  }
}

/** The whole content of a small file, or null when it does not exist. */
export function readWholeFile(layer: FileLayer, path: string): Uint8Array | null {
  if (!layer.exists(path)) return null;
  const fd = layer.open(path, 'read');
  try {
    const size = layer.size(fd);
    const bytes = new Uint8Array(size);
    const n = readFully(layer, fd, bytes, 0, size, 0);
    return n === size ? bytes : bytes.subarray(0, n);
  } finally {
    layer.close(fd);
  }
}

/**
 * Replaces dir/name with bytes atomically and durably: write a temporary
 * file, fsync it, rename it over the target, fsync the directory.
 */
export function writeFileAtomic(layer: FileLayer, dir: string, name: string, bytes: Uint8Array): void {
  const tmp = join(dir, `${name}.tmp`);
  const fd = layer.open(tmp, 'create');
  try {
    layer.truncate(fd, 0);
    writeFully(layer, fd, bytes, 0, bytes.length, 0);
    layer.fsync(fd);
  } finally {
    layer.close(fd);
  }
  layer.rename(tmp, join(dir, name));
  layer.syncDir(dir);
}

/**
 * A layer that passes every call to an inner layer unchanged: the base of the
 * decorating layers below, which override only the calls they watch or break.
 */
export class ForwardingFileLayer implements FileLayer {
  constructor(protected readonly inner: FileLayer = nodeFileLayer) {}

  open(path: string, mode: OpenMode): number {
    return this.inner.open(path, mode);
  }
  close(fd: number): void {
    this.inner.close(fd);
  }
  read(fd: number, target: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.read(fd, target, offset, length, position);
  }
  write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.write(fd, source, offset, length, position);
  }
  fsync(fd: number): void {
    this.inner.fsync(fd);
  }
  fsyncAsync(fd: number): Promise<void> {
    return this.inner.fsyncAsync(fd);
  }
  truncate(fd: number, length: number): void {
    this.inner.truncate(fd, length);
  }
  size(fd: number): number {
    return this.inner.size(fd);
  }
  readdir(dir: string): string[] {
    return this.inner.readdir(dir);
  }
  mkdirp(dir: string): void {
    this.inner.mkdirp(dir);
  }
  exists(path: string): boolean {
    return this.inner.exists(path);
  }
  unlink(path: string): void {
    this.inner.unlink(path);
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
  }
  syncDir(dir: string): void {
    this.inner.syncDir(dir);
  }
  syncDirAsync(dir: string): Promise<void> {
    return this.inner.syncDirAsync(dir);
  }
  freeBytes(dir: string): number {
    return this.inner.freeBytes(dir);
  }
}

/** A forwarding layer that remembers the path each open descriptor was opened with (for messages and per-file counts). */
export class PathTrackingFileLayer extends ForwardingFileLayer {
  private readonly paths = new Map<number, string>();

  protected pathOf(fd: number, unknown = `descriptor ${fd}`): string {
    return this.paths.get(fd) ?? unknown;
  }
  override open(path: string, mode: OpenMode): number {
    const fd = this.inner.open(path, mode);
    this.paths.set(fd, path);
    return fd;
  }
  override close(fd: number): void {
    this.paths.delete(fd);
    this.inner.close(fd);
  }
}

/** Counts bytes read and written through an inner layer (recovery tests assert on these). */
export class CountingFileLayer extends PathTrackingFileLayer {
  bytesRead = 0;
  bytesWritten = 0;
  /** fsync calls per file path. */
  readonly fsyncsByPath = new Map<string, number>();
  /** Bytes read per file path (by the path it was opened with). */
  readonly bytesReadByPath = new Map<string, number>();

  reset(): void {
    this.bytesRead = 0;
    this.bytesWritten = 0;
    this.bytesReadByPath.clear();
    this.fsyncsByPath.clear();
  }
  override read(fd: number, target: Uint8Array, offset: number, length: number, position: number): number {
    const n = this.inner.read(fd, target, offset, length, position);
    this.bytesRead += n;
    const path = this.pathOf(fd, '?');
    this.bytesReadByPath.set(path, (this.bytesReadByPath.get(path) ?? 0) + n);
    return n;
  }
  override write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    const n = this.inner.write(fd, source, offset, length, position);
    this.bytesWritten += n;
    return n;
  }
  override fsync(fd: number): void {
    this.inner.fsync(fd);
    this.countFsync(this.pathOf(fd, '?'));
  }
  override async fsyncAsync(fd: number): Promise<void> {
    const path = this.pathOf(fd, '?');
    await this.inner.fsyncAsync(fd);
    this.countFsync(path);
  }
  private countFsync(path: string): void {
    this.fsyncsByPath.set(path, (this.fsyncsByPath.get(path) ?? 0) + 1);
  }
}

/** Which operations a FaultyFileLayer fails. */
export interface FaultPlan {
  /** errno code thrown, e.g. 'ENOSPC' or 'EIO'. */
  code: string;
  write?: boolean;
  fsync?: boolean;
  truncate?: boolean;
  /** When failing a write, first write this many bytes of it (a torn write), then throw. */
  tornWriteBytes?: number;
}

/** Injects errors into an inner layer while a fault plan is set. */
export class FaultyFileLayer extends ForwardingFileLayer {
  private plan: FaultPlan | null = null;
  /** Free bytes reported instead of the real figure, when set. */
  freeBytesOverride: number | null = null;

  fail(plan: FaultPlan): void {
    this.plan = plan;
  }
  heal(): void {
    this.plan = null;
  }
  override write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    const plan = this.plan;
    if (plan?.write === true) {
      const torn = Math.min(plan.tornWriteBytes ?? 0, length);
      if (torn > 0) this.inner.write(fd, source, offset, torn, position);
      throw fsError(plan.code, 'write');
    }
    return this.inner.write(fd, source, offset, length, position);
  }
  override fsync(fd: number): void {
    if (this.plan?.fsync === true) throw fsError(this.plan.code, 'fsync');
    this.inner.fsync(fd);
  }
  override fsyncAsync(fd: number): Promise<void> {
    if (this.plan?.fsync === true) return Promise.reject(fsError(this.plan.code, 'fdatasync'));
    return this.inner.fsyncAsync(fd);
  }
  override syncDirAsync(dir: string): Promise<void> {
    if (this.plan?.fsync === true) return Promise.reject(fsError(this.plan.code, 'fsync'));
    return this.inner.syncDirAsync(dir);
  }
  override truncate(fd: number, length: number): void {
    if (this.plan?.truncate === true) throw fsError(this.plan.code, 'ftruncate');
    this.inner.truncate(fd, length);
  }
  override freeBytes(dir: string): number {
    return this.freeBytesOverride ?? this.inner.freeBytes(dir);
  }
}
