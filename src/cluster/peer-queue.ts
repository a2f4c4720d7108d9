/**
 * The bounded outbound queue of one peer link: encoded frames waiting for the
 * socket, bounded in messages AND bytes. Past either bound `push` refuses the
 * newest frame (the caller counts it as dropped): Raft tolerates loss, and
 * the sender must never block nor grow without bound.
 */

export interface QueuedFrame {
  parts: Uint8Array[];
  bytes: number;
}

export class PeerQueue {
  private items: (QueuedFrame | undefined)[] = [];
  private head = 0;
  private bytesQueued = 0;

  constructor(
    readonly messagesMax: number,
    readonly bytesMax: number,
  ) {
    if (!Number.isSafeInteger(messagesMax) || messagesMax < 1) throw new RangeError(`queueMessagesMax must be a positive integer; got ${messagesMax}`);
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 1) throw new RangeError(`queueBytesMax must be a positive integer; got ${bytesMax}`);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.bytesQueued;
  }

  /** Appends a frame, or returns false (nothing queued) when it would pass a bound. */
  push(frame: QueuedFrame): boolean {
    if (this.length + 1 > this.messagesMax || this.bytesQueued + frame.bytes > this.bytesMax) return false;
    this.items.push(frame);
    this.bytesQueued += frame.bytes;
    return true;
  }

  peek(): QueuedFrame | undefined {
    return this.items[this.head];
  }

  shift(): QueuedFrame | undefined {
    const f = this.items[this.head];
    if (f === undefined) return undefined;
    this.items[this.head] = undefined;
    this.head++;
    this.bytesQueued -= f.bytes;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return f;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytesQueued = 0;
  }
}
