export * from './errors.js';
export * from './limits.js';
export * from './ops.js';
export * from './frame.js';
export * from './frame-decoder.js';
export * from './fields.js';
