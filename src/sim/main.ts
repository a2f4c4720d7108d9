#!/usr/bin/env node
/**
 * npm run sim -- --seeds N [--seed S] [--nodes K] [--json] [--inject-bug NAME]
 * Runs seeds S, S+1, ... S+N-1 through the deterministic cluster simulator.
 * Exit 0 when no invariant was violated; on a violation prints the seed and
 * the trace that led to it and exits 1.
 */
import { Command, InvalidArgumentError } from 'commander';
import { injectedBugNames, type InjectedBug } from '../consensus/types.js';
import { nodeIdLimit } from './partitions.js';
import { runSeeds } from './run-seeds.js';
import { printSummary } from './summary.js';

function int(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `${name} must be an integer >= ${min}` : `${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function bugName(v: string): InjectedBug {
  if (!(injectedBugNames as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown bug; one of: ${injectedBugNames.join(', ')}`);
  return v as InjectedBug;
}

const program = new Command('sim')
  .description('deterministic Raft cluster simulator')
  .option('--seeds <n>', 'number of seeds to run', int('--seeds', 1), 100)
  .option('--seed <s>', 'first seed', int('--seed', 0), 1)
  .option('--nodes <k>', 'initial voters (default: 3 or 5, chosen by each seed)', int('--nodes', 1, nodeIdLimit - 2))
  .option('--inject-bug <name>', `break the implementation on purpose: ${injectedBugNames.join(', ')}`, bugName)
  .option('--json', 'print one JSON object')
  .action((o: { seeds: number; seed: number; nodes?: number; injectBug?: InjectedBug; json?: boolean }) => {
    const s = runSeeds({ seeds: o.seeds, firstSeed: o.seed, nodes: o.nodes, bug: o.injectBug ?? null });
    printSummary(s, o.json === true, o.injectBug ?? null);
    process.exitCode = s.violations === 0 ? 0 : 1;
  });

program.parse();
