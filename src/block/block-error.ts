/**
 * Errors of the block package. Each carries a stable `problem` code that
 * tests and callers can match on; the message is one clear sentence.
 */

/** Why bytes are not a valid Block. */
export type BlockProblem =
  | 'short' // fewer bytes than the header or directory needs
  | 'bad-magic'
  | 'bad-version'
  | 'bad-flags'
  | 'bad-length' // byteLength disagrees with the bytes given, or is not a multiple of 8
  | 'too-large' // a bound (rows, columns, bytes, name length) is exceeded
  | 'bad-column' // a directory entry is malformed (type, flags, reserved, name)
  | 'bad-section' // a section is out of bounds, misaligned or of the wrong length
  | 'bad-value'; // a value is malformed (string offsets, UTF-8, bool byte)

export class BlockError extends Error {
  constructor(
    readonly problem: BlockProblem,
    message: string,
  ) {
    super(message);
    this.name = 'BlockError';
  }
}

/** Why a schema text does not parse, or a block does not match a schema. */
export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

/** A value that cannot go into a column; `row` is 1-based (a line number when the caller says so). */
export class RowError extends Error {
  constructor(
    readonly row: number,
    readonly column: string | null,
    reason: string,
  ) {
    super(column === null ? `row ${row}: ${reason}` : `row ${row}, column "${column}": ${reason}`);
    this.name = 'RowError';
  }
}
