/**
 * The stand-in for a shard that could not be opened: every data call rejects
 * with SHARD_FAILED naming the reason, so the router, the handlers and
 * describeStream treat it like any shard while the stream's other shards
 * keep serving. It holds no files and no worker; the node tries the shard
 * again at its next start (or when the stream is re-created).
 */
import type { AppendResult, FenceResult, ReadResult, ShardDescription, ShardHandleApi, StampedAppendResult } from '../shard/types.js';
import { ProtocolError } from './protocol-error.js';

export class FailedShard implements ShardHandleApi {
  constructor(readonly failedReason: string) {}

  private refuse(): Promise<never> {
    return Promise.reject(new ProtocolError('SHARD_FAILED', this.failedReason));
  }

  append(): Promise<AppendResult> {
    return this.refuse();
  }
  read(): Promise<ReadResult> {
    return this.refuse();
  }
  appendStamped(): Promise<StampedAppendResult> {
    return this.refuse();
  }
  fence(): Promise<FenceResult> {
    return this.refuse();
  }
  truncateTo(): Promise<number> {
    return this.refuse();
  }
  setEpoch(): Promise<void> {
    return this.refuse();
  }
  seqForAppendTime(): Promise<number> {
    return this.refuse();
  }
  seqForEventTime(): Promise<number> {
    return this.refuse();
  }
  describe(): Promise<ShardDescription> {
    return this.refuse();
  }
  setRetention(): Promise<void> {
    return this.refuse();
  }
  onAppend(): () => void {
    return () => undefined;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  destroy(): Promise<void> {
    return Promise.resolve();
  }
}
