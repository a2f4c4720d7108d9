/**
 * The nativelog package root: what applications import.
 */
export * as record from './record/index.js';
export { encodeRecord, decodeRecord } from './record/record.js';
export type { RecordInput, DecodedRecord, RecordHeader } from './record/record.js';
export { connect, Client, Producer, Consumer, NativeLogError, ERROR_CODES, keyHash, shardForKey } from './client/index.js';
export type * from './client/types.js';
