/**
 * Scenario 3, corruption of a stopped node's files: produce acked records
 * into small segments, stop the node (SIGTERM), check `nativelog verify` is
 * clean, then plant seeded damage (bit flips, garbage runs, torn truncations
 * of segment logs; flips, garbage, cut entries or deletion of sparse indexes;
 * optionally a destroyed checkpoint, so recovery must scan everything), each
 * in a different file, and check:
 *   - verify exits EXIT_CORRUPT and names every damaged log (file and a byte
 *     range covering the damage) and every damaged index file;
 *   - the node starts on the damaged data dir;
 *   - every record it serves passes the client's own CRC and serverCrc
 *     checks and is exactly the acked payload at that seq (no corrupt byte is
 *     ever served);
 *   - every record of an undamaged segment is served, and so is every record
 *     before the damage in a damaged one;
 *   - every damaged log is reported by the node: a CORRUPT read naming the
 *     file, or a line of its log naming it;
 *   - intact records after the damage in the same segment are counted (and
 *     required when requireIntactAfterDamage is set);
 *   - the shards still take appends, which read back intact.
 */
import { readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Client } from '../../../src/client/client.js';
import { EXIT_CORRUPT } from '../../../src/cli/exit-codes.js';
import { verifyDataDir } from '../harness/cli.js';
import { shardFolder } from '../harness/data-dir.js';
import { Ledger, servingShard } from '../harness/ledger.js';
import { produceCount } from '../harness/load.js';
import { NodeProcess, type NodeFlags } from '../harness/node-proc.js';
import { bytesEqual, fetchChecked, isCode, readRange, ServedCorruptError, text } from '../harness/records.js';
import { Rng, withSeed } from '../harness/rng.js';
import { tempDir } from '../harness/tmp.js';

export type DamageKind = 'flip' | 'garbage' | 'truncate' | 'index-flip' | 'index-garbage' | 'index-truncate' | 'index-delete';
export const LOG_KINDS: DamageKind[] = ['flip', 'garbage', 'truncate'];
export const INDEX_KINDS: DamageKind[] = ['index-flip', 'index-garbage', 'index-truncate', 'index-delete'];

export interface CorruptionOptions {
  seed: number;
  kinds: DamageKind[];
  /** Damaged files (one planting per file). */
  plantings: number;
  recordsPerShard: number;
  /** Where log damage goes: sealed segments only, the active (last) segment of each shard only, or any. */
  where: 'sealed' | 'active' | 'any';
  /** Overwrite every checkpoint with garbage too (recovery must then scan every segment). */
  destroyCheckpoints: boolean;
  /** Fail when an intact record after damage in the same segment is not served. */
  requireIntactAfterDamage: boolean;
  /**
   * Flips and garbage hit the length field of the segment's first record, so
   * record boundaries are lost there and intact records surely follow before
   * the next index entry.
   */
  firstRecord?: boolean;
}

export interface Planting {
  kind: DamageKind;
  shard: number;
  file: string;
  /** A byte the damage covers (for logs: where verify must report a range). */
  byte: number;
  /** Seqs whose bytes changed (logs only). */
  seqFirst: number | null;
  seqLast: number | null;
}

export interface CorruptionStats {
  seed: number;
  plantings: Planting[];
  verifyNamedAll: boolean;
  recordsServedChecked: number;
  corruptReadErrors: number;
  damagedRecords: number;
  /** Intact records after damage in the same segment that the node would not serve. */
  intactUnreachable: number;
  appendsAfter: number;
}

const NS = 'torture';
const STREAM = 'corrupt';
const SHARDS = 2;
/** Small segments (many sealed ones) and a small index interval (several entries per segment). */
const CORRUPT_NODE_FLAGS: NodeFlags = { 'segment-bytes-max': 32 * 1024, 'index-interval-bytes': 1024 };
const INDEX_ENTRY_BYTES = 32;

interface SegFile {
  shard: number;
  dir: string;
  base: number;
  log: string;
  index: string;
  active: boolean;
  /** Record start offsets and seqs, from a scan of the intact file. */
  starts: number[];
  size: number;
}

export async function runCorruption(o: CorruptionOptions): Promise<CorruptionStats> {
  const rng = new Rng(o.seed);
  const { dir, cleanup } = tempDir('corrupt');
  const dataDir = join(dir, 'data');
  let node: NodeProcess | undefined;
  let client: Client | undefined;
  try {
    // 1. Acked records into small segments, then a clean stop and a clean verify.
    node = await NodeProcess.start(dataDir, CORRUPT_NODE_FLAGS);
    client = await connect(node.address);
    await client.createStream(STREAM, { namespace: NS, shards: SHARDS });
    const ledger = new Ledger();
    await produceCount(client, ledger, rng.fork('produce'), { ns: NS, stream: STREAM, window: 500, payloadBytesMin: 20, payloadBytesMax: 400, tag: 'c' }, o.recordsPerShard * SHARDS);
    await client.close();
    client = undefined;
    const exit = await node.stop();
    if (exit.code !== 0) throw new Error(`node exited ${exit.code} on SIGTERM`);
    node = undefined;
    const clean = await verifyDataDir(dataDir);
    if (clean.code !== 0) throw new Error(`verify of the undamaged data dir exited ${clean.code}: ${clean.stdout.slice(0, 1500)} ${clean.stderr}`);

    // 2. Plant damage, one planting per file.
    const segs = segmentFiles(dataDir);
    const plantings = plant(rng.fork('plant'), segs, o);
    if (o.destroyCheckpoints) {
      for (let shard = 0; shard < SHARDS; shard++) writeFileSync(join(shardDir(dataDir, shard), 'checkpoint'), rng.bytes(rng.int(1, 300)));
    }
    const stats: CorruptionStats = { seed: o.seed, plantings, verifyNamedAll: false, recordsServedChecked: 0, corruptReadErrors: 0, damagedRecords: 0, intactUnreachable: 0, appendsAfter: 0 };

    // 3. verify names every detectable damage.
    const v = await verifyDataDir(dataDir);
    if (v.code !== EXIT_CORRUPT) throw new Error(`verify after planting ${describe(plantings)} exited ${v.code}, expected ${EXIT_CORRUPT}: ${v.stdout.slice(0, 1500)} ${v.stderr.slice(0, 1500)}`);
    const data = (v.report?.['data'] ?? {}) as { damaged?: { file: string; byteStart: number; byteEnd: number }[]; problems?: string[] };
    for (const p of plantings) {
      if (p.kind === 'index-delete') continue; // a missing index is rebuilt, not damage
      if (LOG_KINDS.includes(p.kind)) {
        const hit = (data.damaged ?? []).some((d) => d.file === p.file && d.byteStart <= p.byte && p.byte < Math.max(d.byteEnd, d.byteStart + 1));
        if (!hit) throw new Error(`verify did not report a damaged range of ${p.file} covering byte ${p.byte} (${p.kind}); it reported ${JSON.stringify(data.damaged).slice(0, 1500)}`);
      } else if (!(data.problems ?? []).some((x) => x.includes(p.file))) {
        throw new Error(`verify did not name the damaged index ${p.file} (${p.kind}); problems: ${JSON.stringify(data.problems).slice(0, 1500)}`);
      }
    }
    stats.verifyNamedAll = true;

    // 4. The node starts on the damaged data dir and serves what is intact, never a corrupt byte.
    node = await NodeProcess.start(dataDir, CORRUPT_NODE_FLAGS);
    client = await connect(node.address);
    const desc = await client.describeStream(STREAM, { namespace: NS });
    const served = new Map<number, Set<number>>();
    const corruptMessages: string[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      const got = new Set<number>();
      served.set(shard, got);
      const info = servingShard(desc.shardInfo[shard]!);
      const expected = ledger.bySeq.get(shard) ?? new Map<number, string>();
      let seq = info.startSeq;
      while (seq < info.endSeq) {
        try {
          const f = await fetchChecked(client, NS, STREAM, shard, seq);
          if (f.records.length === 0) throw new Error(`shard ${shard}: fetch from ${seq} returned nothing before endSeq ${info.endSeq}`);
          for (const r of f.records) {
            const want = expected.get(r.seq);
            if (want === undefined || !bytesEqual(r.payload, new TextEncoder().encode(want))) {
              throw new ServedCorruptError(`shard ${shard} seq ${r.seq}: served payload ${text(r.payload).slice(0, 60)} is not the acked ${String(want).slice(0, 60)}`);
            }
            got.add(r.seq);
            stats.recordsServedChecked++;
          }
          seq = f.nextSeq;
        } catch (e) {
          if (!isCode(e, 'CORRUPT')) throw e;
          stats.corruptReadErrors++;
          corruptMessages.push((e as Error).message);
          seq++; // probe the next seq: find every record still reachable
        }
      }
    }

    // 5. Served vs planted: undamaged segments whole, records before damage, reports for every damaged log.
    const problems: string[] = [];
    const log = node.stderrLines.join('\n');
    for (const s of segs) {
      const planted = plantings.filter((p) => p.file === s.log && LOG_KINDS.includes(p.kind));
      const got = served.get(s.shard)!;
      const firstDamaged = planted.length === 0 ? Infinity : Math.min(...planted.map((p) => p.seqFirst ?? Infinity));
      const lastDamaged = planted.length === 0 ? -Infinity : Math.max(...planted.map((p) => p.seqLast ?? -Infinity));
      const missing = { before: new Ranges(), after: new Ranges() };
      for (let i = 0; i < s.starts.length; i++) {
        const seq = s.base + i;
        if (seq >= firstDamaged && seq <= lastDamaged) {
          stats.damagedRecords++;
          continue;
        }
        if (got.has(seq)) continue;
        if (seq > lastDamaged && planted.length > 0) {
          stats.intactUnreachable++;
          if (o.requireIntactAfterDamage) missing.after.add(seq);
        } else {
          missing.before.add(seq);
        }
      }
      const what = planted.length === 0 ? 'undamaged segment' : `segment damaged by ${planted.map((p) => p.kind).join('+')} at seqs ${firstDamaged}..${lastDamaged}`;
      if (!missing.before.empty()) problems.push(`shard ${s.shard} ${s.log.split('/').pop()} (${what}): intact records ${planted.length === 0 ? '' : 'before the damage '}not served: seqs ${missing.before}`);
      if (!missing.after.empty()) problems.push(`shard ${s.shard} ${s.log.split('/').pop()} (${what}): intact records after the damage not served: seqs ${missing.after}`);
      if (planted.length > 0 && !corruptMessages.some((m) => m.includes(s.log)) && !log.includes(s.log)) {
        problems.push(`damage in ${s.log} (${what}) was reported neither by a CORRUPT read nor in the node's log`);
      }
    }
    if (problems.length > 0) throw new Error(`${problems.length} problem(s) after planting ${describe(plantings)}: ${problems.slice(0, 12).join('; ')}; first CORRUPT messages: ${corruptMessages.slice(0, 2).join(' | ')}`);

    // 6. The shards still take appends, and they read back intact.
    const after = new Ledger();
    await produceCount(client, after, rng.fork('after'), { ns: NS, stream: STREAM, window: 100, payloadBytesMin: 20, payloadBytesMax: 200, tag: 'after' }, 100);
    for (const [payload, a] of after.acked) {
      await readRange(client, NS, STREAM, a.shard, a.seq, a.seq + 1, (r) => {
        if (text(r.payload) !== payload) throw new ServedCorruptError(`appended after the damage at shard ${a.shard} seq ${a.seq}: read back ${text(r.payload)}`);
      });
      stats.appendsAfter++;
    }
    return stats;
  } catch (err) {
    throw withSeed('corruption', o.seed, `${(err as Error).message}${node === undefined ? '' : `; ${node.describeFailure()}`}`);
  } finally {
    await client?.close().catch(() => undefined);
    if (node !== undefined) await node.kill9();
    cleanup();
  }
}

function shardDir(dataDir: string, shard: number): string {
  return shardFolder(dataDir, NS, STREAM, shard);
}

function describe(ps: Planting[]): string {
  return ps.map((p) => `${p.kind}@${p.file.split('/').slice(-2).join('/')}:${p.byte}`).join(', ');
}

function segmentFiles(dataDir: string): SegFile[] {
  const out: SegFile[] = [];
  for (let shard = 0; shard < SHARDS; shard++) {
    const dir = shardDir(dataDir, shard);
    const bases = readdirSync(dir).filter((n) => /^\d{20}\.log$/.test(n)).map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b);
    bases.forEach((base, i) => {
      const log = join(dir, `${String(base).padStart(20, '0')}.log`);
      const bytes = readFileSync(log);
      const starts: number[] = [];
      for (let off = 0; off < bytes.length; off += bytes.readUInt32LE(off)) starts.push(off);
      out.push({ shard, dir, base, log, index: join(dir, `${String(base).padStart(20, '0')}.index`), active: i === bases.length - 1, starts, size: bytes.length });
    });
  }
  return out;
}

function recordAt(s: SegFile, byte: number): number {
  let i = 0;
  while (i + 1 < s.starts.length && s.starts[i + 1]! <= byte) i++;
  return i;
}

function plant(rng: Rng, segs: SegFile[], o: CorruptionOptions): Planting[] {
  const out: Planting[] = [];
  const used = new Set<string>();
  for (let k = 0; k < o.plantings; k++) {
    const kind = rng.pick(o.kinds);
    const isLog = LOG_KINDS.includes(kind);
    const candidates = segs.filter((s) => s.size > 0 && (isLog ? (o.where === 'any' || (o.where === 'active') === s.active) && !used.has(s.log) : !used.has(s.index) && statSafe(s.index) > 0));
    if (candidates.length === 0) continue;
    const s = rng.pick(candidates);
    if (isLog) {
      used.add(s.log);
      out.push(plantLog(rng, s, kind, o.firstRecord === true));
    } else {
      used.add(s.index);
      out.push(plantIndex(rng, s, kind));
    }
  }
  return out;
}

function statSafe(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function plantLog(rng: Rng, s: SegFile, kind: DamageKind, firstRecord: boolean): Planting {
  const bytes = readFileSync(s.log);
  const last = firstRecord ? 3 : bytes.length - 1;
  if (kind === 'flip') {
    const byte = rng.int(0, last);
    bytes[byte]! ^= 1 << rng.int(0, 7);
    writeFileSync(s.log, bytes);
    const i = recordAt(s, byte);
    return { kind, shard: s.shard, file: s.log, byte, seqFirst: s.base + i, seqLast: s.base + i };
  }
  if (kind === 'garbage') {
    const start = rng.int(0, last);
    const len = Math.min(rng.int(1, 256), last + 1 - start);
    for (let j = 0; j < len; j++) bytes[start + j]! ^= rng.int(1, 255);
    writeFileSync(s.log, bytes);
    return { kind, shard: s.shard, file: s.log, byte: start, seqFirst: s.base + recordAt(s, start), seqLast: s.base + recordAt(s, start + len - 1) };
  }
  // truncate inside a record (never on a boundary: a torn record, not a shorter log)
  const i = rng.int(0, s.starts.length - 1);
  const recEnd = i + 1 < s.starts.length ? s.starts[i + 1]! : s.size;
  const cut = rng.int(s.starts[i]! + 1, recEnd - 1);
  truncateSync(s.log, cut);
  return { kind, shard: s.shard, file: s.log, byte: cut - 1, seqFirst: s.base + i, seqLast: s.base + s.starts.length - 1 };
}

function plantIndex(rng: Rng, s: SegFile, kind: DamageKind): Planting {
  const p: Planting = { kind, shard: s.shard, file: s.index, byte: 0, seqFirst: null, seqLast: null };
  if (kind === 'index-delete') {
    rmSync(s.index);
    return p;
  }
  const bytes = readFileSync(s.index);
  if (kind === 'index-flip') {
    p.byte = rng.int(0, bytes.length - 1);
    bytes[p.byte]! ^= 1 << rng.int(0, 7);
    writeFileSync(s.index, bytes);
  } else if (kind === 'index-garbage') {
    p.byte = rng.int(0, bytes.length - 1);
    const len = Math.min(rng.int(1, 64), bytes.length - p.byte);
    for (let j = 0; j < len; j++) bytes[p.byte + j]! ^= rng.int(1, 255);
    writeFileSync(s.index, bytes);
  } else {
    // cut inside an entry (a whole number of entries is a valid, shorter index)
    const entries = Math.floor(bytes.length / INDEX_ENTRY_BYTES);
    const e = rng.int(0, Math.max(0, entries - 1));
    p.byte = e * INDEX_ENTRY_BYTES + rng.int(1, INDEX_ENTRY_BYTES - 1);
    truncateSync(s.index, p.byte);
  }
  return p;
}

/** A set of seqs shown as compact ranges. */
class Ranges {
  private readonly seqs: number[] = [];
  add(seq: number): void {
    this.seqs.push(seq);
  }
  empty(): boolean {
    return this.seqs.length === 0;
  }
  toString(): string {
    const out: string[] = [];
    const a = [...this.seqs].sort((x, y) => x - y);
    for (let i = 0; i < a.length; ) {
      let j = i;
      while (j + 1 < a.length && a[j + 1] === a[j]! + 1) j++;
      out.push(i === j ? `${a[i]}` : `${a[i]}..${a[j]}`);
      i = j + 1;
    }
    return out.join(',');
  }
}
