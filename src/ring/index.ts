export * from './ring-layout.js';
export * from './ring-error.js';
export * from './ring-wait.js';
export * from './ring-producer.js';
export * from './ring-consumer.js';
