/**
 * Building NativeLogError values from wire errors and client-side failures.
 */
import { ERROR_CODES, errorInfoByCode, type ErrorName, type WireError } from '../protocol/errors.js';
import { NativeLogError } from './types.js';

export function clientError(name: ErrorName, message: string, details?: unknown): NativeLogError {
  return new NativeLogError(ERROR_CODES[name].code, name, message, details);
}

export function fromWire(e: WireError): NativeLogError {
  const known = errorInfoByCode(e.code);
  return new NativeLogError(e.code, known?.name ?? e.name, e.message, e.details);
}

/** True when the same request may succeed if sent again (nothing was done, or it is idempotent). */
export function isRetriable(err: unknown): boolean {
  return err instanceof NativeLogError && errorInfoByCode(err.code)?.retriable === true;
}

export function asWireError(value: unknown): WireError | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['code'] !== 'number' || typeof v['message'] !== 'string') return undefined;
  return { code: v['code'], name: typeof v['name'] === 'string' ? v['name'] : 'UNKNOWN', message: v['message'], details: v['details'] };
}
