/**
 * Resolving a node's settings for `nativelog start` from four sources, in
 * this precedence: flags > --config JSON file > NATIVELOG_* environment
 * variables > defaults. Every setting, its flag, env name and default come
 * from CONFIG_ENTRIES (src/node/config.ts).
 */
import { readFile } from 'node:fs/promises';
import type { ConfigEntry, NodeConfig } from '../node/config.js';
import { usageError } from './cli-error.js';

/** Largest --config file read. */
export const CONFIG_FILE_BYTES_MAX = 1024 * 1024;

export interface ConfigSources {
  /** Flag values as given on the command line, by NodeConfig key (absent = not given). */
  flags: Partial<Record<keyof NodeConfig, string>>;
  /** The parsed --config file, if any. */
  file?: Record<string, unknown>;
  env: Record<string, string | undefined>;
}

/** dataDir -> NATIVELOG_DATA_DIR */
export function envName(key: string): string {
  return `NATIVELOG_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** A setting's value from text (flags, env) or from JSON (the config file: numbers must be JSON numbers). */
function coerce(entry: ConfigEntry, raw: unknown, source: string, fromJson = false): string | number {
  if (typeof entry.default === 'number') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && !fromJson && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < 0) {
      throw usageError(`${source} must be a non-negative integer, got ${JSON.stringify(raw)}.`);
    }
    return n;
  }
  if (typeof raw !== 'string') throw usageError(`${source} must be a string, got ${JSON.stringify(raw)}.`);
  return raw;
}

function checkFileKeys(entries: readonly ConfigEntry[], file: Record<string, unknown>): void {
  const known = new Set<string>(entries.map((e) => e.key));
  for (const key of Object.keys(file)) {
    if (!known.has(key)) {
      throw usageError(`The config file has an unknown setting "${key}"; known settings are ${[...known].join(', ')}.`);
    }
  }
}

/** The NodeConfig from all sources; throws a usage error naming the source of any bad value. */
export function resolveNodeConfig(entries: readonly ConfigEntry[], sources: ConfigSources): NodeConfig {
  if (sources.file !== undefined) checkFileKeys(entries, sources.file);
  const out: Record<string, string | number> = {};
  for (const e of entries) {
    const flag = sources.flags[e.key];
    const env = sources.env[envName(e.key)];
    if (flag !== undefined) out[e.key] = coerce(e, flag, e.flag);
    else if (sources.file !== undefined && Object.hasOwn(sources.file, e.key)) out[e.key] = coerce(e, sources.file[e.key], `"${e.key}" in the config file`, true);
    else if (env !== undefined && env !== '') out[e.key] = coerce(e, env, envName(e.key));
    else out[e.key] = e.default;
  }
  return out as unknown as NodeConfig;
}

/** Reads and parses a --config JSON file: one object whose keys are NodeConfig keys. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > CONFIG_FILE_BYTES_MAX) throw usageError(`Config file ${path} is larger than ${CONFIG_FILE_BYTES_MAX} bytes.`);
    text = bytes.toString('utf8');
  } catch (e) {
    if ((e as { exitCode?: number }).exitCode !== undefined) throw e;
    throw usageError(`Cannot read config file ${path}: ${(e as Error).message}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw usageError(`Config file ${path} is not valid JSON: ${(e as Error).message}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw usageError(`Config file ${path} must hold one JSON object of settings.`);
  }
  return value as Record<string, unknown>;
}
