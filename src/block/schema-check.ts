/**
 * Checks that a decoded Block has exactly a schema's columns: the same names,
 * types and nullability, in the same order. The producer runs it before it
 * sends a block to a stream; a consumer may run it on what it reads.
 */
import { SchemaError } from './block-error.js';
import type { Block } from './block.js';
import { type Schema, schemaToString } from './schema.js';

/** Throws SchemaError naming the first difference. */
export function validateBlock(block: Block, schema: Schema): void {
  const got = block.columns;
  const want = schema.columns;
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (w === undefined) throw new SchemaError(`block has an extra column ${i + 1} "${g!.name}" not in the schema (${schemaToString(schema)})`);
    if (g === undefined) throw new SchemaError(`block lacks column ${i + 1} "${w.name}" of the schema (${schemaToString(schema)})`);
    if (g.name !== w.name) throw new SchemaError(`block column ${i + 1} is "${g.name}"; the schema says "${w.name}"`);
    if (g.type !== w.type || g.nullable !== w.nullable) {
      throw new SchemaError(`block column "${g.name}" is ${typeText(g.type, g.nullable)}; the schema says ${typeText(w.type, w.nullable)}`);
    }
  }
}

function typeText(type: string, nullable: boolean): string {
  return nullable ? `nullable(${type})` : type;
}
