/**
 * Parses the fsync setting ("always" | "bytes:N" | "interval:MS" | "roll")
 * into the storage engine's FsyncPolicy.
 */
import type { FsyncPolicy } from '../shard/types.js';

export function parseFsyncPolicy(text: string): FsyncPolicy {
  if (text === 'always') return { mode: 'always' };
  if (text === 'roll') return { mode: 'roll' };
  const m = /^(bytes|interval):(\d+)$/.exec(text);
  if (m !== null) {
    const n = Number(m[2]);
    if (Number.isSafeInteger(n) && n > 0) return m[1] === 'bytes' ? { mode: 'bytes', bytes: n } : { mode: 'interval', ms: n };
  }
  throw new Error(`Invalid fsync setting "${text}": use always, bytes:N, interval:MS or roll.`);
}
