/**
 * The nativelog package root: what applications import.
 */
export * as record from './record/index.js';
export { encodeRecord, decodeRecord } from './record/record.js';
export type { RecordInput, DecodedRecord, RecordHeader } from './record/record.js';
export { connect, Client, Producer, Consumer, NativeLogError, ERROR_CODES, keyHash, shardForKey } from './client/index.js';
export type * from './client/types.js';
export * from './block/index.js';
export { CODEC_RAW, CODEC_BLOCK } from './record/layout.js';
export { BlockProducer, blockProducer } from './client/block-producer.js';
export type { BlockProducerOptions, BlockSendOptions } from './client/block-producer.js';
export { NotABlockError, blocks, rows, recordBlock } from './client/block-consumer.js';
export type { BlocksOptions, RowsOptions, ConsumedBlock, ConsumedRow } from './client/block-consumer.js';
