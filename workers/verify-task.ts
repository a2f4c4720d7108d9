/**
 * piscina task: stateless verification of one segment file (records, CRCs,
 * seq continuity, its sparse index) or of one shard's checkpoint. Runs in a
 * pool thread; never owns a shard (the node must not be running on the data
 * dir, see `nativelog verify`).
 */
import { readFileSync } from 'node:fs';
import { verifySegmentFile, type SegmentReport } from '../src/storage/verify.js';
import { decodeCheckpoint } from '../src/storage/checkpoint.js';

export type VerifyTask = { kind: 'segment'; path: string } | { kind: 'checkpoint'; path: string };
export type VerifyTaskResult = { kind: 'segment'; report: SegmentReport } | { kind: 'checkpoint'; path: string; problem: string | null };

export default function verifyTask(task: VerifyTask): VerifyTaskResult {
  if (task.kind === 'segment') return { kind: 'segment', report: verifySegmentFile(task.path) };
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(task.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'checkpoint', path: task.path, problem: null };
    throw e;
  }
  try {
    decodeCheckpoint(bytes);
    return { kind: 'checkpoint', path: task.path, problem: null };
  } catch (e) {
    return { kind: 'checkpoint', path: task.path, problem: (e as Error).message };
  }
}
