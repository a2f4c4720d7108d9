/**
 * The append-only command log file (<data-dir>/@meta/commands.log). open()
 * reads every whole entry and truncates a torn tail; append() writes one
 * framed entry at the end and fsyncs before it resolves.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { decodeEntry, encodeEntry, type LogEntry } from './command-codec.js';
import { frame, scanFrames } from './frame.js';

export interface OpenedLog {
  log: CommandLog;
  entries: LogEntry[];
  /** Bytes of a torn tail that open() cut off (0 after a clean shutdown). */
  droppedBytes: number;
}

async function readIfExists(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Uint8Array(0);
    throw e;
  }
}

export class CommandLog {
  private constructor(
    private readonly handle: FileHandle,
    private size: number,
  ) {}

  static async open(path: string): Promise<OpenedLog> {
    const bytes = await readIfExists(path);
    const scan = scanFrames(bytes);
    const entries = scan.payloads.map((p) => decodeEntry(p.bytes, `byte ${p.offset} of ${path}`));
    const handle = await open(path, bytes.length === 0 ? 'w+' : 'r+');
    const droppedBytes = bytes.length - scan.validBytes;
    if (droppedBytes > 0) {
      await handle.truncate(scan.validBytes);
    }
    await handle.sync();
    return { log: new CommandLog(handle, scan.validBytes), entries, droppedBytes };
  }

  /** Bytes of whole entries in the file. */
  get bytes(): number {
    return this.size;
  }

  /** Appends one entry durably. On failure the file is cut back to its last whole entry. */
  async append(entry: LogEntry): Promise<void> {
    const framed = frame(encodeEntry(entry));
    try {
      await this.handle.write(framed, 0, framed.length, this.size);
      await this.handle.datasync();
    } catch (e) {
      await this.handle.truncate(this.size).catch(() => undefined);
      throw e;
    }
    this.size += framed.length;
  }

  /** Drops every entry (they are covered by a durable snapshot). */
  async clear(): Promise<void> {
    await this.handle.truncate(0);
    await this.handle.sync();
    this.size = 0;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
