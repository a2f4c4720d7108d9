/**
 * Scenario 1, the crash loop: a real node, producers at full speed through
 * the client library, kill -9 at a seeded random moment, restart on the same
 * port and data dir, and check after every restart that every record acked
 * before the kill is there with its seq and bytes. Producers keep running
 * across kills (their in-flight batches are retried idempotently against the
 * restarted node). Some iterations also kill a node during its start-up
 * (recovery). At the end: every acked record exactly once, seqs dense, no
 * payload stored twice or invented, and `nativelog verify` clean.
 */
import { spawn } from 'node:child_process';
import { connect, type Client } from '../../../src/client/client.js';
import { verifyDataDir } from '../harness/cli.js';
import { Ledger, readBack, type Ack } from '../harness/ledger.js';
import { LoadProducer, sleep, waitFor } from '../harness/load.js';
import { CLI_MAIN, NodeProcess, REPO_ROOT, type NodeFlags } from '../harness/node-proc.js';
import { Rng, withSeed } from '../harness/rng.js';
import { freePort, tempDir } from '../harness/tmp.js';

export interface CrashLoopOptions {
  seed: number;
  /** kill -9 of a serving node under load (the issue asks for >= 20 in CI). */
  iterations: number;
  shards: number;
  producers: number;
  /** Sends outstanding per producer. */
  window: number;
  /** The kill lands this long (seeded, uniform) after producers are acked again. */
  killDelayMsMin: number;
  killDelayMsMax: number;
  /** Probability that an iteration also kills a node while it starts (recovery). */
  startupKillProbability: number;
  log?: (line: string) => void;
}

export interface CrashLoopStats {
  seed: number;
  kills: number;
  startupKills: number;
  acked: number;
  /** Records read back and validated client side, over all checks. */
  recordsChecked: number;
  /** Acked records found at their seq with identical bytes in the final check. */
  ackedVerified: number;
  unackedPresent: number;
  sendFailures: number;
  /** Why sends failed (the producer gave up on them; their outcome is unknown), with counts. */
  failureReasons: Record<string, number>;
  fsyncPolicies: string[];
}

/** Fsync settings drawn per restart: the node's default (always) and the two that leave data unsynced (no loss on kill -9 either, per src/storage/defaults.ts). */
const FSYNC_CHOICES = ['always', 'always', 'interval:200', 'bytes:262144'];
/** Small segments so that rolls, sealed segments and checkpoints happen under the kills. */
const CRASH_NODE_FLAGS: NodeFlags = { 'segment-bytes-max': 512 * 1024 };
/** Longest the producers may need to be acked again after a restart (liveness bound). */
const PRODUCERS_RESUME_TIMEOUT_MS = 30_000;
const NS = 'torture';
const STREAM = 'crashloop';

export async function runCrashLoop(o: CrashLoopOptions): Promise<CrashLoopStats> {
  const rng = new Rng(o.seed);
  const log = o.log ?? (() => undefined);
  const { dir, cleanup } = tempDir('crash');
  const dataDir = `${dir}/data`;
  const port = await freePort();
  const stats: CrashLoopStats = { seed: o.seed, kills: 0, startupKills: 0, acked: 0, recordsChecked: 0, ackedVerified: 0, unackedPresent: 0, sendFailures: 0, failureReasons: {}, fsyncPolicies: [] };
  const ledger = new Ledger();
  let node: NodeProcess | undefined;
  const clients: Client[] = [];
  const producers: LoadProducer[] = [];
  const flagsFor = (): NodeFlags => {
    const fsync = rng.pick(FSYNC_CHOICES);
    stats.fsyncPolicies.push(fsync);
    return { ...CRASH_NODE_FLAGS, fsync };
  };
  try {
    node = await NodeProcess.start(dataDir, flagsFor(), port);
    const admin = await connect(node.address, { timeoutMs: 30_000 });
    clients.push(admin);
    await admin.createStream(STREAM, { namespace: NS, shards: o.shards });
    for (let p = 0; p < o.producers; p++) {
      const c = await connect(node.address, { timeoutMs: 30_000, reconnectMinMs: 20, reconnectMaxMs: 500 });
      clients.push(c);
      const lp = new LoadProducer(c, ledger, rng.fork(`producer-${p}`), { ns: NS, stream: STREAM, window: o.window, payloadBytesMin: 16, payloadBytesMax: 300, tag: `p${p}`, timeoutMs: 60_000 });
      producers.push(lp);
      lp.start();
    }
    for (let i = 0; i < o.iterations; i++) {
      const ackedBefore = ledger.acked.size;
      await waitFor(`producers to be acked again after restart ${i}`, () => ledger.acked.size > ackedBefore, PRODUCERS_RESUME_TIMEOUT_MS, 5);
      const delay = rng.int(o.killDelayMsMin, o.killDelayMsMax);
      await sleep(delay);
      const ackedAtKill = new Map<string, Ack>(ledger.acked);
      await node.kill9();
      stats.kills++;
      if (rng.bool(o.startupKillProbability)) {
        const d = rng.int(0, 400);
        await spawnAndKill(dataDir, { ...CRASH_NODE_FLAGS, fsync: 'always' }, port, d);
        stats.startupKills++;
      }
      node = await NodeProcess.start(dataDir, flagsFor(), port);
      const from = (shard: number) => {
        const m = Ledger.minSeq(newSince(ackedAtKill, ackedBefore), shard);
        return Number.isFinite(m) ? m : Number.MAX_SAFE_INTEGER;
      };
      const r = await readBack(admin, NS, STREAM, o.shards, ledger, { acks: ackedAtKill, full: false, from });
      stats.recordsChecked += r.recordsRead;
      log(`iteration ${i}: killed ${delay} ms into the load with ${ackedAtKill.size} acked; after restart ${r.ackedChecked} acked records of the at-risk window verified (${r.recordsRead} read)`);
    }
    await Promise.all(producers.map((p) => p.stop()));
    if (ledger.violations.length > 0) throw new Error(`ack ledger violations: ${ledger.violations.slice(0, 5).join('; ')}`);
    const final = await readBack(admin, NS, STREAM, o.shards, ledger, { full: true });
    stats.recordsChecked += final.recordsRead;
    stats.ackedVerified = final.ackedChecked;
    stats.unackedPresent = final.unackedPresent;
    stats.acked = ledger.acked.size;
    stats.sendFailures = ledger.failed.size;
    const distinct = [...new Set(ledger.failed.values())];
    log(`send failures: ${distinct.length} distinct: ${distinct.slice(0, 12).join(' | ')}`);
    for (const why of ledger.failed.values()) {
      const key = why.replace(/\d+/g, 'N').slice(0, 120);
      stats.failureReasons[key] = (stats.failureReasons[key] ?? 0) + 1;
    }
    if (final.ackedChecked !== ledger.acked.size) throw new Error(`final read-back verified ${final.ackedChecked} acked records of ${ledger.acked.size}`);
    for (const c of clients) await c.close();
    clients.length = 0;
    const exit = await node.stop();
    if (exit.code !== 0) throw new Error(`SIGTERM'd node exited with code ${exit.code} signal ${exit.signal}`);
    const v = await verifyDataDir(dataDir);
    if (v.code !== 0) throw new Error(`nativelog verify --data-dir ${dataDir} exited ${v.code} after the crash loop: ${v.stdout.slice(0, 2000)} ${v.stderr.slice(0, 500)}`);
    return stats;
  } catch (err) {
    throw withSeed('crash-loop', o.seed, `${(err as Error).message}${node === undefined ? '' : `; ${node.describeFailure()}`}`);
  } finally {
    for (const p of producers) void p.stop().catch(() => undefined);
    for (const c of clients) await c.close().catch(() => undefined);
    if (node !== undefined) await node.kill9();
    cleanup();
  }
}

/** Acks of the last iteration: the records at risk in this kill. */
function newSince(atKill: Map<string, Ack>, ackedBefore: number): Ack[] {
  // Map iteration order is insertion order: the acks after the first `ackedBefore` ones are this iteration's.
  const out: Ack[] = [];
  let k = 0;
  for (const a of atKill.values()) if (k++ >= ackedBefore) out.push(a);
  return out;
}

/** Starts a node and kill -9s it delayMs later, whether or not it is listening yet (a crash during recovery). */
async function spawnAndKill(dataDir: string, flags: NodeFlags, port: number, delayMs: number): Promise<void> {
  const args = [CLI_MAIN, 'start', '--port', String(port), '--data-dir', dataDir];
  for (const [k, v] of Object.entries(flags)) args.push(`--${k}`, String(v));
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([sleep(delayMs), exited]);
  if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  await exited;
}
