/**
 * Validation of names that become folder names (DESIGN invariant 6): 1 to 249
 * characters of [A-Za-z0-9._-], and not "." or "..". No separators, no path
 * traversal, nothing the file system could interpret.
 */
import { NAME_LENGTH_MAX } from './bounds.js';
import { MetaError } from './types.js';

export type NameKind = 'namespace' | 'stream';

const NAME_CHARS = /^[A-Za-z0-9._-]+$/;

/** Why `name` is not a valid name, or null when it is. */
export function nameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'it is not a string';
  if (name.length === 0) return 'it is empty';
  if (name.length > NAME_LENGTH_MAX) return `it is ${name.length} characters long, more than the ${NAME_LENGTH_MAX} allowed`;
  if (name === '.' || name === '..') return `"${name}" is reserved`;
  if (!NAME_CHARS.test(name)) return 'it may only contain letters, digits, ".", "_" and "-"';
  return null;
}

/** Throws MetaError('INVALID_NAME') with one clear sentence when `name` is not a valid name. */
export function validateName(kind: NameKind, name: string): void {
  const problem = nameProblem(name);
  if (problem === null) return;
  const shown = typeof name === 'string' ? JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}...` : name) : String(name);
  throw new MetaError('INVALID_NAME', `Invalid ${kind} name ${shown}: ${problem}.`);
}
