/**
 * File-system steps that make MetaStore writes survive a crash: fsync of a
 * directory (so a create, rename or truncate is on disk), and atomic file
 * replacement (write temp, fsync, rename, fsync dir).
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsyncs a directory so entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `dir` and any missing parents, fsyncing the parent of every folder it created. */
export async function ensureDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let p = dir; ; p = dirname(p)) {
    await fsyncDir(dirname(p));
    if (p === first || dirname(p) === p) break;
  }
}

/** Replaces `path` with `bytes` atomically: after a crash it holds either the old or the new bytes. */
export async function replaceFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Removes a leftover temp file of replaceFileAtomically (a crash before its rename). */
export async function removeLeftoverTemp(path: string): Promise<void> {
  await rm(`${path}.tmp`, { force: true });
}
