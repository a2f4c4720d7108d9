/**
 * The machine's own network limit, measured in the same run as the node:
 * the same payload bytes pushed over one TCP connection on 127.0.0.1 to a
 * sink in another process (tcp-sink-process.ts), in writes of the producer's
 * batch size, honouring backpressure ('drain'). The clock runs from the
 * first write to the sink's one-byte answer that it received everything.
 */
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { recordsPerBatch } from './raw-write-limit.js';

export interface TcpLoopbackResult {
  bytes: number;
  batchBytes: number;
  seconds: number;
  mbPerSec: number;
  stoppedEarly: boolean;
}

export interface TcpLoopbackOptions {
  totalBytes: number;
  recordBytes: number;
  batchBytes: number;
  template: Uint8Array;
  /** Bound on the run: fewer bytes are sent when the estimated time would pass it (estimated from a first pass). */
  secondsMax: number;
}

export async function measureTcpLoopback(o: TcpLoopbackOptions): Promise<TcpLoopbackResult> {
  const child = fork(new URL('./tcp-sink-process.js', import.meta.url), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: unknown) => resolve((m as { port: number }).port));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`tcp sink exited early (code ${code})`)));
    });
    const perBatch = recordsPerBatch(o.recordBytes, o.batchBytes);
    const batch = Buffer.alloc(perBatch * o.recordBytes);
    for (let i = 0; i < perBatch; i++) batch.set(o.template, i * o.recordBytes);
    // A short probe bounds the full run by secondsMax.
    const probeBytes = Math.min(o.totalBytes, 64 * 1024 * 1024);
    const probe = await pushOnce(port, probeBytes, batch);
    let total = o.totalBytes;
    let stoppedEarly = false;
    const estSeconds = (total / probeBytes) * probe;
    if (estSeconds > o.secondsMax) {
      total = Math.max(probeBytes, Math.floor((o.secondsMax / probe) * probeBytes));
      stoppedEarly = total < o.totalBytes;
    }
    const seconds = total === probeBytes ? probe : await pushOnce(port, total, batch);
    return { bytes: total, batchBytes: batch.length, seconds, mbPerSec: total / 1e6 / seconds, stoppedEarly };
  } finally {
    child.disconnect();
    child.kill();
  }
}

/** Sends `total` bytes in writes of `batch`; resolves with the seconds it took. */
function pushOnce(port: number, total: number, batch: Buffer): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1', noDelay: true });
    sock.once('error', reject);
    sock.once('connect', () => {
      const t0 = performance.now();
      sock.once('data', () => {
        const s = (performance.now() - t0) / 1000;
        sock.destroy();
        resolve(s);
      });
      const head = Buffer.alloc(8);
      head.writeBigUInt64LE(BigInt(total), 0);
      sock.write(head);
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          const n = Math.min(batch.length, total - sent);
          sent += n;
          const ok = sock.write(n === batch.length ? batch : batch.subarray(0, n));
          if (!ok) {
            sock.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
}
