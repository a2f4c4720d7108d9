/**
 * Building and checking StreamConfig values: defaults, bounds, and the
 * normalized schema text. Used by the MetaStore on input and by the state
 * machine on every command it applies (a replicated command is checked again).
 */
import { randomBytes } from 'node:crypto';
import { parseSchema, schemaToString } from '../block/schema.js';
import { REPLICAS_MAX, SCHEMA_BYTES_MAX, SHARDS_PER_STREAM_MAX } from './bounds.js';
import { validateName } from './names.js';
import { MetaError, type CreateStreamInput, type StreamConfig } from './types.js';

export const DEFAULT_NAMESPACE = 'default';

function invalid(message: string): MetaError {
  return new MetaError('INVALID_ARGUMENT', message);
}

function checkCount(what: string, value: unknown, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`${what} must be an integer from 1 to ${max}, got ${String(value)}.`);
  }
}

function checkRetention(what: string, value: unknown): void {
  if (value === null) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`${what} must be a positive integer or null (keep forever), got ${String(value)}.`);
  }
}

/** The canonical text of a schema (src/block's grammar); throws INVALID_ARGUMENT naming the problem. */
export function normalizeSchema(text: string): string {
  if (Buffer.byteLength(text) > SCHEMA_BYTES_MAX) throw invalid(`Schema is longer than ${SCHEMA_BYTES_MAX} bytes.`);
  try {
    return schemaToString(parseSchema(text));
  } catch (e) {
    throw invalid(`Invalid schema: ${(e as Error).message}.`);
  }
}

/** Throws MetaError when a StreamConfig (from input or from a log) breaks a rule. */
export function checkStreamConfig(s: StreamConfig): void {
  validateName('namespace', s.namespace);
  validateName('stream', s.name);
  checkCount('shards', s.shards, SHARDS_PER_STREAM_MAX);
  checkCount('replicas', s.replicas, REPLICAS_MAX);
  checkRetention('retentionMs', s.retentionMs);
  checkRetention('retentionBytes', s.retentionBytes);
  if (s.schema !== null && (typeof s.schema !== 'string' || normalizeSchema(s.schema) !== s.schema)) {
    throw invalid('schema must be normalized schema text or null.');
  }
  if (s.schemaVersion !== (s.schema === null ? 0 : 1)) throw invalid('schemaVersion must be 0 without a schema, 1 with one.');
  if (!Number.isSafeInteger(s.createdAt) || s.createdAt < 0) throw invalid('createdAt must be epoch milliseconds.');
  if (typeof s.incarnation !== 'string' || (s.incarnation !== LEGACY_INCARNATION && !INCARNATION_PATTERN.test(s.incarnation))) {
    throw invalid('incarnation must be 16 lowercase hex digits.');
  }
}

/** A stream incarnation: 16 lowercase hex digits (64 random bits). */
export const INCARNATION_PATTERN = /^[0-9a-f]{16}$/;
/** The incarnation of a stream created before incarnations existed (its shard folders sit right under the stream's folder). */
export const LEGACY_INCARNATION = '';

/** A fresh incarnation id (64 random bits; collisions between two lives of one name are not a practical concern). */
export function newIncarnation(): string {
  return randomBytes(8).toString('hex');
}

/** The stored config for a create request, with defaults filled in; throws on bad input. */
export function buildStreamConfig(input: CreateStreamInput, now: number, incarnation: string = newIncarnation()): StreamConfig {
  const schema = input.schema === undefined || input.schema === null ? null : normalizeSchema(input.schema);
  const config: StreamConfig = {
    namespace: input.namespace ?? DEFAULT_NAMESPACE,
    name: input.name,
    shards: input.shards ?? 1,
    replicas: input.replicas ?? 1,
    retentionMs: input.retentionMs ?? null,
    retentionBytes: input.retentionBytes ?? null,
    schema,
    schemaVersion: schema === null ? 0 : 1,
    createdAt: now,
    incarnation,
  };
  checkStreamConfig(config);
  return config;
}
