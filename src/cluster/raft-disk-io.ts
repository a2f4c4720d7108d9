/**
 * Small helpers over an injected FileLayer for the Raft storage: whole-file
 * reads, full writes, atomic durable replacement. Only a type import of
 * src/storage: the main thread never loads the storage engine at runtime,
 * the caller hands in the layer.
 */
import { join } from 'node:path';
import type { FileLayer } from '../fs/file-layer.js';

function ioError(code: string, syscall: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${syscall}`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** Writes all of bytes at position (loops over short writes). */
export function writeAll(layer: FileLayer, fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    const n = layer.write(fd, bytes, done, bytes.length - done, position + done);
    if (n <= 0) throw ioError('EIO', 'write');
    done += n;
  }
}

/** The whole content of the file at path (which must exist). */
export function readAll(layer: FileLayer, path: string): Uint8Array {
  const fd = layer.open(path, 'read');
  try {
    const size = layer.size(fd);
    const out = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = layer.read(fd, out, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return done === size ? out : out.subarray(0, done);
  } finally {
    layer.close(fd);
  }
}

/**
 * Replaces dir/name by bytes: write `name.tmp`, fsync it, rename it over
 * `name`, fsync dir. After a crash the name holds the old or the new bytes.
 */
export function replaceAtomically(layer: FileLayer, dir: string, name: string, bytes: Uint8Array): void {
  const tmp = join(dir, `${name}.tmp`);
  const fd = layer.open(tmp, 'create');
  try {
    layer.truncate(fd, 0);
    writeAll(layer, fd, bytes, 0);
    layer.fsync(fd);
  } finally {
    layer.close(fd);
  }
  layer.rename(tmp, join(dir, name));
  layer.syncDir(dir);
}
