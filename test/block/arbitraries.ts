/**
 * fast-check generators for block tests: schemas, matching columns of values,
 * and valid encoded blocks. A helper module (not a test file).
 */
import fc from 'fast-check';
import { COLUMN_TYPES, type CellValue, type ColumnType, type Schema, encodeBlock, makeSchema } from '../../src/block/index.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Values of one type, as a decoded column's get() returns them. */
export function valueArb(type: ColumnType): fc.Arbitrary<CellValue> {
  switch (type) {
    case 'int8':
      return fc.integer({ min: -0x80, max: 0x7f });
    case 'int16':
      return fc.integer({ min: -0x8000, max: 0x7fff });
    case 'int32':
      return fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
    case 'uint8':
      return fc.integer({ min: 0, max: 0xff });
    case 'uint16':
      return fc.integer({ min: 0, max: 0xffff });
    case 'uint32':
      return fc.integer({ min: 0, max: 0xffff_ffff });
    case 'int64':
    case 'datetime64':
      return fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
    case 'uint64':
      return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    case 'float32':
      return fc.float();
    case 'float64':
      return fc.double();
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
  }
}

const nameArb = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/);

export const schemaArb: fc.Arbitrary<Schema> = fc
  .uniqueArray(fc.record({ name: nameArb, type: fc.constantFrom(...COLUMN_TYPES), nullable: fc.boolean() }), {
    minLength: 1,
    maxLength: 6,
    selector: (c) => c.name,
  })
  .map((columns) => makeSchema(columns));

export interface SchemaAndColumns {
  schema: Schema;
  rowCount: number;
  columns: Record<string, CellValue[]>;
}

/** A schema with columns of values for it (nulls only in nullable columns). */
export const schemaAndColumnsArb: fc.Arbitrary<SchemaAndColumns> = schemaArb.chain((schema) =>
  fc.nat({ max: 40 }).chain((rowCount) =>
    fc
      .tuple(
        ...schema.columns.map((c) => {
          const v = valueArb(c.type);
          return fc.array(c.nullable ? fc.option(v, { nil: null }) : v, { minLength: rowCount, maxLength: rowCount });
        }),
      )
      .map((arrays) => ({
        schema,
        rowCount,
        columns: Object.fromEntries(schema.columns.map((c, i) => [c.name, arrays[i]!])),
      })),
  ),
);

/** A valid encoded block. */
export const blockBytesArb: fc.Arbitrary<Uint8Array> = schemaAndColumnsArb.map((s) => encodeBlock(s.schema, s.columns));

/** Copies bytes to `offset` inside a fresh ArrayBuffer (to control alignment). */
export function placeAt(bytes: Uint8Array, offset: number): Uint8Array {
  const buffer = new ArrayBuffer(offset + bytes.length + 8);
  const view = new Uint8Array(buffer, offset, bytes.length);
  view.set(bytes);
  return view;
}
