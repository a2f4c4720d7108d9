/**
 * The file layer moved to src/fs/file-layer.ts (it is shared by the data
 * plane's storage engine and the control plane's Raft disk, and the main
 * thread must not import src/storage); this re-export keeps the storage
 * engine's imports as they were.
 */
export * from '../fs/file-layer.js';
