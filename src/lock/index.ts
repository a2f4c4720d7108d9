export { LOCK_FILE, LOCK_TAKEOVER_FILE, LockHeldError, OwnerLock, acquireOwnerLock, readLockHolder, releaseOwnerLock, holderState, type LockHolder, type AcquireOptions } from './owner-lock.js';
