/**
 * Encoding of command-log entries: msgpackr over { index, command }, and a
 * shape check on decode so bytes that pass the CRC but are not a command
 * (another version, a bug) fail as META_CORRUPT instead of being applied.
 */
import { Packr } from 'msgpackr';
import { CLUSTER_ID_CHARS_MAX, COMMAND_BYTES_MAX, MEMBER_ADDRESS_CHARS_MAX } from './bounds.js';
import { LEGACY_INCARNATION } from './stream-config.js';
import { MetaError, type AnyCommand, type ClusterCommand, type MetaCommand, type StreamConfig } from './types.js';

export interface LogEntry {
  /** 1-based position of the command in the replicated log. */
  index: number;
  command: MetaCommand;
}

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeEntry(entry: LogEntry): Uint8Array {
  const bytes = packr.pack(entry);
  if (bytes.length > COMMAND_BYTES_MAX) {
    throw new MetaError('INVALID_ARGUMENT', `The command is ${bytes.length} bytes encoded, more than the ${COMMAND_BYTES_MAX} allowed.`);
  }
  return bytes;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNullableNumber(v: unknown): boolean {
  return v === null || typeof v === 'number';
}

/**
 * Shape check of a stored StreamConfig. A config written before incarnations
 * existed has none: it is given LEGACY_INCARNATION ('') here, which keeps its
 * folder where it was (<namespace>/<name>).
 */
function isStreamConfig(v: unknown): v is StreamConfig {
  if (isObject(v) && v.incarnation === undefined) v.incarnation = LEGACY_INCARNATION;
  return (
    isObject(v) &&
    typeof v.incarnation === 'string' &&
    typeof v.namespace === 'string' &&
    typeof v.name === 'string' &&
    typeof v.shards === 'number' &&
    typeof v.replicas === 'number' &&
    isNullableNumber(v.retentionMs) &&
    isNullableNumber(v.retentionBytes) &&
    (v.schema === null || typeof v.schema === 'string') &&
    typeof v.schemaVersion === 'number' &&
    typeof v.createdAt === 'number'
  );
}

function isInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function isShardRef(v: Record<string, unknown>): boolean {
  return typeof v.namespace === 'string' && typeof v.name === 'string' && typeof v.incarnation === 'string' && isInt(v.shard);
}

/** A stored ShardPlacement's shape (the rules are checked by placement.ts's checkPlacement). */
export function isShardPlacement(v: unknown): boolean {
  if (!isObject(v) || !isShardRef(v) || !(v.sequencer === null || isInt(v.sequencer)) || !isInt(v.epoch) || !Array.isArray(v.segments)) return false;
  return v.segments.every((s) => isObject(s) && isInt(s.baseSeq) && (s.endSeq === null || isInt(s.endSeq)) && isInt(s.epoch) && Array.isArray(s.replicas) && s.replicas.every(isInt));
}

function isMemberId(v: unknown): boolean {
  return isInt(v) && (v as number) >= 1;
}

/** host:port, bounded (MEMBER_ADDRESS_CHARS_MAX). */
export function isMemberAddress(v: unknown): boolean {
  return typeof v === 'string' && v.length >= 3 && v.length <= MEMBER_ADDRESS_CHARS_MAX && /^[^\s]+:\d{1,5}$/.test(v);
}

export function isClusterId(v: unknown): boolean {
  return typeof v === 'string' && v.length >= 1 && v.length <= CLUSTER_ID_CHARS_MAX;
}

export function isMetaCommand(v: unknown): v is MetaCommand {
  if (!isObject(v)) return false;
  switch (v.op) {
    case 'electSequencer':
      return isShardRef(v) && isInt(v.node) && isInt(v.expectEpoch);
    case 'openSegment':
      return isShardRef(v) && isInt(v.epoch) && isInt(v.baseSeq) && Array.isArray(v.replicas) && v.replicas.every(isInt);
    case 'sealSegment':
      return isShardRef(v) && isInt(v.epoch) && isInt(v.baseSeq) && isInt(v.endSeq);
    case 'createStream':
      return isStreamConfig(v.stream);
    case 'deleteStream':
      return typeof v.namespace === 'string' && typeof v.name === 'string';
    case 'setRetention':
      return typeof v.namespace === 'string' && typeof v.name === 'string' && isNullableNumber(v.retentionMs) && isNullableNumber(v.retentionBytes);
    default:
      return false;
  }
}

/** A cluster membership command's shape (addMember, removeMember, initCluster, bindDataDir). */
export function isClusterCommand(v: unknown): v is ClusterCommand {
  if (!isObject(v)) return false;
  switch (v.op) {
    case 'addMember':
      return isMemberId(v.node) && isMemberAddress(v.address);
    case 'removeMember':
      return isMemberId(v.node);
    case 'initCluster':
      return isClusterId(v.clusterId);
    case 'bindDataDir':
      return isMemberId(v.node) && isClusterId(v.dataDirId);
    default:
      return false;
  }
}

/** Decodes an entry whose CRC already passed; throws META_CORRUPT when it is not a valid entry. */
export function decodeEntry(bytes: Uint8Array, where: string): LogEntry {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch {
    throw new MetaError('META_CORRUPT', `MetaStore log entry at ${where} cannot be decoded.`);
  }
  if (!isObject(value) || !Number.isSafeInteger(value.index) || (value.index as number) < 1 || !isMetaCommand(value.command)) {
    throw new MetaError('META_CORRUPT', `MetaStore log entry at ${where} is not a valid command.`);
  }
  return { index: value.index as number, command: value.command };
}

/** One MetaCommand as the bytes of a Raft entry (msgpackr); bounded by COMMAND_BYTES_MAX. */
export function encodeCommand(command: AnyCommand): Uint8Array {
  const bytes = packr.pack(command);
  if (bytes.length > COMMAND_BYTES_MAX) {
    throw new MetaError('INVALID_ARGUMENT', `The command is ${bytes.length} bytes encoded, more than the ${COMMAND_BYTES_MAX} allowed.`);
  }
  return bytes;
}

/** The MetaCommand in a committed Raft entry; throws META_CORRUPT when the bytes are not one. */
export function decodeCommand(bytes: Uint8Array, where: string): AnyCommand {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch {
    throw new MetaError('META_CORRUPT', `The MetaStore command at ${where} cannot be decoded.`);
  }
  if (!isMetaCommand(value) && !isClusterCommand(value)) throw new MetaError('META_CORRUPT', `The MetaStore entry at ${where} is not a valid command.`);
  return value;
}
