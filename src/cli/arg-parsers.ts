/**
 * Parsers for command-line values: integers with bounds, times (epoch ms or
 * ISO-8601), and HOST:PORT. Each throws a usage error naming the flag.
 */
import { usageError } from './cli-error.js';
import { parseIsoTime } from '../block/iso-time.js';

/** An integer in [min, max]; `what` names the flag in the error. */
export function parseIntArg(what: string, text: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  const trimmed = text.trim();
  const n = /^-?\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw usageError(`${what} must be ${range}, got "${text}".`);
  }
  return n;
}

/** Epoch ms from epoch-ms digits or an ISO-8601 date/date-time (UTC when no zone is given). */
export function parseTimeArg(what: string, text: string): number {
  const trimmed = text.trim();
  if (/^-?\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    if (Number.isSafeInteger(n)) return n;
  }
  const iso = parseIsoTime(trimmed);
  if (iso === null) throw usageError(`${what} must be epoch milliseconds or an ISO-8601 time such as 2024-05-01T12:30:00Z, got "${text}".`);
  return iso;
}

export interface ServerAddress {
  host: string;
  port: number;
}

/** --server: one HOST:PORT or a comma-separated list of them (spaces around commas allowed); each is checked. */
export function parseServerList(text: string): string[] {
  const list = text.split(',').map((s) => s.trim());
  if (list.length === 0 || list.some((s) => s.length === 0)) throw usageError(`--server must be HOST:PORT or a comma-separated list of them, got "${text}".`);
  for (const s of list) parseServer(s);
  return list;
}

/** HOST:PORT (IPv6 as [::1]:PORT). */
export function parseServer(text: string): ServerAddress {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw usageError(`--server must be HOST:PORT with a port from 1 to 65535, got "${text}".`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
