/**
 * Bounds of one local shard on the main-thread side, with their defaults.
 * Ring bytes and in-flight requests are per-shard options (ShardHandleOptions);
 * the rest are fixed here.
 */
import { RECORD_BYTES_MAX_DEFAULT } from '../record/layout.js';
import { ringAlign, ringCapacityFor } from '../ring/ring-layout.js';
import { REQUEST_HEADER_BYTES, RESPONSE_HEADER_BYTES } from './shard-protocol.js';

/** Smallest default ring; rings grow above it to hold one record of recordBytesMax. */
export const SHARD_RING_BYTES_MIN_DEFAULT = 1024 * 1024;
/** Requests written to the inbound ring and not yet answered, per shard. */
export const SHARD_IN_FLIGHT_MAX_DEFAULT = 1024;
/** Calls waiting for an in-flight slot (or a restart) per shard; past it, calls fail with BUSY. */
export const SHARD_WAITING_MAX = 65_536;
/** Consecutive failed restarts of a dead worker before the handle gives up (state 'failed'). */
export const SHARD_RESTARTS_MAX = 5;
/** Pause before restart attempt n is n times this. */
export const SHARD_RESTART_BACKOFF_MS = 50;

/** Ring bytes needed so that one record of recordBytesMax fits in a request and in a read response. */
export function shardRingBytesNeeded(recordBytesMax: number): number {
  return ringCapacityFor(recordBytesMax + Math.max(REQUEST_HEADER_BYTES, RESPONSE_HEADER_BYTES));
}

/** The ring size a shard uses: the option if given (checked), else the default. */
export function shardRingBytes(ringBytes: number | undefined, recordBytesMax: number = RECORD_BYTES_MAX_DEFAULT): number {
  const needed = shardRingBytesNeeded(recordBytesMax);
  if (ringBytes === undefined) return Math.max(SHARD_RING_BYTES_MIN_DEFAULT, ringAlign(needed));
  if (ringBytes < needed) {
    throw new RangeError(`ringBytes ${ringBytes} is too small: a ${recordBytesMax}-byte record (recordBytesMax) needs a ring of at least ${needed} bytes`);
  }
  return ringBytes;
}
