import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateName } from '../../src/metastore/names.js';
import { MetaError } from '../../src/metastore/types.js';
import { NAME_LENGTH_MAX } from '../../src/metastore/bounds.js';

const ALLOWED = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-';

function rejects(name: string): MetaError {
  try {
    validateName('stream', name);
  } catch (e) {
    assert.ok(e instanceof MetaError);
    return e;
  }
  assert.fail(`${JSON.stringify(name)} was accepted`);
}

test('names of 1 to 249 allowed characters (other than "." and "..") are accepted', () => {
  const name = fc.string({ unit: fc.constantFrom(...ALLOWED), minLength: 1, maxLength: NAME_LENGTH_MAX });
  fc.assert(
    fc.property(name, (n) => {
      fc.pre(n !== '.' && n !== '..');
      validateName('stream', n);
      validateName('namespace', n);
    }),
  );
});

test('empty, ".", "..", and over-long names are rejected with INVALID_NAME', () => {
  for (const bad of ['', '.', '..', 'a'.repeat(NAME_LENGTH_MAX + 1)]) {
    const err = rejects(bad);
    assert.equal(err.code, 'INVALID_NAME');
  }
});

test('any name containing a character outside [A-Za-z0-9._-] is rejected (no separators, no traversal)', () => {
  const bad = fc.string({ maxLength: 1 }).filter((c) => c.length === 1 && !ALLOWED.includes(c));
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...ALLOWED), maxLength: 20 }), bad, fc.string({ maxLength: 20 }), (a, c, b) => {
      assert.equal(rejects(a + c + b).code, 'INVALID_NAME');
    }),
  );
  for (const traversal of ['../etc', 'a/b', 'a\\b', '..\\x', 'x\0y', ' a', 'é', '@meta']) {
    assert.equal(rejects(traversal).code, 'INVALID_NAME');
  }
});

test('the rejection is one sentence naming the kind and the name', () => {
  assert.throws(() => validateName('namespace', 'a/b'), {
    code: 'INVALID_NAME',
    message: 'Invalid namespace name "a/b": it may only contain letters, digits, ".", "_" and "-".',
  });
});
