/**
 * Incremental frame decoder: feed it socket chunks split anywhere, pull whole
 * frames. Pull-based so its owner decides how many requests to start (the
 * in-flight bound) and stops reading the socket meanwhile.
 *
 * It never buffers more than frameBytesMax plus one chunk: the length prefix
 * is checked as soon as its 4 bytes arrive.
 */
import type { ErrorName } from './errors.js';
import {
  FLAGS_KNOWN,
  FRAME_PREFIX_BYTES,
  OFF_FLAGS,
  OFF_FRAME_LENGTH,
  OFF_HEADER_LENGTH,
  OFF_OP,
  OFF_REQUEST_ID,
  OFF_VERSION,
  bodyOffset,
  type Frame,
} from './frame.js';

export interface FrameDecoderLimits {
  frameBytesMax: number;
  headerBytesMax: number;
}

/**
 * A frame whose prefix was readable but which cannot be served. `fatal`
 * means the stream cannot be resynchronized: the owner answers and closes.
 */
export interface FrameProblem {
  problem: ErrorName;
  message: string;
  fatal: boolean;
  requestId: number;
  op: number;
  details?: unknown;
}

export type DecodeResult = { frame: Frame } | { error: FrameProblem };

export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  /** Read position inside chunks[0]. */
  private head = 0;
  private buffered = 0;
  private dead = false;
  private readonly scratch = new Uint8Array(FRAME_PREFIX_BYTES);

  constructor(private readonly limits: FrameDecoderLimits) {}

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** The length the next frame's prefix claims (unchecked), or null while its 4 length bytes are not all here: lets the owner reserve memory for a frame before reading its body. */
  get nextFrameBytes(): number | null {
    return this.dead || this.buffered < 4 ? null : this.peekU32(OFF_FRAME_LENGTH);
  }

  push(chunk: Uint8Array): void {
    if (this.dead || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole frame, a problem, or null when more bytes are needed. */
  next(): DecodeResult | null {
    if (this.dead || this.buffered < 4) return null;
    const frameLength = this.peekU32(OFF_FRAME_LENGTH);
    if (frameLength > this.limits.frameBytesMax) {
      return this.fatal('FRAME_TOO_LARGE', `frame of ${frameLength} bytes exceeds frameBytesMax ${this.limits.frameBytesMax}`, {
        frameBytes: frameLength,
        frameBytesMax: this.limits.frameBytesMax,
      });
    }
    if (frameLength < FRAME_PREFIX_BYTES) {
      return this.fatal('BAD_FRAME', `frame length ${frameLength} is below the ${FRAME_PREFIX_BYTES}-byte prefix`);
    }
    if (this.buffered < frameLength) return null;
    const bytes = this.take(frameLength);
    return this.parse(bytes);
  }

  private parse(bytes: Uint8Array): DecodeResult {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = dv.getUint8(OFF_VERSION);
    const flags = dv.getUint8(OFF_FLAGS);
    const op = dv.getUint16(OFF_OP, true);
    const requestId = dv.getUint32(OFF_REQUEST_ID, true);
    const headerLength = dv.getUint32(OFF_HEADER_LENGTH, true);
    if (headerLength > this.limits.headerBytesMax) {
      return this.skip('HEADER_TOO_LARGE', `control header of ${headerLength} bytes exceeds headerBytesMax ${this.limits.headerBytesMax}`, requestId, op, {
        headerBytes: headerLength,
        headerBytesMax: this.limits.headerBytesMax,
      });
    }
    const start = bodyOffset(headerLength);
    if (start > bytes.length) {
      return this.skip('BAD_FRAME', `control header of ${headerLength} bytes overruns the ${bytes.length}-byte frame`, requestId, op);
    }
    if ((flags & ~FLAGS_KNOWN) !== 0) {
      return this.skip('BAD_FRAME', `unknown flags 0x${flags.toString(16)}`, requestId, op);
    }
    const header = bytes.subarray(FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + headerLength);
    return { frame: { version, flags, op, requestId, header, body: bytes.subarray(start) } };
  }

  private fatal(problem: ErrorName, message: string, details?: unknown): DecodeResult {
    this.dead = true;
    const requestId = this.buffered >= FRAME_PREFIX_BYTES ? this.peekU32(OFF_REQUEST_ID) : 0;
    this.chunks = [];
    this.buffered = 0;
    return { error: { problem, message, fatal: true, requestId, op: 0, details } };
  }

  private skip(problem: ErrorName, message: string, requestId: number, op: number, details?: unknown): DecodeResult {
    return { error: { problem, message, fatal: false, requestId, op, details } };
  }

  /** Reads a u32 at a logical offset into the buffered bytes (which may span chunks). */
  private peekU32(off: number): number {
    const first = this.chunks[0]!;
    if (first.length - this.head >= off + 4) {
      const p = this.head + off;
      return (first[p]! | (first[p + 1]! << 8) | (first[p + 2]! << 16)) + first[p + 3]! * 0x100_0000;
    }
    this.copyOut(this.scratch, 0, off + 4);
    const p = off;
    const s = this.scratch;
    return (s[p]! | (s[p + 1]! << 8) | (s[p + 2]! << 16)) + s[p + 3]! * 0x100_0000;
  }

  /** Copies the first n buffered bytes into dst[at...] without consuming them. */
  private copyOut(dst: Uint8Array, at: number, n: number): void {
    let pos = at;
    let need = n;
    let start = this.head;
    for (const c of this.chunks) {
      if (need === 0) break;
      const k = Math.min(need, c.length - start);
      dst.set(c.subarray(start, start + k), pos);
      pos += k;
      need -= k;
      start = 0;
    }
  }

  /** Consumes n bytes: a view when they lie in one chunk at an 8-aligned address, else a fresh (aligned) copy. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    let out: Uint8Array;
    if (first.length - this.head >= n && (first.byteOffset + this.head) % 8 === 0) {
      out = first.subarray(this.head, this.head + n);
    } else {
      // Not zero-filled first: copyOut writes all n bytes (at least n are buffered). A fresh
      // ArrayBuffer of its own, so the frame starts at offset 0 (8-aligned).
      out = new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
      this.copyOut(out, 0, n);
    }
    this.consume(n);
    return out;
  }

  private consume(n: number): void {
    this.buffered -= n;
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.head;
      if (avail > left) {
        this.head += left;
        return;
      }
      left -= avail;
      this.chunks.shift();
      this.head = 0;
    }
  }
}
