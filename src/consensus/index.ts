export * from './types.js';
export { RaftNode, type NodeStatus } from './raft-node.js';
export { RaftLog } from './raft-log.js';
export { quorumSize } from './quorum.js';
