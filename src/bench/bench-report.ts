/**
 * How a BenchResult is shown: a short human table, or (--json) one JSON
 * object on one line (the last line of stdout).
 */
import type { BenchResult } from './run-bench.js';
import type { LatencySummaryMs } from './latency-histogram.js';
import { fmtInt } from './progress-line.js';

const mb = (v: number): string => `${v.toFixed(1)} MB/s`;
const lat = (l: LatencySummaryMs): string => `p50 ${l.p50.toFixed(2)}  p99 ${l.p99.toFixed(2)}  p99.9 ${l.p999.toFixed(2)}  max ${l.max.toFixed(2)} ms`;
const pct = (r: number | null): string => (r === null ? 'n/a' : `${(r * 100).toFixed(1)}%`);

export function formatBenchJson(r: BenchResult): string {
  return JSON.stringify(r);
}

export function formatBenchText(r: BenchResult): string {
  const c = r.config;
  const lines: string[] = [];
  lines.push(
    `nativelog bench: ${c.recordBytes}-byte records, ${c.producers} producer(s), ${c.shards} shard(s), batch ${c.batchBytes} B, linger ${c.lingerMs} ms, ` +
      `window ${c.inFlightRecordsPerProducer} records/producer, fsync ${c.nodeFsync ?? "(server's)"}, node ${c.node} at ${c.address}`,
  );
  if (r.cluster.nodes > 1 || r.cluster.replicas > 1) {
    lines.push(`cluster: ${r.cluster.nodes} nodes, ${r.cluster.replicas} replicas, write quorum ${r.cluster.writeQuorum}, acks ${c.acks}, sequencer of each shard: node ${r.cluster.sequencers.join(', ')}`);
  }
  lines.push(`machine: ${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.os}, node ${r.machine.node}, load ${r.machine.loadAverage1m} at start`);
  const p = r.produce;
  lines.push(
    `produce  ${fmtInt(p.recordsPerSec)} rec/s  ${mb(p.mbPerSec)}  (${fmtInt(p.records)} records in ${p.seconds.toFixed(2)} s after ${c.warmupSeconds} s warm-up${p.offeredRate === null ? ', closed loop' : `, offered ${fmtInt(p.offeredRate)} rec/s`})`,
  );
  lines.push(`  ack latency ${lat(p.latencyMs)}${p.coordinatedOmissionCorrected ? ' (from due send time)' : ' (closed loop: reflects the window)'}`);
  lines.push(`consume  ${fmtInt(r.consume.recordsPerSec)} rec/s  ${mb(r.consume.mbPerSec)}  (${fmtInt(r.consume.records)} records in ${r.consume.seconds.toFixed(2)} s${r.consume.tailRecords > 0 ? `, ${fmtInt(r.consume.tailRecords)} of them followed past a replica's first end` : ''})`);
  const v = r.verification;
  lines.push(`  verified ${v.ok ? 'OK' : 'FAILED'}: ${fmtInt(v.consumed)} consumed of ${fmtInt(v.expected)} acked, ${v.duplicates} dup, ${v.missing} missing, ${v.seqGaps} seq gaps, ${v.bodyChecked} payloads compared, ${v.corrupt} corrupt`);
  if (r.endToEnd !== null) {
    const e = r.endToEnd;
    lines.push(`end-to-end at ${fmtInt(e.offeredRate)} rec/s offered (${fmtInt(e.produce.recordsPerSec)} achieved): ${lat(e.latencyMs)}`);
    lines.push(`  ack latency at that rate ${lat(e.produce.latencyMs)}${e.drainTimedOut ? '  (consumers did not catch up!)' : ''}`);
  }
  if (r.limits !== null) {
    const l = r.limits;
    const ba = (b: number, a: number, early: boolean): string => `(before ${b.toFixed(1)}, after ${a.toFixed(1)}${early ? ', stopped early at the time bound' : ''})`;
    lines.push(`machine limits (best of a probe before the node and a pass after it on the same bytes):`);
    lines.push(`  raw write              ${mb(l.rawWriteMbPerSec)} ${ba(l.before.rawWrite.mbPerSec, l.after.rawWrite.mbPerSec, l.after.rawWrite.stoppedEarly)}  node produce = ${pct(r.ratios.produceVsRawWrite)} of it`);
    lines.push(`  raw write + fdatasync  ${mb(l.rawFsyncWriteMbPerSec)} ${ba(l.before.rawFsyncWrite.mbPerSec, l.after.rawFsyncWrite.mbPerSec, l.after.rawFsyncWrite.stoppedEarly)}  node produce = ${pct(r.ratios.produceVsRawFsyncWrite)} of it`);
    lines.push(`  tcp loopback           ${mb(l.tcpLoopbackMbPerSec)} ${ba(l.before.tcpLoopback.mbPerSec, l.after.tcpLoopback.mbPerSec, l.after.tcpLoopback.stoppedEarly)}  node produce = ${pct(r.ratios.produceVsTcpLoopback)}, consume = ${pct(r.ratios.consumeVsTcpLoopback)} of it`);
  }
  if (r.cpu.nodeSecondsProduce !== null) {
    const each = r.cpu.nodeSecondsProducePerNode !== null && r.cpu.nodeSecondsProducePerNode.length > 1 ? ` [by node: ${r.cpu.nodeSecondsProducePerNode.map((x) => x.toFixed(2)).join(', ')} s]` : '';
    lines.push(`cpu during produce: node ${r.cpu.nodeSecondsProduce.toFixed(2)} s${each} (${r.cpu.nodeMicrosPerRecord} us/record), bench client ${r.cpu.benchSecondsProduce.toFixed(2)} s (${r.cpu.benchMicrosPerRecord} us/record)`);
  }
  for (const problem of r.problems) lines.push(`PROBLEM: ${problem}`);
  return lines.join('\n');
}
