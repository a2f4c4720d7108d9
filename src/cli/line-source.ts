/**
 * Lines from a byte stream (stdin), as they arrive: a batch of lines per
 * chunk read, each line's bytes without its "\n". Streams endless input
 * (tail -f); a last line without "\n" still counts. Lines are bounded.
 * Lines are views over the chunks read (no copy): stream chunks are fresh
 * allocations that are never written again.
 */
import { usageError } from './cli-error.js';

/** Longest input line accepted (it becomes one record's payload). */
export const LINE_BYTES_MAX = 8 * 1024 * 1024;

const NEWLINE = 0x0a;

export async function* readLines(input: AsyncIterable<Uint8Array | string>, lineBytesMax = LINE_BYTES_MAX): AsyncGenerator<Buffer[]> {
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let lineNo = 0;
  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const batch: Buffer[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      const line = partialBytes === 0 ? piece : Buffer.concat([...partial, piece]);
      partial = [];
      partialBytes = 0;
      lineNo += 1;
      if (line.length > lineBytesMax) throw usageError(`Input line ${lineNo} is ${line.length} bytes, more than the ${lineBytesMax} allowed.`);
      batch.push(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      partial.push(chunk.subarray(start));
      partialBytes += chunk.length - start;
      if (partialBytes > lineBytesMax) throw usageError(`Input line ${lineNo + 1} is longer than the ${lineBytesMax} bytes allowed.`);
    }
    if (batch.length > 0) yield batch;
  }
  if (partialBytes > 0) yield [Buffer.concat(partial)];
}
