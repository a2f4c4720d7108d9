/** Test helper (not a test): record batches with recognisable payloads, and temp shard folders. */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecord, encodeRecordInto, encodedRecordLength } from '../../src/record/index.js';

/** Payload of the i-th record a test produces: its index, then filler derived from it. */
export function payloadFor(i: number, bytes: number): Uint8Array {
  const p = new Uint8Array(Math.max(bytes, 4));
  new DataView(p.buffer).setUint32(0, i, true);
  for (let j = 4; j < p.length; j++) p[j] = (i * 31 + j) & 0xff;
  return p;
}

/** `count` records with payloads payloadFor(first..first+count-1), concatenated. */
export function batchOf(first: number, count: number, payloadBytes: number): Uint8Array {
  const inputs = Array.from({ length: count }, (_, k) => ({ payload: payloadFor(first + k, payloadBytes) }));
  const total = inputs.reduce((n, r) => n + encodedRecordLength(r), 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const r of inputs) pos += encodeRecordInto(out, pos, r);
  return out;
}

export interface SeenRecord {
  seq: number;
  payload: Uint8Array;
}

export function recordsIn(bytes: Uint8Array): SeenRecord[] {
  const out: SeenRecord[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const r = decodeRecord(bytes, pos);
    out.push({ seq: r.seq, payload: r.payload });
    pos += r.length;
  }
  return out;
}

const roots: string[] = [];
// Removed after every test of the file (handles close in their own after hooks first).
after(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

export function tempShardDir(_t?: unknown): string {
  const root = mkdtempSync(join(tmpdir(), 'nativelog-shard-'));
  roots.push(root);
  return join(root, 'default', 'orders', '0');
}

/** Options every test shard uses: small rings and records so edges are cheap to reach. */
export const SMALL = { recordBytesMax: 64 * 1024, ringBytes: 256 * 1024, minFreeBytes: 0 } as const;
