export * from './types.js';
export * from './bounds.js';
export { validateName, nameProblem, type NameKind } from './names.js';
export { MetaStore, META_DIR_NAME, type MetaStoreOptions } from './meta-store.js';
export { apply, emptyState, sortedStreams, streamKey, type MetaState, type ApplyResult } from './state-machine.js';
export { DEFAULT_NAMESPACE, normalizeSchema } from './stream-config.js';
