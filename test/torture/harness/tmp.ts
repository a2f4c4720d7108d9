/** Temp folders and free ports for torture scenarios. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `nl-torture-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Lowest port of the kernel's ephemeral range (what connect() and listen(0) hand out). */
function ephemeralLow(): number {
  try {
    const n = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isSafeInteger(n) && n > 2000 ? n : 32768;
  } catch {
    return 32768;
  }
}

function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => {
      const a = srv.address();
      const got = typeof a === 'object' && a !== null ? a.port : null;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * A free port on 127.0.0.1 for a node that is restarted on the same port.
 * Chosen below the ephemeral range, so that while the node is down no
 * client socket of another process can be handed the port by the kernel.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let i = 0; i < 50; i++) {
    const p = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if ((await tryListen(p)) !== null) return p;
  }
  const any = await tryListen(0);
  if (any === null) throw new Error('no free port on 127.0.0.1');
  return any;
}
