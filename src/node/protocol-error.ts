/**
 * Errors the node answers with, and the mapping from the storage engine's and
 * the MetaStore's string codes to wire codes.
 */
import { FieldError } from '../protocol/fields.js';
import { ERROR_CODES, wireError, type ErrorName, type WireError } from '../protocol/errors.js';

export class ProtocolError extends Error {
  constructor(readonly errorName: ErrorName, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'ProtocolError';
  }

  toWire(): WireError {
    return wireError(this.errorName, this.message, this.details);
  }
}

/** Storage and MetaStore codes that have a wire code of the same name. */
const SAME_NAME = new Set<string>([
  'OUT_OF_RANGE',
  'RECORD_TOO_LARGE',
  'BAD_RECORD',
  'OUT_OF_ORDER_SEQUENCE',
  'CORRUPT',
  'DISK_FULL',
  'IO_ERROR',
  'SHARD_STOPPED',
  'INVALID_NAME',
  'INVALID_ARGUMENT',
  'STREAM_EXISTS',
  'UNKNOWN_STREAM',
  'META_CORRUPT',
  'NOT_READY',
  'BUSY',
  'SHARD_FAILED',
  'FENCED',
  'SEQ_GAP',
  'DIVERGED',
]);

/** Any thrown value as a wire error. */
export function toWireError(err: unknown): WireError {
  if (err instanceof ProtocolError) return err.toWire();
  if (err instanceof FieldError) return wireError('BAD_REQUEST', err.message);
  const message = err instanceof Error ? err.message : String(err);
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string') {
    if (SAME_NAME.has(code)) return wireError(code as ErrorName, message, (err as { details?: unknown }).details);
    if (code === 'CLOSED') return wireError('NOT_READY', message);
    if (code === 'WORKER_EXITED') return wireError('SHARD_RESTARTED', message);
    if (code === 'ENOSPC') return wireError('DISK_FULL', message);
  }
  return { code: ERROR_CODES.INTERNAL.code, name: 'INTERNAL', message };
}
