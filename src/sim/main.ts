#!/usr/bin/env node
/**
 * npm run sim -- --seeds N [--seed S] [--nodes K] [--json] [--inject-bug NAME]
 * Runs seeds S, S+1, ... S+N-1 through the deterministic cluster simulator.
 * Exit 0 when no invariant was violated; on a violation prints the seed and
 * the trace that led to it and exits 1.
 */
import { Command, InvalidArgumentError } from 'commander';
import { injectedBugNames, type InjectedBug } from '../consensus/types.js';
import { runSeeds, type RunSummary } from './run-seeds.js';

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

function bugName(v: string): InjectedBug {
  if (!(injectedBugNames as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown bug; one of: ${injectedBugNames.join(', ')}`);
  return v as InjectedBug;
}

export function printSummary(s: RunSummary, json: boolean, bug: InjectedBug | null): void {
  const f = s.failure;
  if (json) {
    console.log(JSON.stringify({
      seeds: s.seedsRun, steps: s.steps, events: s.events, stepsPerSec: s.stepsPerSec, wallMs: Math.round(s.wallMs),
      simulatedMs: s.simulatedMs, committed: s.committed, livenessMsMax: s.livenessMsMax, violations: s.violations,
      injectedBug: bug, failedSeed: f?.seed ?? null, violation: f?.violation ?? null, trace: f?.trace ?? [],
    }));
    return;
  }
  console.log(`seeds ${s.seedsRun}, steps ${s.steps}, ${s.stepsPerSec} steps/s, wall ${(s.wallMs / 1000).toFixed(1)} s, ` +
    `simulated ${(s.simulatedMs / 1000).toFixed(0)} s, entries committed ${s.committed}, slowest recovery after heal ${s.livenessMsMax} ms, violations ${s.violations}` +
    (bug ? `, injected bug ${bug}` : ''));
  if (f !== null) {
    console.log(`VIOLATION at seed ${f.seed} (${f.nodes} voters): ${f.violation}`);
    console.log(`replay: npm run sim -- --seeds 1 --seed ${f.seed}${f.nodes ? ` --nodes ${f.nodes}` : ''}${bug ? ` --inject-bug ${bug}` : ''}`);
    console.log('last events:');
    for (const line of f.trace) console.log(`  ${line}`);
  }
}

const program = new Command('sim')
  .description('deterministic Raft cluster simulator')
  .option('--seeds <n>', 'number of seeds to run', int('--seeds', 1), 100)
  .option('--seed <s>', 'first seed', int('--seed', 0), 1)
  .option('--nodes <k>', 'initial voters (default: 3 or 5, chosen by each seed)', int('--nodes', 1))
  .option('--inject-bug <name>', `break the implementation on purpose: ${injectedBugNames.join(', ')}`, bugName)
  .option('--json', 'print one JSON object')
  .action((o: { seeds: number; seed: number; nodes?: number; injectBug?: InjectedBug; json?: boolean }) => {
    const s = runSeeds({ seeds: o.seeds, firstSeed: o.seed, nodes: o.nodes, bug: o.injectBug ?? null });
    printSummary(s, o.json === true, o.injectBug ?? null);
    process.exitCode = s.violations === 0 ? 0 : 1;
  });

program.parse();
