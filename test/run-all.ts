/**
 * Runs every compiled test file (dist/test/**\/*.test.js) with node's built-in
 * test runner. Node 20's `--test` takes no globs, and given a directory it would
 * also run helper modules as tests, so the file list is built here.
 *
 *   npm test                 all tests
 *   npm test -- ring storage only files whose path contains "ring" or "storage"
 */
import { readdirSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const testDir = dirname(fileURLToPath(import.meta.url));

function collect(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) collect(full, out);
    else if (name.endsWith('.test.js')) out.push(full);
  }
}

const filters = process.argv.slice(2);
const files: string[] = [];
collect(testDir, files);
const chosen = files.filter((f) => filters.length === 0 || filters.some((w) => relative(testDir, f).includes(w)));
if (chosen.length === 0) {
  console.error(`no test files match ${JSON.stringify(filters)} under ${testDir}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...chosen], { stdio: 'inherit' });
process.exit(result.status ?? 1);
