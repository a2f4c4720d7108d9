/**
 * Bounds of the Raft storage on disk (docs/CONSENSUS.md, "Raft storage on
 * disk"). Past each one, persist throws RAFT_DISK_TOO_LARGE before writing
 * anything (the caller's request is refused; the disk stays usable), and open
 * reports a stored value past it as corruption.
 */

/** Largest `data` of one log entry (a MetaStore command is at most 64 KiB encoded). */
export const ENTRY_BYTES_MAX = 1024 * 1024;
/** Largest frame (one persist call): its entries, hard state and bookkeeping, encoded. */
export const FRAME_BYTES_MAX = 64 * 1024 * 1024;
/** A segment at or past this size is closed and the next frame starts a new one. */
export const SEGMENT_BYTES_MAX = 16 * 1024 * 1024;
/** Largest snapshot file (header + voters + data). */
export const SNAPSHOT_BYTES_MAX = 256 * 1024 * 1024;
/** Most voters a config entry or snapshot may name. */
export const VOTERS_MAX = 64;
