export * from './layout.js';
export * from './record.js';
export * from './crc32.js';
