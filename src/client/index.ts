export { connect, Client, DEFAULT_NAMESPACE } from './client.js';
export { Producer, randomProducerId, type ProducerExtraOptions } from './producer.js';
export { Consumer } from './consumer.js';
export { ClientConnection } from './connection.js';
export { keyHash, shardForKey } from './partitioner.js';
export { NativeLogError } from './types.js';
export type * from './types.js';
export { ERROR_CODES } from '../protocol/errors.js';
