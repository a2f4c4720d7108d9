/** Helpers for storage tests (not a test file). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RecordInput, decodeRecord, encodeRecordInto, encodedRecordLength } from '../../src/record/record.js';
import { ShardStore } from '../../src/storage/shard-store.js';
import type { ShardStoreOptions } from '../../src/storage/types.js';

export function tempDir(prefix = 'nl-storage-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Concatenated encoded records. */
export function batch(inputs: RecordInput[]): Uint8Array {
  const total = inputs.reduce((n, r) => n + encodedRecordLength(r), 0);
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const r of inputs) off += encodeRecordInto(bytes, off, r);
  return bytes;
}

export function payloadOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function rec(text: string, extra: Partial<RecordInput> = {}): RecordInput {
  return { payload: payloadOf(text), ...extra };
}

/** Decodes every record of a run of bytes. */
export function decodeAll(bytes: Uint8Array): ReturnType<typeof decodeRecord>[] {
  const out: ReturnType<typeof decodeRecord>[] = [];
  let off = 0;
  while (off < bytes.length) {
    const r = decodeRecord(bytes, off);
    out.push(r);
    off += r.length;
  }
  return out;
}

/** Every record of the shard from startSeq, decoded. */
export function readAll(store: ShardStore, maxBytes = 1 << 20): ReturnType<typeof decodeRecord>[] {
  const d = store.describe();
  const out: ReturnType<typeof decodeRecord>[] = [];
  let seq = d.startSeq;
  while (seq < d.endSeq) {
    const r = store.read(seq, maxBytes);
    if (r.count === 0) throw new Error(`read at ${seq} returned nothing before the end ${d.endSeq}`);
    out.push(...decodeAll(r.bytes));
    seq = r.nextSeq;
  }
  return out;
}

export function textOf(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** A settable clock. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; set: (t: number) => void; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (x) => (t = x), advance: (ms) => (t += ms) };
}

export function openStore(opts: ShardStoreOptions): ShardStore {
  return ShardStore.open({ minFreeBytes: 0, ...opts });
}
