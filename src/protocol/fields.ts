/**
 * Checked reads of control-header fields. A control header comes from the
 * network: every field is type- and range-checked before use, and a failure
 * names the field (it becomes a BAD_REQUEST error).
 */

export class FieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldError';
  }
}

export type Fields = Record<string, unknown>;

export function asFields(value: unknown): Fields {
  if (typeof value !== 'object' || value === null) throw new FieldError('the control header is not a map');
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw new FieldError('the control header is not a map');
  return value as Fields;
}

export function str(h: Fields, key: string, maxLength = 4096): string {
  const v = h[key];
  if (typeof v !== 'string') throw new FieldError(`field "${key}" must be a string`);
  if (v.length > maxLength) throw new FieldError(`field "${key}" is longer than ${maxLength} characters`);
  return v;
}

export function optStr(h: Fields, key: string, fallback: string, maxLength = 4096): string {
  return h[key] === undefined || h[key] === null ? fallback : str(h, key, maxLength);
}

export function int(h: Fields, key: string, min: number, max: number): number {
  const v = h[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new FieldError(`field "${key}" must be an integer`);
  if (v < min || v > max) throw new FieldError(`field "${key}" is ${v}; it must be in [${min}, ${max}]`);
  return v;
}

export function optInt(h: Fields, key: string, min: number, max: number): number | undefined {
  return h[key] === undefined ? undefined : int(h, key, min, max);
}

/** An optional integer where null is a meaningful value (e.g. retention "keep forever"). */
export function optNullableInt(h: Fields, key: string, min: number, max: number): number | null | undefined {
  if (h[key] === null) return null;
  return optInt(h, key, min, max);
}

export function optNullableStr(h: Fields, key: string, maxLength: number): string | null | undefined {
  const v = h[key];
  if (v === undefined || v === null) return v;
  return str(h, key, maxLength);
}

export function oneOf<T extends string>(h: Fields, key: string, allowed: readonly T[]): T {
  const v = h[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new FieldError(`field "${key}" must be one of ${allowed.join(', ')}`);
  }
  return v as T;
}

export function arr(h: Fields, key: string, maxLength: number): unknown[] {
  const v = h[key];
  if (!Array.isArray(v)) throw new FieldError(`field "${key}" must be an array`);
  if (v.length > maxLength) throw new FieldError(`field "${key}" has ${v.length} entries; at most ${maxLength} are allowed`);
  return v;
}
