/** Prints a RunSummary for the sim and soak commands (text, or one JSON object). */
import type { InjectedBug } from '../consensus/types.js';
import type { RunSummary } from './run-seeds.js';

export function printSummary(s: RunSummary, json: boolean, bug: InjectedBug | null): void {
  const f = s.failure;
  if (json) {
    console.log(JSON.stringify({
      seeds: s.seedsRun, steps: s.steps, events: s.events, stepsPerSec: s.stepsPerSec, wallMs: Math.round(s.wallMs),
      simulatedMs: s.simulatedMs, committed: s.committed, livenessMsMax: s.livenessMsMax, convergenceMsMax: s.convergenceMsMax, stats: s.stats, violations: s.violations,
      injectedBug: bug, failedSeed: f?.seed ?? null, violation: f?.violation ?? null, trace: f?.trace ?? [],
    }));
    return;
  }
  console.log(`seeds ${s.seedsRun}, steps ${s.steps}, ${s.stepsPerSec} steps/s, wall ${(s.wallMs / 1000).toFixed(1)} s, ` +
    `simulated ${(s.simulatedMs / 1000).toFixed(0)} s, entries committed ${s.committed}, slowest commit after heal ${s.livenessMsMax} ms, slowest convergence ${s.convergenceMsMax} ms, violations ${s.violations}` +
    (bug ? `, injected bug ${bug}` : ''));
  if (f !== null) {
    console.log(`VIOLATION at seed ${f.seed} (${f.nodes} voters): ${f.violation}`);
    console.log(`replay: npm run sim -- --seeds 1 --seed ${f.seed}${f.nodes ? ` --nodes ${f.nodes}` : ''}${bug ? ` --inject-bug ${bug}` : ''}`);
    console.log('last events:');
    for (const line of f.trace) console.log(`  ${line}`);
  }
}
