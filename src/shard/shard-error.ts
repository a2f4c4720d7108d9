import type { StorageErrorCode } from '../storage/types.js';

/**
 * Codes a ShardHandle rejects with: every storage code (passed through from
 * the worker unchanged) plus the handle's own.
 */
export type ShardErrorCode =
  | StorageErrorCode
  | 'WORKER_EXITED' // the shard worker died with this request in flight; it is being restarted
  | 'BAD_REQUEST' // the worker met a request it cannot parse (a bug, never a client's input)
  | 'BUSY' // more than SHARD_WAITING_MAX calls are waiting for an in-flight slot
  | 'SHARD_FAILED'; // the worker could not be restarted (SHARD_RESTARTS_MAX): every call of the handle rejects

/** The error every ShardHandle call rejects with; `code` is stable for wire mapping. */
export class ShardError extends Error {
  constructor(
    readonly code: ShardErrorCode,
    message: string,
    /** SEQ_GAP: the replica's endSeq, where the sequencer resends from. */
    readonly details?: { endSeq?: number },
  ) {
    super(message);
    this.name = 'ShardError';
  }
}

const KNOWN_CODES: ReadonlySet<string> = new Set<ShardErrorCode>([
  'OUT_OF_RANGE',
  'BAD_RECORD',
  'RECORD_TOO_LARGE',
  'DISK_FULL',
  'IO_ERROR',
  'OUT_OF_ORDER_SEQUENCE',
  'CORRUPT',
  'SHARD_STOPPED',
  'CLOSED',
  'WORKER_EXITED',
  'BAD_REQUEST',
  'BUSY',
  'SHARD_FAILED',
  'FENCED',
  'SEQ_GAP',
  'DIVERGED',
]);

/**
 * The code a ShardError carries for any thrown value: a known storage or
 * shard code as is; ENOSPC as DISK_FULL; anything else (raw fs codes such as
 * ENOTDIR, or none) as IO_ERROR, so callers only ever see codes they can map.
 */
export function shardErrorCode(code: unknown): ShardErrorCode {
  if (typeof code === 'string' && KNOWN_CODES.has(code)) return code as ShardErrorCode;
  if (code === 'ENOSPC') return 'DISK_FULL';
  return 'IO_ERROR';
}
