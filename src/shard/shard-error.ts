import type { StorageErrorCode } from '../storage/types.js';

/**
 * Codes a ShardHandle rejects with: every storage code (passed through from
 * the worker unchanged) plus the handle's own.
 */
export type ShardErrorCode =
  | StorageErrorCode
  | 'WORKER_EXITED' // the shard worker died with this request in flight; it is being restarted
  | 'BAD_REQUEST' // the worker met a request it cannot parse (a bug, never a client's input)
  | 'BUSY'; // more than SHARD_WAITING_MAX calls are waiting for an in-flight slot

/** The error every ShardHandle call rejects with; `code` is stable for wire mapping. */
export class ShardError extends Error {
  constructor(readonly code: ShardErrorCode | string, message: string) {
    super(message);
    this.name = 'ShardError';
  }
}
