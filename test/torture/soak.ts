/**
 * The torture soak: `npm run torture -- --minutes N [--seed S] [--only a,b] [--allow-no-mount]`.
 *
 * Loops the seven torture scenarios (the same code as the CI tests under
 * test/torture/*.test.ts, with bigger parameters and a fresh seed per run)
 * until N minutes have passed, then prints what was tried and what held.
 * Every selected scenario runs at least once; a scenario that started
 * before the deadline finishes, so the soak may overrun by one scenario. Exits 0 only if every scenario held; on the first
 * failure it prints the failure (with the seed to replay it:
 * TORTURE_SEED=<seed> on the CI test of that scenario) and exits 1.
 *
 * Scenarios: crash, power, corruption, hostile, fulldisk, slow, names.
 * fulldisk needs root to mount a tmpfs: without it the soak fails, unless
 * --allow-no-mount is given (then it says the scenario did not run).
 */
import { runCrashLoop } from './scenarios/crash-loop.js';
import { INDEX_KINDS, LOG_KINDS, runCorruption } from './scenarios/corruption.js';
import { MountUnavailable, runFullDisk, type FullDiskMode } from './scenarios/full-disk.js';
import { runHostileClients } from './scenarios/hostile-clients.js';
import { runCreateRace } from './scenarios/create-race.js';
import { runNames } from './scenarios/names.js';
import { runPowerLoss, type PolicyName } from './scenarios/power-loss.js';
import { runSlowConsumer } from './scenarios/slow-consumer.js';
import { Rng } from './harness/rng.js';

const ALL = ['crash', 'power', 'corruption', 'hostile', 'fulldisk', 'slow', 'names', 'race'] as const;
type Scenario = (typeof ALL)[number];

interface Totals {
  runs: Record<string, number>;
  kills: number;
  startupKills: number;
  crashRecordsChecked: number;
  ackedVerified: number;
  powerLosses: number;
  powerRecordsChecked: number;
  corruptionsPlanted: number;
  corruptionsNamedByVerify: number;
  corruptReadErrors: number;
  corruptionRecordsChecked: number;
  framesSent: number;
  hostileConnections: number;
  connectionsRefused: number;
  rssPeakBytes: number;
  rssBoundBytes: number;
  namesRejected: number;
  raceAcked: number;
  fullDiskRuns: number;
  notRun: string[];
}

function parseArgs(argv: string[]): { minutes: number; seed: number; only: Scenario[]; allowNoMount: boolean } {
  let minutes = NaN;
  let seed = Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
  let only: Scenario[] = [...ALL];
  let allowNoMount = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--minutes') minutes = Number(v());
    else if (a === '--seed') seed = Number(v()) >>> 0;
    else if (a === '--only') {
      only = v().split(',').map((s) => s.trim()) as Scenario[];
      for (const s of only) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s}; known: ${ALL.join(', ')}`);
    } else if (a === '--allow-no-mount') allowNoMount = true;
    else throw new Error(`unknown argument ${a}; usage: npm run torture -- --minutes N [--seed S] [--only ${ALL.join(',')}] [--allow-no-mount]`);
  }
  if (!(minutes > 0)) throw new Error('usage: npm run torture -- --minutes N (N > 0)');
  return { minutes, seed, only, allowNoMount };
}

async function main(): Promise<number> {
  const { minutes, seed, only, allowNoMount } = parseArgs(process.argv.slice(2));
  const deadline = Date.now() + minutes * 60_000;
  const started = Date.now();
  const rng = new Rng(seed);
  const t: Totals = {
    runs: {}, kills: 0, startupKills: 0, crashRecordsChecked: 0, ackedVerified: 0, powerLosses: 0, powerRecordsChecked: 0, corruptionsPlanted: 0,
    corruptionsNamedByVerify: 0, corruptReadErrors: 0, corruptionRecordsChecked: 0, framesSent: 0, hostileConnections: 0, connectionsRefused: 0,
    rssPeakBytes: 0, rssBoundBytes: 0, namesRejected: 0, raceAcked: 0, fullDiskRuns: 0, notRun: [],
  };
  const say = (l: string) => process.stdout.write(`[soak ${((Date.now() - started) / 60_000).toFixed(1)} min] ${l}\n`);
  say(`seed ${seed}, ${minutes} minutes, scenarios ${only.join(', ')}`);
  let round = 0;
  // The first round always runs every selected scenario, however short the time.
  while (round === 0 || Date.now() < deadline) {
    for (const sc of only) {
      if (round > 0 && Date.now() >= deadline) break;
      const s = rng.u32();
      say(`${sc} (seed ${s}) ...`);
      try {
        await runOne(sc, s, rng, t, round, allowNoMount, say);
      } catch (e) {
        say(`FAILED: ${sc} with seed ${s}: ${(e as Error).message}`);
        summary(t, say);
        return 1;
      }
      t.runs[sc] = (t.runs[sc] ?? 0) + 1;
    }
    round++;
  }
  summary(t, say);
  if (t.notRun.length > 0 && !allowNoMount) return 1;
  say('everything held');
  return 0;
}

async function runOne(sc: Scenario, seed: number, rng: Rng, t: Totals, round: number, allowNoMount: boolean, say: (l: string) => void): Promise<void> {
  switch (sc) {
    case 'crash': {
      const s = await runCrashLoop({ seed, iterations: 30, shards: 3, producers: 3, window: 2000, killDelayMsMin: 10, killDelayMsMax: 1500, startupKillProbability: 0.25 });
      t.kills += s.kills;
      t.startupKills += s.startupKills;
      t.crashRecordsChecked += s.recordsChecked;
      t.ackedVerified += s.ackedVerified;
      say(`crash: ${s.kills} kills (+${s.startupKills} during start-up), ${s.acked} acked, all verified`);
      return;
    }
    case 'power': {
      for (const policy of ['always', 'default', 'bytes'] as PolicyName[]) {
        for (const mode of ['drop-all', 'random'] as const) {
          for (const background of policy === 'always' ? [false] : [false, true]) {
            const s = await runPowerLoss({ seed: (seed + policy.length + mode.length) >>> 0, policy, mode, crashes: 400, fsyncBytes: 8192, background });
            t.powerLosses += s.crashes;
            t.powerRecordsChecked += s.recordsChecked;
          }
        }
      }
      say(`power: ${t.powerLosses} power losses so far`);
      return;
    }
    case 'corruption': {
      const families = [
        { kinds: ['flip', 'garbage'] as const, where: 'sealed' as const, destroyCheckpoints: false },
        { kinds: LOG_KINDS, where: 'any' as const, destroyCheckpoints: false },
        { kinds: INDEX_KINDS, where: 'any' as const, destroyCheckpoints: false },
        { kinds: [...LOG_KINDS, ...INDEX_KINDS], where: 'any' as const, destroyCheckpoints: rng.bool(0.3) },
      ];
      const f = families[round % families.length]!;
      const s = await runCorruption({ seed, kinds: [...f.kinds], plantings: 6, recordsPerShard: 3000, where: f.where, destroyCheckpoints: f.destroyCheckpoints, requireIntactAfterDamage: true });
      t.corruptionsPlanted += s.plantings.length;
      t.corruptionsNamedByVerify += s.verifyNamedAll ? s.plantings.filter((p) => p.kind !== 'index-delete').length : 0;
      t.corruptReadErrors += s.corruptReadErrors;
      t.corruptionRecordsChecked += s.recordsServedChecked;
      say(`corruption: ${s.plantings.length} planted, ${s.recordsServedChecked} records served and checked`);
      return;
    }
    case 'hostile': {
      const s = await runHostileClients({ seed, framesMin: 300_000, idleConnections: 500, slowConnections: 40, slowlorisConnections: 40, connectionsMax: 700, overflowConnections: 200 });
      t.framesSent += s.framesSent;
      t.hostileConnections += s.fuzzConnections + 500 + 80 + 200;
      t.connectionsRefused += s.overflowRefused;
      say(`hostile: ${s.framesSent} malformed frames, well-behaved client acked ${s.goodAcked}`);
      return;
    }
    case 'fulldisk': {
      for (const mode of ['guard', 'enospc-delete', 'enospc-retention'] as FullDiskMode[]) {
        try {
          await runFullDisk(mode, seed);
          t.fullDiskRuns++;
        } catch (e) {
          if (!(e instanceof MountUnavailable)) throw e;
          if (process.env['CI'] !== undefined && process.env['CI'] !== '') throw e;
          if (!allowNoMount) throw new Error(`${e.message} (run as root, or pass --allow-no-mount)`);
          if (!t.notRun.includes('fulldisk')) t.notRun.push('fulldisk');
          say(`fulldisk NOT RUN: ${e.message}`);
          return;
        }
      }
      say('fulldisk: guard, ENOSPC + delete, ENOSPC + retention held');
      return;
    }
    case 'slow': {
      const s = await runSlowConsumer({ seed, volumeBytes: 1024 * 1024 * 1024, producers: 3 });
      t.rssPeakBytes = Math.max(t.rssPeakBytes, s.peakRssBytes);
      t.rssBoundBytes = s.boundBytes;
      say(`slow: peak RSS ${mib(s.peakRssBytes)} (bound ${mib(s.boundBytes)}) with ${mib(s.producedBytes)} produced`);
      return;
    }
    case 'names': {
      const s = await runNames(seed);
      t.namesRejected += s.cliRejections + s.clientRejections;
      return;
    }
    case 'race': {
      const s = await runCreateRace(seed, { iterations: 300 });
      t.raceAcked += s.acked;
      say(`race: ${s.iterations} creates, ${s.deletes} deletes, ${s.acked} acked, all present exactly once after ${s.restarts} restarts`);
      return;
    }
  }
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function summary(t: Totals, say: (l: string) => void): void {
  say(`runs: ${JSON.stringify(t.runs)}`);
  say(`crash loop: ${t.kills} kill -9 under load (+${t.startupKills} during start-up), ${t.ackedVerified} acked records verified at the end, ${t.crashRecordsChecked} records read back and checked`);
  say(`power loss: ${t.powerLosses} simulated power losses, ${t.powerRecordsChecked} recovered records checked`);
  say(`corruption: ${t.corruptionsPlanted} planted, ${t.corruptionsNamedByVerify} named by verify, ${t.corruptReadErrors} CORRUPT reads, ${t.corruptionRecordsChecked} served records checked`);
  say(`hostile: ${t.framesSent} malformed frames, ${t.hostileConnections} hostile connections, ${t.connectionsRefused} refused past connectionsMax`);
  say(`memory: peak RSS ${mib(t.rssPeakBytes)} under a bound of ${mib(t.rssBoundBytes)}`);
  say(`create races: ${t.raceAcked} acked records verified`);
  say(`names: ${t.namesRejected} rejections; full disk runs: ${t.fullDiskRuns}${t.notRun.length > 0 ? `; NOT RUN: ${t.notRun.join(', ')}` : ''}`);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  },
);
