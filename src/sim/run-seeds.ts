/** Runs many seeds and summarizes; stops at the first violation. */
import type { InjectedBug } from '../consensus/types.js';
import { emptyStats, runSeed, type SeedResult, type SimStats } from './simulation.js';

export interface RunOptions {
  readonly seeds: number;
  readonly firstSeed: number;
  readonly nodes?: number;
  readonly bug?: InjectedBug | null;
  readonly faultMs?: number;
  /** Stop once this many wall-clock ms have passed (the soak). */
  readonly wallMsMax?: number;
  readonly onSeed?: (r: SeedResult) => void;
}

export interface RunSummary {
  readonly seedsRun: number;
  readonly steps: number;
  readonly events: number;
  readonly simulatedMs: number;
  readonly wallMs: number;
  readonly stepsPerSec: number;
  readonly committed: number;
  /** Slowest heal-to-commit time seen (simulated ms). */
  readonly livenessMsMax: number;
  /** Slowest heal-to-all-voters-applied time seen (simulated ms). */
  readonly convergenceMsMax: number;
  readonly violations: number;
  readonly failure: SeedResult | null;
  readonly stats: SimStats;
}

export function runSeeds(o: RunOptions): RunSummary {
  const start = performance.now();
  let steps = 0, events = 0, simulatedMs = 0, committed = 0, livenessMsMax = 0, convergenceMsMax = 0, seedsRun = 0;
  let failure: SeedResult | null = null;
  const stats = emptyStats();
  for (let k = 0; k < o.seeds; k++) {
    if (o.wallMsMax !== undefined && performance.now() - start >= o.wallMsMax) break;
    const r = runSeed({ seed: o.firstSeed + k, nodes: o.nodes, bug: o.bug ?? null, faultMs: o.faultMs });
    seedsRun++;
    steps += r.steps;
    events += r.events;
    simulatedMs += r.simulatedMs;
    committed += r.committed;
    if (r.livenessMs !== null) livenessMsMax = Math.max(livenessMsMax, r.livenessMs);
    if (r.convergenceMs !== null) convergenceMsMax = Math.max(convergenceMsMax, r.convergenceMs);
    for (const k of Object.keys(stats) as (keyof SimStats)[]) stats[k] += r.stats[k];
    o.onSeed?.(r);
    if (r.violation !== null) {
      failure = r;
      break;
    }
  }
  const wallMs = performance.now() - start;
  return {
    seedsRun, steps, events, simulatedMs, wallMs, stepsPerSec: Math.round(steps / Math.max(wallMs, 1) * 1000),
    committed, livenessMsMax, convergenceMsMax, violations: failure === null ? 0 : 1, failure, stats,
  };
}
