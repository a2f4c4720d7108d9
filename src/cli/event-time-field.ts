/**
 * produce --event-time-field F: the line is a JSON object and F (epoch ms or
 * ISO-8601) is the record's event time.
 */
import { parseIsoTime } from '../block/iso-time.js';
import { CliError } from './cli-error.js';

export function eventTimeOf(line: Buffer, field: string, lineNo: number): number {
  let obj: unknown;
  try {
    obj = JSON.parse(line.toString('utf8'));
  } catch {
    throw new CliError(`Line ${lineNo} is not valid JSON, so its event time field "${field}" cannot be read.`);
  }
  const v = typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)[field] : undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string') {
    const t = /^-?\d+$/.test(v) ? Number(v) : parseIsoTime(v);
    if (t !== null && Number.isSafeInteger(t)) return t;
  }
  throw new CliError(`Line ${lineNo} has no usable event time in field "${field}" (expected epoch ms or ISO-8601, got ${JSON.stringify(v)}).`);
}
