import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readLines } from '../../src/cli/line-source.js';

async function collect(chunks: Uint8Array[], max?: number): Promise<string[]> {
  const out: string[] = [];
  async function* src() {
    yield* chunks;
  }
  for await (const batch of readLines(src(), max)) for (const l of batch) out.push(l.toString('latin1'));
  return out;
}

test('lines are the bytes between newlines, however the input is split into chunks', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\n', '\r', '\u00ff') }), { maxLength: 10 }), async (parts) => {
      const text = parts.join('');
      const expected = text.split('\n');
      if (expected[expected.length - 1] === '') expected.pop();
      const bytes = Buffer.from(text, 'latin1');
      const cut = Math.floor(bytes.length / 2);
      assert.deepEqual(await collect([bytes.subarray(0, cut), bytes.subarray(cut)]), expected);
      assert.deepEqual(await collect([...bytes].map((b) => Uint8Array.of(b))), expected);
    }),
  );
});

test('a line longer than the bound fails with its line number', async () => {
  await assert.rejects(collect([Buffer.from('ok\n' + 'x'.repeat(11) + '\n')], 10), /Input line 2 is 11 bytes, more than the 10 allowed/);
  await assert.rejects(collect([Buffer.from('x'.repeat(11))], 10), /Input line 1 is longer than the 10 bytes allowed/);
});
