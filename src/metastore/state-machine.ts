/**
 * The MetaStore's deterministic state machine: apply(state, command) returns
 * the next state and the command's result, and does nothing else (no clock,
 * no I/O, no randomness), so every replica that applies the same commands in
 * the same order ends with the same state. Commands are conditional: create
 * fails if the stream exists, delete and setRetention fail if it does not;
 * a failed command leaves the state unchanged.
 */
import { STREAMS_MAX } from './bounds.js';
import { checkStreamConfig } from './stream-config.js';
import { MetaError, type MetaCommand, type StreamConfig } from './types.js';

export interface MetaState {
  /** Streams keyed by streamKey(namespace, name). Never mutated: apply builds a new map. */
  readonly streams: ReadonlyMap<string, StreamConfig>;
}

export type ApplyResult =
  | { ok: true; state: MetaState; stream: StreamConfig | null }
  | { ok: false; state: MetaState; error: MetaError };

/** '/' cannot occur in a valid name, so the key is unambiguous. */
export function streamKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function emptyState(): MetaState {
  return { streams: new Map() };
}

/** Builds a state from a list of streams (a snapshot); throws MetaError on an invalid or duplicate entry. */
export function stateFromStreams(streams: readonly StreamConfig[]): MetaState {
  const map = new Map<string, StreamConfig>();
  for (const s of streams) {
    try {
      checkStreamConfig(s);
    } catch (e) {
      throw new MetaError('META_CORRUPT', `The snapshot holds an invalid stream: ${(e as Error).message}`);
    }
    const key = streamKey(s.namespace, s.name);
    if (map.has(key)) throw new MetaError('META_CORRUPT', `Stream ${key} appears twice in the snapshot.`);
    map.set(key, Object.freeze({ ...s }));
  }
  return { streams: map };
}

function fail(state: MetaState, error: MetaError): ApplyResult {
  return { ok: false, state, error };
}

function unknownStream(namespace: string, name: string): MetaError {
  return new MetaError('UNKNOWN_STREAM', `Stream "${name}" does not exist in namespace "${namespace}".`);
}

function applyCreate(state: MetaState, stream: StreamConfig): ApplyResult {
  try {
    checkStreamConfig(stream);
  } catch (e) {
    return fail(state, e as MetaError);
  }
  const key = streamKey(stream.namespace, stream.name);
  if (state.streams.has(key)) {
    return fail(state, new MetaError('STREAM_EXISTS', `Stream "${stream.name}" already exists in namespace "${stream.namespace}".`));
  }
  if (state.streams.size >= STREAMS_MAX) {
    return fail(state, new MetaError('INVALID_ARGUMENT', `Cannot create stream "${stream.name}": the limit of ${STREAMS_MAX} streams is reached.`));
  }
  const stored = Object.freeze({ ...stream });
  const streams = new Map(state.streams);
  streams.set(key, stored);
  return { ok: true, state: { streams }, stream: stored };
}

function applyDelete(state: MetaState, namespace: string, name: string): ApplyResult {
  const key = streamKey(namespace, name);
  if (!state.streams.has(key)) return fail(state, unknownStream(namespace, name));
  const streams = new Map(state.streams);
  streams.delete(key);
  return { ok: true, state: { streams }, stream: null };
}

function applySetRetention(state: MetaState, cmd: Extract<MetaCommand, { op: 'setRetention' }>): ApplyResult {
  const key = streamKey(cmd.namespace, cmd.name);
  const current = state.streams.get(key);
  if (current === undefined) return fail(state, unknownStream(cmd.namespace, cmd.name));
  const next: StreamConfig = { ...current, retentionMs: cmd.retentionMs, retentionBytes: cmd.retentionBytes };
  try {
    checkStreamConfig(next);
  } catch (e) {
    return fail(state, e as MetaError);
  }
  const stored = Object.freeze(next);
  const streams = new Map(state.streams);
  streams.set(key, stored);
  return { ok: true, state: { streams }, stream: stored };
}

/** Applies one command. Pure: the input state is never changed. */
export function apply(state: MetaState, command: MetaCommand): ApplyResult {
  switch (command.op) {
    case 'createStream':
      return applyCreate(state, command.stream);
    case 'deleteStream':
      return applyDelete(state, command.namespace, command.name);
    case 'setRetention':
      return applySetRetention(state, command);
    default:
      return fail(state, new MetaError('INVALID_ARGUMENT', `Unknown MetaStore command ${JSON.stringify((command as { op: unknown }).op)}.`));
  }
}

/** Streams sorted by namespace then name (code-unit order, locale-independent). */
export function sortedStreams(state: MetaState, namespace?: string): StreamConfig[] {
  const out = [...state.streams.values()].filter((s) => namespace === undefined || s.namespace === namespace);
  return out.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
