/**
 * The one error type of the Raft storage on disk. `code` says what the
 * caller does about it:
 *   RAFT_DISK_CORRUPT   open found damage it must not repair (a sealed
 *                       segment, a gap, a bad snapshot): the message names
 *                       the file and byte offset; the node must not serve.
 *   RAFT_DISK_FAILED    a write, fsync, rename or unlink failed: the disk
 *                       object is dead (fsync is never retried: the kernel
 *                       may have dropped the dirty pages); every later call
 *                       throws this too. Stop the Raft group and reopen.
 *   RAFT_DISK_CONTRACT  a persist that breaks the Persist contract (gap,
 *                       falling term, entry at or below the snapshot):
 *                       nothing was written, the disk stays usable, the
 *                       caller has a bug.
 *   RAFT_DISK_TOO_LARGE a persist past a bound of raft-disk-limits.ts:
 *                       nothing was written, the disk stays usable.
 */
export type RaftDiskErrorCode = 'RAFT_DISK_CORRUPT' | 'RAFT_DISK_FAILED' | 'RAFT_DISK_CONTRACT' | 'RAFT_DISK_TOO_LARGE';

export class RaftDiskError extends Error {
  constructor(
    readonly code: RaftDiskErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RaftDiskError';
  }
}

export function corrupt(file: string, offset: number, what: string): RaftDiskError {
  return new RaftDiskError('RAFT_DISK_CORRUPT', `Raft storage is corrupt: ${file} at byte ${offset}: ${what}.`);
}
