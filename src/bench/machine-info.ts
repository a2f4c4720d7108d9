/** The machine a result was measured on, recorded with every result. */
import { cpus, freemem, loadavg, totalmem, release, platform } from 'node:os';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  freeMemoryMb: number;
  /** 1-minute load average when the run started: > cpus means the machine was busy with something else. */
  loadAverage1m: number;
  os: string;
  node: string;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryMb: Math.round(totalmem() / 1e6),
    freeMemoryMb: Math.round(freemem() / 1e6),
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}
