/**
 * A small tmpfs mounted by the test (needs root), so the data dir can really
 * fill up. When mounting is impossible the caller is told why; the full-disk
 * test then fails when process.env.CI is set and is skipped (saying so)
 * otherwise: it never passes without having run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, statfsSync } from 'node:fs';

export type Mount = { ok: true; dir: string; unmount: () => void } | { ok: false; reason: string };

export function mountTmpfs(dir: string, sizeBytes: number): Mount {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error?.message ?? (r.stderr.trim() || `mount exited ${r.status}`);
    try {
      rmdirSync(dir);
    } catch {
      // leave it
    }
    return { ok: false, reason: `cannot mount a ${sizeBytes}-byte tmpfs at ${dir} (uid ${process.getuid?.() ?? '?'}): ${why}` };
  }
  return {
    ok: true,
    dir,
    unmount: () => {
      const u = spawnSync('umount', [dir], { encoding: 'utf8' });
      if (u.status !== 0) {
        // a process still holds it: lazy unmount so the mount never outlives the test
        spawnSync('umount', ['-l', dir], { encoding: 'utf8' });
      }
      try {
        rmdirSync(dir);
      } catch {
        // leave it
      }
    },
  };
}

/** Bytes available on the file system holding dir. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
