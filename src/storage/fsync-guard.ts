/**
 * The file layer a ShardStore works through: it turns the first failed fsync
 * (of a file or a directory, inline or on the thread pool, whatever the
 * store was doing) into the store's terminal stopped state, and from then on
 * refuses every call but close().
 *
 * Why an fsync failure is terminal (docs/FORMAT.md section 8): on Linux a
 * failed fsync may already have dropped the dirty pages it could not write
 * back (or kept them clean in the page cache without being on disk), and it
 * reports the error once: a later fsync of the same file "succeeds" without
 * writing those bytes again (PostgreSQL's "fsyncgate", 2018). Retrying on the
 * same data would ack bytes that are not on disk; reading them would serve
 * bytes that a power loss takes away. So the store stops at once: no further
 * write, fsync or read goes through this layer, every caller gets
 * SHARD_STOPPED, and the owner reopens the shard through recovery from what
 * is durable (ShardStore.reopen), which first cuts away everything past the
 * last successful fsync.
 *
 * Enforcing this here, under the store, rather than at each of the store's
 * call sites means that no code path (a seal job, a retention checkpoint, a
 * background fsync completing later) can touch the files after the failure.
 */
import { PathTrackingFileLayer, type FileLayer, type OpenMode } from './file-layer.js';
import { StorageError } from './types.js';

export class FsyncGuardLayer extends PathTrackingFileLayer {
  /** Set by the first failed fsync (or a violated durability invariant): what every later call throws. */
  stopError: StorageError | null = null;
  /** What failed, for logs: "fsync of <path> failed (EIO: ...)". */
  stopReason = '';
  /** The descriptor whose fsync failed (-1: a directory's, or an invariant). */
  private stopFd = -1;

  constructor(inner: FileLayer) {
    super(inner);
  }

  /** The layer underneath (recovery after a stop works on it directly). */
  get raw(): FileLayer {
    return this.inner;
  }

  /**
   * Enters the stopped state (idempotent: the first cause wins) and returns
   * the error to throw. `what` names the operation that failed.
   */
  stop(what: string, cause: unknown, fd = -1): StorageError {
    if (this.stopError === null) {
      this.stopFd = fd;
      const why = cause instanceof Error ? cause.message : String(cause);
      this.stopReason = `${what} failed (${why})`;
      this.stopError = new StorageError(
        'SHARD_STOPPED',
        `${this.stopReason}, so the shard stopped and is reopening from what is durable (an fsync error is never retried); this request was not acked`,
      );
    }
    return this.stopError;
  }

  /**
   * Whether an fsync of fd that succeeded counts as covering what was written
   * before it. Linux (since 4.13, errseq_t) reports a writeback error once to
   * every open file description that was open when it happened, so a success
   * on a description means no writeback error since it was opened: that
   * holds even when the success is seen after another description's failure
   * (background fsyncs use descriptors of their own for this reason). Only
   * the description that already reported the failure cannot be trusted
   * again.
   */
  fsyncCounts(fd: number): boolean {
    return this.stopError === null || fd !== this.stopFd;
  }

  private check(): void {
    if (this.stopError !== null) throw this.stopError;
  }

  override open(path: string, mode: OpenMode): number {
    this.check();
    return super.open(path, mode);
  }
  override read(fd: number, target: Uint8Array, offset: number, length: number, position: number): number {
    this.check();
    return this.inner.read(fd, target, offset, length, position);
  }
  override write(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
    this.check();
    return this.inner.write(fd, source, offset, length, position);
  }
  override fsync(fd: number): void {
    this.check();
    try {
      this.inner.fsync(fd);
    } catch (e) {
      throw this.stop(`fsync of ${this.pathOf(fd)}`, e, fd);
    }
  }
  override fsyncAsync(fd: number): Promise<void> {
    if (this.stopError !== null) return Promise.reject(this.stopError);
    const path = this.pathOf(fd);
    return this.inner.fsyncAsync(fd).catch((e: unknown) => {
      throw this.stop(`background fsync of ${path}`, e, fd);
    });
  }
  override truncate(fd: number, length: number): void {
    this.check();
    this.inner.truncate(fd, length);
  }
  override size(fd: number): number {
    this.check();
    return this.inner.size(fd);
  }
  override readdir(dir: string): string[] {
    this.check();
    return this.inner.readdir(dir);
  }
  override mkdirp(dir: string): void {
    this.check();
    this.inner.mkdirp(dir);
  }
  override exists(path: string): boolean {
    this.check();
    return this.inner.exists(path);
  }
  override unlink(path: string): void {
    this.check();
    this.inner.unlink(path);
  }
  override rename(from: string, to: string): void {
    this.check();
    this.inner.rename(from, to);
  }
  override syncDir(dir: string): void {
    this.check();
    try {
      this.inner.syncDir(dir);
    } catch (e) {
      throw this.stop(`fsync of directory ${dir}`, e);
    }
  }
  override syncDirAsync(dir: string): Promise<void> {
    if (this.stopError !== null) return Promise.reject(this.stopError);
    return this.inner.syncDirAsync(dir).catch((e: unknown) => {
      throw this.stop(`background fsync of directory ${dir}`, e);
    });
  }
  override freeBytes(dir: string): number {
    this.check();
    return this.inner.freeBytes(dir);
  }
}
