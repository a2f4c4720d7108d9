/**
 * Full value check of a decoded Block, for callers that want every value
 * proven readable before they use any (decodeBlock checks structure only;
 * string values are otherwise checked as they are read). O(bytes).
 */
import { isUtf8 } from 'node:buffer';
import { BlockError } from './block-error.js';
import type { Block } from './block.js';
import type { ColumnView } from './column-view.js';

/** Throws BlockError('bad-value') on non-monotonic string offsets, invalid UTF-8, or a bool byte other than 0/1. */
export function verifyBlockValues(block: Block): void {
  for (const column of block.columns) {
    if (column.type === 'string') verifyStrings(column);
    else if (column.type === 'bool') verifyBools(column);
  }
}

function verifyStrings(column: ColumnView): void {
  const offsets = column.values as Uint32Array;
  const bytes = column.bytes!;
  for (let i = 0; i < column.length; i++) {
    if (offsets[i]! > offsets[i + 1]!) {
      throw new BlockError('bad-value', `column "${column.name}" row ${i}: string offsets decrease (${offsets[i]} > ${offsets[i + 1]})`);
    }
  }
  if (!isUtf8(bytes)) throw new BlockError('bad-value', `column "${column.name}": its string bytes are not valid UTF-8`);
  // The whole run is valid UTF-8, so each value is too unless a boundary falls inside a character.
  for (let i = 0; i <= column.length; i++) {
    const b = bytes[offsets[i]!];
    if (b !== undefined && (b & 0xc0) === 0x80) {
      throw new BlockError('bad-value', `column "${column.name}": the string boundary before row ${i} falls inside a UTF-8 character`);
    }
  }
}

function verifyBools(column: ColumnView): void {
  const values = column.values as Uint8Array;
  for (let i = 0; i < values.length; i++) {
    if (values[i]! > 1) throw new BlockError('bad-value', `column "${column.name}" row ${i}: a bool byte is ${values[i]}, not 0 or 1`);
  }
}
