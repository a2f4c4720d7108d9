/**
 * docs/CLIENT.md's examples run: every ```js block is written as an .mjs file
 * inside the package (so `import ... from 'nativelog'` resolves to this
 * package's root by self-reference), run against a real node, and its stdout
 * must equal the ```text block that follows it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDataDir, removeDataDir, startNodeProcess, type NodeProcess } from '../client/node-process.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/test/client-block
const docPath = join(here, '..', '..', '..', 'docs', 'CLIENT.md');

interface Example {
  line: number;
  code: string;
  output: string | null;
}

/** The ```js blocks of a Markdown text, each with the ```text block right after it (if any). */
export function examples(markdown: string): Example[] {
  const fence = /^```(\w*)\n([\s\S]*?)^```\s*$/gm;
  const blocks: { lang: string; body: string; start: number; end: number }[] = [];
  for (let m = fence.exec(markdown); m !== null; m = fence.exec(markdown)) {
    blocks.push({ lang: m[1]!, body: m[2]!, start: m.index, end: m.index + m[0].length });
  }
  const out: Example[] = [];
  blocks.forEach((b, i) => {
    if (b.lang !== 'js') return;
    const next = blocks[i + 1];
    const adjacent = next !== undefined && next.lang === 'text' && markdown.slice(b.end, next.start).trim() === '';
    out.push({ line: markdown.slice(0, b.start).split('\n').length, code: b.body, output: adjacent ? next.body : null });
  });
  return out;
}

let node: NodeProcess;
let tmp: string;

before(async () => {
  node = await startNodeProcess(await makeDataDir());
  tmp = await mkdtemp(join(here, 'doc-examples-'));
});

after(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  if (node !== undefined) {
    assert.equal(await node.stop(), 0);
    await removeDataDir(node.dataDir);
  }
});

function run(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [file], { env: { ...process.env, NATIVELOG_SERVER: node.address }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('every js example in docs/CLIENT.md runs against a real node and prints what the page says', { timeout: 60_000 }, async () => {
  const found = examples(await readFile(docPath, 'utf8'));
  assert.ok(found.length >= 4, `docs/CLIENT.md has ${found.length} js examples`);
  for (const ex of found) {
    const file = join(tmp, `example-line-${ex.line}.mjs`);
    await writeFile(file, ex.code);
    const r = await run(file);
    assert.equal(r.code, 0, `the example at docs/CLIENT.md line ${ex.line} failed: ${r.stderr}`);
    assert.ok(ex.output !== null, `the example at line ${ex.line} has no text block with its output`);
    assert.equal(r.stdout, ex.output, `output of the example at docs/CLIENT.md line ${ex.line}`);
  }
});
