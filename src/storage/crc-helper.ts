/**
 * The CRC helper thread of one ShardStore (see parallel-crc.ts for the
 * protocol). It sleeps on the control block's generation word; when woken it
 * claims units of the current batch one at a time and checks every record in
 * them with runPasses (structure and producer CRC, the same code the store
 * runs), setting FAIL when one does not pass. It only reads record bytes.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { runPasses } from './batch-check.js';
import {
  C_BUFID,
  C_BUSY,
  C_FAIL,
  C_GEN,
  C_HELPER_SLEEPS,
  C_HELPER_UNITS,
  C_NEXT,
  C_QUIT,
  C_STORE_SLEEPS,
  C_UNITS,
  CLAIMS_CLOSED,
  HELPER_SPIN_MS,
  type HelperData,
} from './parallel-crc.js';

const { control, units, port, recordBytesMax } = workerData as HelperData & { port: MessagePort };
let u8: Uint8Array = new Uint8Array(0);
let dv: DataView = new DataView(new ArrayBuffer(0));
let bufId = 0;

/** Adopts the buffer the store announced as `want` (posted before the batch was published). */
function adoptBuffer(want: number): boolean {
  while (bufId !== want) {
    const m = receiveMessageOnPort(port) as { message: { id: number; buffer: SharedArrayBuffer } } | undefined;
    if (m === undefined) return false;
    bufId = m.message.id;
    u8 = new Uint8Array(m.message.buffer);
    dv = new DataView(m.message.buffer);
  }
  return true;
}

let seen = 0;
for (;;) {
  const t0 = performance.now();
  while (Atomics.load(control, C_GEN) === seen && performance.now() - t0 < HELPER_SPIN_MS);
  if (Atomics.load(control, C_GEN) === seen) {
    // The store reads HELPER_SLEEPS after bumping GEN: either it sees 1 and notifies, or this wait sees the new GEN.
    Atomics.store(control, C_HELPER_SLEEPS, 1);
    Atomics.wait(control, C_GEN, seen);
    Atomics.store(control, C_HELPER_SLEEPS, 0);
  }
  seen = Atomics.load(control, C_GEN);
  if (Atomics.load(control, C_QUIT) !== 0) break;
  Atomics.store(control, C_BUSY, 1);
  for (;;) {
    const i = Atomics.add(control, C_NEXT, 1);
    if (i >= CLAIMS_CLOSED || i >= Atomics.load(control, C_UNITS)) break;
    let ok = false;
    try {
      ok = adoptBuffer(Atomics.load(control, C_BUFID)) && runPasses(u8, dv, units[2 * i]!, units[2 * i + 1]!, recordBytesMax);
    } catch {
      ok = false;
    }
    if (!ok) Atomics.store(control, C_FAIL, 1);
    Atomics.add(control, C_HELPER_UNITS, 1);
  }
  Atomics.store(control, C_BUSY, 0);
  if (Atomics.load(control, C_STORE_SLEEPS) !== 0) Atomics.notify(control, C_BUSY);
}
