/**
 * Buffered output to stdout with backpressure: small writes are gathered
 * into chunks, and a full pipe makes the writer wait ('drain') instead of
 * buffering without bound. A closed pipe (consume | head) ends quietly.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Bytes gathered before a write to the stream. */
export const OUTPUT_CHUNK_BYTES = 64 * 1024;

export class Output {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly stream: Writable) {}

  /** Adds bytes; resolves at once unless a chunk was written and the stream is full. */
  async write(data: string | Uint8Array): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.parts.push(buf);
    this.size += buf.length;
    if (this.size >= OUTPUT_CHUNK_BYTES) await this.flush();
  }

  async line(text: string): Promise<void> {
    await this.write(`${text}\n`);
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }
}

/** Exits 0 quietly when the reader of stdout goes away (EPIPE). */
export function exitQuietlyOnClosedPipe(stream: Writable): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}
