#!/usr/bin/env node
/**
 * npm run sim:soak -- --minutes N [--seed S] [--nodes K] [--json]
 * Runs consecutive seeds from S for N wall-clock minutes (or until a
 * violation), printing a progress line every 10 000 seeds.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runSeeds } from './run-seeds.js';
import { printSummary } from './summary.js';

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

const seedsMax = 1_000_000_000;

new Command('sim:soak')
  .description('long deterministic simulation soak')
  .option('--minutes <n>', 'wall-clock minutes to run', positive('--minutes'), 10)
  .option('--seed <s>', 'first seed', positive('--seed'), 1_000_000)
  .option('--nodes <k>', 'initial voters (default: 3 or 5, chosen by each seed)', positive('--nodes'))
  .option('--json', 'print one JSON object')
  .action((o: { minutes: number; seed: number; nodes?: number; json?: boolean }) => {
    let n = 0;
    const s = runSeeds({
      seeds: seedsMax, firstSeed: Math.floor(o.seed), nodes: o.nodes, wallMsMax: o.minutes * 60_000,
      onSeed: (r) => { if (++n % 10_000 === 0 && !o.json) console.log(`... ${n} seeds, last ${r.seed}`); },
    });
    printSummary(s, o.json === true, null);
    process.exitCode = s.violations === 0 ? 0 : 1;
  })
  .parse();
