/**
 * Scenario 5, a full disk: the node's data dir on a small tmpfs (mounted by
 * the test, as root). Two runs, each on its own mount:
 *
 *   guard (minFreeBytes > 0): appends fill the disk until the node refuses
 *     with DISK_FULL; at that moment the file system still has at least
 *     minFreeBytes minus GUARD_SLACK_BYTES free (the guard acted before the
 *     disk was full). The CLI's produce fails with a clear message too. The
 *     node stays up, serves every acked record intact, deletes the stream,
 *     and takes appends again.
 *   enospc-delete (minFreeBytes 0): appends run into the real ENOSPC; the
 *     node answers DISK_FULL, stays up and serves every acked record intact;
 *     deleting the stream frees the space and appends succeed again;
 *   enospc-retention (minFreeBytes 0): the same with a stream with time
 *     retention, and no delete: once retention has removed its old
 *     segments, appends succeed again.
 * Both end with a clean SIGTERM and `nativelog verify` clean.
 */
import { servingShard } from '../harness/ledger.js';
import { join } from 'node:path';
import { connect, type Client } from '../../../src/client/client.js';
import { runCli, verifyDataDir } from '../harness/cli.js';
import { sleep } from '../harness/load.js';
import { NodeProcess, type NodeFlags } from '../harness/node-proc.js';
import { appendRaw, isCode, readRange, text } from '../harness/records.js';
import { Rng, withSeed } from '../harness/rng.js';
import { freeBytes, mountTmpfs } from '../harness/tmpfs.js';
import { tempDir } from '../harness/tmp.js';

/** Size of the tmpfs the data dir lives on. */
export const TMPFS_BYTES = 16 * 1024 * 1024;
/** minFreeBytes of the guard run. */
export const GUARD_MIN_FREE_BYTES = 4 * 1024 * 1024;
/**
 * What the guard may undershoot minFreeBytes by: the free-space estimate
 * between statfs calls ignores index and checkpoint writes and tmpfs page
 * rounding (a few pages per file).
 */
export const GUARD_SLACK_BYTES = 256 * 1024;
/** Records of this size, this many per append (64 KiB appends). */
const RECORD_PAYLOAD_BYTES = 4000;
const RECORDS_PER_APPEND = 16;
/** Appends before giving up on filling 16 MiB (a bound, far above the few hundred needed). */
const FILL_APPENDS_MAX = 5000;
/** Times the disk is filled again when the node freed space between the refusal and the CLI's append. */
const CLI_REFILLS_MAX = 3;
/** Retention of the stream that must free space by itself, and the longest wait for it (liveness bound). */
const RETENTION_MS = 3000;
const RETENTION_WAIT_MS = 20_000;
const NS = 'torture';

export type FullDiskMode = 'guard' | 'enospc-delete' | 'enospc-retention';

export interface FullDiskStats {
  mode: FullDiskMode;
  seed: number;
  ackedBeforeFull: number;
  bytesAckedBeforeFull: number;
  freeBytesAtRefusal: number;
  refusalMessage: string;
  cliMessage: string;
  recordsReadBack: number;
  appendsAfterDelete: number;
  retentionFreedAfterMs: number | null;
}

export class MountUnavailable extends Error {}

export async function runFullDisk(mode: FullDiskMode, seed: number): Promise<FullDiskStats> {
  const rng = new Rng(seed);
  const { dir, cleanup } = tempDir('fulldisk');
  const mnt = join(dir, 'mnt');
  const m = mountTmpfs(mnt, TMPFS_BYTES);
  if (!m.ok) {
    cleanup();
    throw new MountUnavailable(m.reason);
  }
  const dataDir = join(mnt, 'data');
  const minFree = mode === 'guard' ? GUARD_MIN_FREE_BYTES : 0;
  const retention = mode === 'enospc-retention';
  const flags: NodeFlags = { 'min-free-bytes': minFree, 'segment-bytes-max': 1024 * 1024, 'record-bytes-max': 256 * 1024 };
  const stats: FullDiskStats = {
    mode, seed, ackedBeforeFull: 0, bytesAckedBeforeFull: 0, freeBytesAtRefusal: -1, refusalMessage: '', cliMessage: '', recordsReadBack: 0, appendsAfterDelete: 0, retentionFreedAfterMs: null,
  };
  let node: NodeProcess | undefined;
  let client: Client | undefined;
  try {
    node = await NodeProcess.start(dataDir, flags);
    client = await connect(node.address, { timeoutMs: 30_000 });
    await client.createStream('fill', { namespace: NS, shards: 1, retentionMs: retention ? RETENTION_MS : null });

    // Fill until refused.
    const acked = await fillUntilRefused(client, 'fill', rng, stats, mnt);
    if (!node.alive) throw new Error('the node died when the disk filled up');
    if (mode === 'guard') {
      if (stats.freeBytesAtRefusal < minFree - GUARD_SLACK_BYTES) {
        throw new Error(`the minFreeBytes guard (${minFree}) refused only when ${stats.freeBytesAtRefusal} bytes were free (bound: minFreeBytes - ${GUARD_SLACK_BYTES})`);
      }
      if (!/minFreeBytes|free/i.test(stats.refusalMessage)) throw new Error(`the guard's DISK_FULL message does not say why: ${stats.refusalMessage}`);
    }

    // The CLI says so clearly too, and exits non-zero. A background roll's seal job may free a page after the
    // refusal (it renames its checkpoint over the old one): then the CLI's record fits, so the disk is filled
    // again and the CLI run again, at most CLI_REFILLS_MAX times (seen once in CI: seed 3164964460).
    const produceOne = () => runCli(['produce', 'fill', '--namespace', NS, '--server', node!.address, '--timeout-ms', '3000'], { input: 'x'.repeat(RECORD_PAYLOAD_BYTES) + '\n' });
    let cli = await produceOne();
    for (let refill = 0; cli.code === 0 && !retention && refill < CLI_REFILLS_MAX; refill++) {
      for (const [seq, payload] of await fillUntilRefused(client, 'fill', rng, stats, mnt)) acked.set(seq, payload);
      cli = await produceOne();
    }
    stats.cliMessage = cli.stderr.trim();
    // With retention (RETENTION_MS 3 s, about the fill's duration) the oldest segments may expire and be
    // deleted while the CLI starts: then its append succeeds, and so may the next one (checked below).
    const freedAlready = retention && cli.code === 0;
    if (cli.code === 0 && !freedAlready) throw new Error(`nativelog produce on a full disk exited 0: ${cli.stdout}`);
    if (!freedAlready && !/disk|full|free|space/i.test(cli.stderr)) throw new Error(`nativelog produce on a full disk failed without saying the disk is full: ${cli.stderr}`);

    // Still up: every acked record intact; a second append is refused the same way.
    await checkAcked(client, 'fill', acked, stats);
    const again = await appendRaw(client, NS, 'fill', 0, [rng.bytes(100)]);
    if (!(retention && again.ok) && (again.ok || again.name !== 'DISK_FULL')) throw new Error(`an append on the full disk got ${JSON.stringify(again)}`);

    if (!retention) {
      // Deleting the stream frees the space; appends succeed again.
      await step('deleting the stream that filled the disk', () => client!.deleteStream('fill', { namespace: NS }));
      await step('creating a stream after the delete', () => client!.createStream('after', { namespace: NS, shards: 1 }));
      const afterAcked = new Map<number, string>();
      for (let i = 0; i < 20; i++) {
        const p = `after-${i}-${rng.text(200)}`;
        const r = await appendRaw(client, NS, 'after', 0, [new TextEncoder().encode(p)]);
        if (!r.ok) throw new Error(`append ${i} after deleting the full stream failed: ${r.name}: ${r.message} (free ${freeBytes(mnt)} bytes)`);
        afterAcked.set(r.firstSeq, p);
        stats.appendsAfterDelete++;
      }
      await checkAcked(client, 'after', afterAcked, stats);
    } else {
      // Retention alone frees space: wait for appends to succeed again.
      const t0 = Date.now();
      for (;;) {
        const r = await appendRaw(client, NS, 'fill', 0, [rng.bytes(RECORD_PAYLOAD_BYTES)]);
        if (r.ok) break;
        if (r.name !== 'DISK_FULL') throw new Error(`while waiting for retention, an append got ${r.name}: ${r.message}`);
        if (Date.now() - t0 > RETENTION_WAIT_MS) {
          const d = await client.describeStream('fill', { namespace: NS });
          throw new Error(`retention (${RETENTION_MS} ms) had not freed space ${RETENTION_WAIT_MS} ms after the disk filled: appends still fail with ${r.message}; shard ${JSON.stringify(d.shardInfo[0])}, ${freeBytes(mnt)} bytes free`);
        }
        await sleep(200);
      }
      stats.retentionFreedAfterMs = Date.now() - t0;
      const d = await client.describeStream('fill', { namespace: NS });
      if (d.shardInfo[0]!.startSeq === 0) throw new Error('appends succeed again but retention deleted nothing');
      await checkAcked(client, 'fill', acked, stats);
    }

    await client.close();
    client = undefined;
    const exit = await node.stop();
    node = undefined;
    if (exit.code !== 0) throw new Error(`the node exited ${exit.code} on SIGTERM after the full disk`);
    const v = await verifyDataDir(dataDir);
    if (v.code !== 0) throw new Error(`verify after the full disk exited ${v.code}: ${v.stdout.slice(0, 1500)} ${v.stderr.slice(0, 500)}`);
    return stats;
  } catch (err) {
    throw withSeed(`full-disk ${mode}`, seed, `${(err as Error).message}${node === undefined ? '' : `; ${node.describeFailure()}`}`);
  } finally {
    await client?.close().catch(() => undefined);
    if (node !== undefined) await node.kill9();
    m.unmount();
    cleanup();
  }
}

/**
 * Appends until even a 100-byte append is refused: 64 KiB appends until one
 * is refused, then single 4000-byte records, then single 100-byte ones (a
 * smaller write may still fit after a bigger one did not). Returns seq ->
 * payload of everything acked; stats get the free bytes and the message of
 * the last refusal.
 */
async function fillUntilRefused(client: Client, stream: string, rng: Rng, stats: FullDiskStats, mnt: string): Promise<Map<number, string>> {
  const acked = new Map<number, string>();
  const sizes = [
    { records: RECORDS_PER_APPEND, bytes: RECORD_PAYLOAD_BYTES },
    { records: 1, bytes: RECORD_PAYLOAD_BYTES },
    { records: 1, bytes: 100 },
  ];
  let appends = 0;
  for (const size of sizes) {
    for (;;) {
      if (++appends > FILL_APPENDS_MAX) throw new Error(`${FILL_APPENDS_MAX} appends never filled a ${TMPFS_BYTES}-byte disk`);
      const payloads = Array.from({ length: size.records }, (_, k) => `${stream}-${appends}-${k}-${rng.text(size.bytes - 30)}`);
      const r = await appendRaw(client, NS, stream, 0, payloads.map((p) => new TextEncoder().encode(p)));
      if (r.ok) {
        payloads.forEach((p, k) => acked.set(r.firstSeq + k, p));
        stats.ackedBeforeFull += payloads.length;
        stats.bytesAckedBeforeFull += payloads.length * size.bytes;
        continue;
      }
      stats.freeBytesAtRefusal = freeBytes(mnt);
      stats.refusalMessage = r.message;
      if (r.name !== 'DISK_FULL') throw new Error(`filling the disk ended with ${r.name} (not DISK_FULL): ${r.message}`);
      break;
    }
  }
  return acked;
}

/** Reads back every acked record (those retention has removed excepted, on a stream with retention). */
async function checkAcked(client: Client, stream: string, acked: Map<number, string>, stats: FullDiskStats): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const d = await client.describeStream(stream, { namespace: NS });
    const start = servingShard(d.shardInfo[0]!).startSeq;
    if (start > 0 && d.retentionMs === null) throw new Error(`${stream} starts at seq ${start} without retention: acked records vanished`);
    const seqs = [...acked.keys()].filter((q) => q >= start).sort((a, b) => a - b);
    if (seqs.length === 0) return;
    try {
      await readRange(client, NS, stream, 0, seqs[0]!, seqs[seqs.length - 1]! + 1, (r) => {
        const want = acked.get(r.seq);
        if (want !== undefined && text(r.payload) !== want) throw new Error(`${stream} seq ${r.seq}: acked ${want.slice(0, 40)}..., read ${text(r.payload).slice(0, 40)}...`);
        stats.recordsReadBack++;
      });
      return;
    } catch (e) {
      // Retention may delete the oldest records while they are being read: start again from the new startSeq.
      if (d.retentionMs === null || !isCode(e, 'OUT_OF_RANGE') || attempt >= 5) throw e;
    }
  }
}

async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const code = (e as { codeName?: string }).codeName;
    throw new Error(`${what} failed${code === undefined ? '' : ` with ${code}`}: ${(e as Error).message}`);
  }
}
