/**
 * Buffered output to stdout with backpressure: writes are copied into a
 * chunk of OUTPUT_CHUNK_BYTES, and a full pipe makes the writer wait
 * ('drain') instead of buffering without bound. write() returns a promise
 * only when the caller must wait, so the per-record path allocates nothing.
 * A closed pipe (consume | head) ends quietly.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Bytes gathered before a write to the stream. */
export const OUTPUT_CHUNK_BYTES = 64 * 1024;

export class Output {
  private buf = Buffer.allocUnsafe(OUTPUT_CHUNK_BYTES);
  private used = 0;

  constructor(private readonly stream: Writable) {}

  /** Adds bytes; returns a promise only when the stream is full and the caller should wait for it. */
  write(data: Uint8Array | string): Promise<void> | undefined {
    const worst = typeof data === 'string' ? data.length * 3 : data.length;
    if (worst <= this.buf.length - this.used) {
      this.used += typeof data === 'string' ? this.buf.write(data, this.used) : copyInto(this.buf, data, this.used);
      return undefined;
    }
    return this.flush().then(() => {
      if (worst >= this.buf.length) return this.push(typeof data === 'string' ? Buffer.from(data) : data);
      this.write(data);
      return undefined;
    });
  }

  line(text: string): Promise<void> | undefined {
    return this.write(`${text}\n`);
  }

  /** Writes what is gathered; resolves once the stream can take more. */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(OUTPUT_CHUNK_BYTES);
    this.used = 0;
    await this.push(chunk);
  }

  private async push(chunk: Uint8Array): Promise<void> {
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }
}

function copyInto(target: Buffer, data: Uint8Array, at: number): number {
  target.set(data, at);
  return data.length;
}

/** Exits 0 quietly when the reader of stdout goes away (EPIPE). */
export function exitQuietlyOnClosedPipe(stream: Writable): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}
