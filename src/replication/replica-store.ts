/**
 * What replication needs of a local shard (the ShardHandle, src/shard): the
 * storage side of docs/REPLICATION.md. Kept as an interface here so the
 * replication code and its tests depend on the contract, not the worker.
 */
import type { AppendResult, ReadResult } from '../shard/types.js';

export interface StampedAppendResult {
  firstSeq: number;
  lastSeq: number;
  count: number;
  /** Records of the batch the store already held (a resend's overlap) and skipped. */
  skipped: number;
  appendTime: number;
}

export interface FenceResult {
  /** The seq after the store's last record. */
  endSeq: number;
  /** The epoch of the store's last record (0: none). */
  lastEpoch: number;
  fenceEpoch: number;
}

export interface ReplicaStore {
  append(records: Uint8Array, opts?: { returnStamped?: boolean }): Promise<AppendResult & { stamped?: Uint8Array }>;
  /** Pre-stamped records as they are; FENCED (writer epoch below the fence), SEQ_GAP (details.endSeq), DIVERGED. */
  appendStamped(records: Uint8Array, firstSeq: number, epoch: number): Promise<StampedAppendResult>;
  read(fromSeq: number, maxBytes: number, endSeqMax?: number): Promise<ReadResult>;
  fence(epoch: number): Promise<FenceResult>;
  truncateTo(seq: number): Promise<void>;
  setEpoch(epoch: number): Promise<void>;
}

/** The replica's end carried by a SEQ_GAP error, or null. */
export function gapEndSeq(e: unknown): number | null {
  const d = (e as { details?: { endSeq?: unknown }; endSeq?: unknown }) ?? {};
  const v = d.details?.endSeq ?? d.endSeq;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

export function errorCodeOf(e: unknown): string {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'string' ? c : 'IO_ERROR';
}
