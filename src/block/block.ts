/**
 * A decoded Block: a row count and named columns, each a ColumnView over the
 * block's bytes. Made by decodeBlock; holds no copy of the data unless the
 * given bytes were misaligned (then `copied` is true).
 */
import { SchemaError } from './block-error.js';
import type { ColumnType } from './column-type.js';
import type { ColumnView } from './column-view.js';
import { type Schema, makeSchema } from './schema.js';

export class Block {
  private readonly byName: ReadonlyMap<string, ColumnView>;

  constructor(
    readonly rowCount: number,
    readonly columns: readonly ColumnView[],
    /** The block's bytes: a view of what was given to decodeBlock, or the aligned copy. */
    readonly bytes: Uint8Array,
    /** True when decodeBlock had to copy the bytes once because they were not 8-byte aligned. */
    readonly copied: boolean,
  ) {
    this.byName = new Map(columns.map((c) => [c.name, c]));
  }

  /** The column named `name`, or undefined. */
  column(name: string): ColumnView | undefined {
    return this.byName.get(name);
  }

  /** The column named `name`, which must have `type`: its `values` are then typed (e.g. Float64Array for float64). */
  columnOf<T extends ColumnType>(name: string, type: T): ColumnView<T> {
    const c = this.byName.get(name);
    if (c === undefined) throw new SchemaError(`the block has no column "${name}"`);
    if (c.type !== type) throw new SchemaError(`column "${name}" is ${c.type}, not ${type}`);
    return c as ColumnView<T>;
  }

  /** The block's columns as a schema (names, types, nullability, in order). */
  get schema(): Schema {
    return makeSchema(this.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })));
  }
}
