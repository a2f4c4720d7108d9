import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MetaStore } from '../../src/metastore/meta-store.js';

const writer = join(dirname(fileURLToPath(import.meta.url)), 'meta-writer.js');

/** Runs the writer until it has acked `acks` lines, kills it with SIGKILL, returns the acked lines. */
function runAndKill(dir: string, acks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      if (!killed && buf.split('\n').length > acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', () => resolve(buf.split('\n').filter((l) => l.length > 0)));
  });
}

test('after kill -9 at arbitrary points, every acknowledged create and delete is there on reopen', async () => {
  for (let round = 0; round < 4; round++) {
    const dir = mkdtempSync(join(tmpdir(), 'nl-meta-crash-'));
    const acked = await runAndKill(dir, 20 + round * 17);
    const mustExist = new Set<string>();
    const mustNotExist = new Set<string>();
    for (const line of acked) {
      if (line.startsWith('?')) mustExist.delete(line.slice(1)); // delete in flight: outcome unknown
      else if (line.startsWith('-')) mustNotExist.add(line.slice(1));
      else mustExist.add(line);
    }
    const store = await MetaStore.open(dir);
    const names = new Set(store.listStreams().map((s) => s.name));
    await store.close();
    for (const n of mustExist) assert.ok(names.has(n), `round ${round}: acked create ${n} lost`);
    for (const n of mustNotExist) assert.ok(!names.has(n), `round ${round}: acked delete of ${n} undone`);
    rmSync(dir, { recursive: true, force: true });
  }
});
