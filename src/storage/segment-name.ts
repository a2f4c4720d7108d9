/**
 * File names inside a shard folder. A segment is named by its base sequence
 * number (the seq of its first record), zero-padded to 20 digits so that
 * lexical order is numeric order (Kafka style):
 *
 *   00000000000000000000.log     records, concatenated, nothing else
 *   00000000000000000000.index   sparse index of that segment (sparse-index.ts)
 *   checkpoint                   recovery checkpoint (checkpoint.ts)
 *   clean-shutdown               present only between a clean close() and the next open
 */
export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const CHECKPOINT_FILE = 'checkpoint';
export const CLEAN_SHUTDOWN_FILE = 'clean-shutdown';
export const SEQ_DIGITS = 20;

const LOG_NAME = /^(\d{20})\.log$/;

export function logFileName(baseSeq: number): string {
  return `${String(baseSeq).padStart(SEQ_DIGITS, '0')}${LOG_SUFFIX}`;
}

export function indexFileName(baseSeq: number): string {
  return `${String(baseSeq).padStart(SEQ_DIGITS, '0')}${INDEX_SUFFIX}`;
}

/** The base seq of a segment file name, or null when the name is not a segment. */
export function parseLogFileName(name: string): number | null {
  const m = LOG_NAME.exec(name);
  if (m === null) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

/** Base seqs of the segments among directory entries, ascending. */
export function segmentBases(names: string[]): number[] {
  const bases: number[] = [];
  for (const name of names) {
    const b = parseLogFileName(name);
    if (b !== null) bases.push(b);
  }
  return bases.sort((a, b) => a - b);
}
