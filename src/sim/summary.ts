/** Prints a RunSummary for the sim and soak commands (text, or one JSON object). */
import type { InjectedBug } from '../consensus/types.js';
import type { RunSummary } from './run-seeds.js';

/** The MetaStore side of a run: client operations by outcome and the linearizability checks. */
export function metaStoreSummary(s: RunSummary) {
  const t = s.stats;
  return {
    opsOk: t.metaOpsOk, opsFailed: t.metaOpsFailed, opsUnknown: t.metaOpsUnknown, opsDropped: t.metaOpsDropped, reads: t.metaReads,
    linearizabilityChecksPassed: t.linearizabilityChecksPassed, tooComplex: t.linearizabilityTooComplex,
  };
}

export function printSummary(s: RunSummary, json: boolean, bug: InjectedBug | null): void {
  const f = s.failure;
  const m = metaStoreSummary(s);
  if (json) {
    console.log(JSON.stringify({
      seeds: s.seedsRun, steps: s.steps, events: s.events, stepsPerSec: s.stepsPerSec, wallMs: Math.round(s.wallMs),
      simulatedMs: s.simulatedMs, committed: s.committed, livenessMsMax: s.livenessMsMax, convergenceMsMax: s.convergenceMsMax, stats: s.stats, metaStore: m, violations: s.violations,
      injectedBug: bug, failedSeed: f?.seed ?? null, violation: f?.violation ?? null, trace: f?.trace ?? [],
    }));
    return;
  }
  console.log(`seeds ${s.seedsRun}, steps ${s.steps}, ${s.stepsPerSec} steps/s, wall ${(s.wallMs / 1000).toFixed(1)} s, ` +
    `simulated ${(s.simulatedMs / 1000).toFixed(0)} s, entries committed ${s.committed}, slowest commit after heal ${s.livenessMsMax} ms, slowest convergence ${s.convergenceMsMax} ms, violations ${s.violations}` +
    (bug ? `, injected bug ${bug}` : ''));
  console.log(`MetaStore ops ok ${m.opsOk}, failed ${m.opsFailed}, unknown ${m.opsUnknown}, not applied ${m.opsDropped}, reads ${m.reads}; ` +
    `linearizability: ${m.linearizabilityChecksPassed} stream histories passed, ${m.tooComplex} too complex`);
  if (f !== null) {
    console.log(`VIOLATION at seed ${f.seed} (${f.nodes} voters): ${f.violation}`);
    console.log(`replay: npm run sim -- --seeds 1 --seed ${f.seed}${f.nodes ? ` --nodes ${f.nodes}` : ''}${bug ? ` --inject-bug ${bug}` : ''}`);
    console.log('last events:');
    for (const line of f.trace) console.log(`  ${line}`);
  }
}
