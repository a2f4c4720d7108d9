export * from './config.js';
export { startNode, type RunningNode } from './start-node.js';
export type { NodeDeps } from './node-deps.js';
export { parseFsyncPolicy } from './fsync-policy.js';
