/**
 * Exit codes of the nativelog command (docs/CLI.md lists them).
 */
export const EXIT_OK = 0;
/** The operation failed (node unreachable, unknown stream, records not acked, ...). */
export const EXIT_FAILURE = 1;
/** The command line itself is wrong (unknown flag, bad value, missing argument). */
export const EXIT_USAGE = 2;
/** verify found corruption. */
export const EXIT_CORRUPT = 3;
