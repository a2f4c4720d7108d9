/**
 * Record CRC checks of a large append batch on a second thread, in parallel
 * with the batch's write (ShardStore.append; docs/FORMAT.md section 10).
 *
 * Why: zlib.crc32 reads about 3 GB/s here, about the speed at which the
 * kernel copies a write into the page cache, so checking CRCs before writing
 * doubles the time of a large append. Here the store writes the batch while a
 * helper thread checks it, then both share what is left of the checks.
 *
 * Protocol (one helper per store, Atomics on a small shared control block):
 *   - The store cuts the batch into units of whole records (at least
 *     CRC_UNIT_BYTES each, at most CRC_UNITS_MAX units), writes their byte
 *     ranges into `units`, resets FAIL, stores UNITS, then opens claims by
 *     storing NEXT = 0, and bumps GEN to wake the helper.
 *   - Anyone claims unit i = Atomics.add(NEXT, 1) while i < UNITS. The helper
 *     sets BUSY = 1 before it claims and 0 (with a notify) when it stops, and
 *     sets FAIL when a unit does not pass. The store claims too (after its
 *     write), so it never waits for a helper that is slow to wake or not
 *     started yet; it waits only for the unit the helper is inside.
 *   - When the store runs out of units it closes claims (NEXT =
 *     CLAIMS_CLOSED), then waits for BUSY = 0 (at most HELPER_WAIT_MS_MAX;
 *     past that the helper is abandoned and the store checks the whole batch
 *     itself). A claim after the close fails, so the helper never touches a
 *     later batch's units with an earlier batch's view.
 *   - A new buffer (SharedArrayBuffer) is posted to the helper with an id,
 *     and BUFID is set, before the batch is published; the helper takes it
 *     with receiveMessageOnPort before checking a unit.
 * The helper only reads record bytes. The verdict is "all passed" or "look
 * again": the store then re-runs the serial check, which produces the exact
 * error (or accepts the batch when the helper failed for another reason).
 */
import { type MessagePort, MessageChannel, Worker } from 'node:worker_threads';
import { RECORD_HEADER_BYTES } from '../record/layout.js';
import { runPasses } from './batch-check.js';

export const C_GEN = 0;
export const C_NEXT = 1;
export const C_UNITS = 2;
export const C_BUSY = 3;
export const C_FAIL = 4;
export const C_BUFID = 5;
export const C_QUIT = 6;
export const C_HELPER_UNITS = 7;
/** 1 while the helper sleeps on GEN: only then does publish pay for a notify (about 20 µs on this VM). */
export const C_HELPER_SLEEPS = 8;
/** 1 while the store sleeps on BUSY: only then does the helper notify. */
export const C_STORE_SLEEPS = 9;
const CONTROL_WORDS = 10;
/** NEXT at or above this: claims are closed. */
export const CLAIMS_CLOSED = 1 << 30;
/** Units per batch at most (units table: CRC_UNITS_MAX x 16 bytes shared). */
export const CRC_UNITS_MAX = 4096;
/** A unit holds at least this many bytes of whole records (one record if larger): claims stay cheap next to the CRC work. */
export const CRC_UNIT_BYTES = 64 * 1024;
/** Batches below this are checked serially (waking the helper costs tens of microseconds). */
export const PARALLEL_CRC_MIN_BYTES = 256 * 1024;
/** The store waits at most this long for the helper to leave a unit; then it checks the batch itself and stops using the helper. */
export const HELPER_WAIT_MS_MAX = 1000;
/**
 * A wait for the helper longer than this (or than STALL_FACTOR x the time a
 * unit should take at 1 GB/s, for big units) means the helper thread was
 * descheduled: every core is busy, so a second thread only adds waiting. The
 * store then checks serially for PARALLEL_BACKOFF_MS before trying again.
 */
export const STALL_MS = 1;
const STALL_FACTOR = 4;
export const PARALLEL_BACKOFF_MS = 1000;
/** Heap bound of the helper thread (it allocates almost nothing). */
const HELPER_HEAP_MB = 32;
/** The store polls BUSY this long before it sleeps on it (a 64 KiB unit takes about 20 µs). */
const STORE_SPIN_MS = 0.2;
/** After a batch the helper polls GEN this long before it sleeps (back-to-back batches then cost no wake-up). */
export const HELPER_SPIN_MS = 0.1;

export interface HelperData {
  control: Int32Array;
  units: Float64Array;
  recordBytesMax: number;
}

export class ParallelCrc {
  /** Batches checked with the helper's help, and units the helper checked (tests, benchmarks). */
  batches = 0;
  /** Waits for the helper that exceeded the stall bound (each starts a back-off). */
  stalls = 0;
  /** Until this performance.now() the store checks serially (after a stall). */
  backoffUntil = 0;
  private maxUnitBytes = 0;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private readonly units = new Float64Array(new SharedArrayBuffer(CRC_UNITS_MAX * 2 * 8));
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private buffer: SharedArrayBuffer | null = null;
  private bufId = 0;
  private count = 0;
  /** False once the helper failed to start or overstayed HELPER_WAIT_MS_MAX: the store checks serially from then on. */
  usable = true;

  constructor(private readonly recordBytesMax: number) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    Atomics.store(this.control, C_NEXT, CLAIMS_CLOSED);
    const workerData = { control: this.control, units: this.units, recordBytesMax, port: port2 };
    this.worker = new Worker(new URL('./crc-helper.js', import.meta.url), {
      workerData,
      transferList: [port2],
      name: 'nativelog-crc-helper',
      resourceLimits: { maxOldGenerationSizeMb: HELPER_HEAP_MB },
    });
    this.worker.on('error', () => {
      this.usable = false;
    });
    this.worker.on('exit', () => {
      this.usable = false;
    });
    this.worker.unref();
    this.port.unref();
  }

  /** Units the helper has checked so far. */
  get helperUnits(): number {
    return Atomics.load(this.control, C_HELPER_UNITS);
  }

  /**
   * Cuts the records in [start, end) of `buffer` into units, following only
   * their length fields (the store checks everything else itself, and the
   * helper checks every record in full), and opens claims. False (nothing
   * published) when a length field is out of bounds: the caller checks
   * serially and reports it. Every true must be followed by finish() or
   * cancel().
   */
  start(buffer: SharedArrayBuffer, dv: DataView, start: number, end: number): boolean {
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.bufId++;
      this.port.postMessage({ id: this.bufId, buffer });
      Atomics.store(this.control, C_BUFID, this.bufId);
    }
    const unitBytes = Math.max(CRC_UNIT_BYTES, Math.ceil((end - start) / (CRC_UNITS_MAX - 1)));
    const units = this.units;
    let count = 0;
    let unitStart = start;
    let maxUnit = 0;
    for (let pos = start; pos < end; ) {
      if (pos + RECORD_HEADER_BYTES > end) return false;
      const length = dv.getUint32(pos, true);
      if (length < RECORD_HEADER_BYTES || length % 8 !== 0 || length > this.recordBytesMax || pos + length > end) return false;
      if (pos - unitStart >= unitBytes) {
        maxUnit = Math.max(maxUnit, pos - unitStart);
        units[2 * count] = unitStart;
        units[2 * count + 1] = pos;
        count++;
        unitStart = pos;
      }
      pos += length;
    }
    units[2 * count] = unitStart;
    units[2 * count + 1] = end;
    this.count = count + 1;
    this.maxUnitBytes = Math.max(maxUnit, end - unitStart);
    this.publish();
    return true;
  }

  /** Opens claims on the units (the helper wakes). */
  private publish(): void {
    const c = this.control;
    Atomics.store(c, C_FAIL, 0);
    Atomics.store(c, C_UNITS, this.count);
    Atomics.store(c, C_NEXT, 0);
    Atomics.add(c, C_GEN, 1);
    if (Atomics.load(c, C_HELPER_SLEEPS) !== 0) Atomics.notify(c, C_GEN, 1);
    this.batches++;
  }

  /**
   * Checks the units nobody has claimed, closes claims and waits for the
   * helper to leave its unit. True: every record passed. False: look again
   * serially (a record failed, or the helper could not give an answer).
   */
  finish(u8: Uint8Array, dv: DataView): boolean {
    const c = this.control;
    let ok = true;
    for (;;) {
      const i = Atomics.add(c, C_NEXT, 1);
      if (i >= this.count) break;
      if (ok && !runPasses(u8, dv, this.units[2 * i]!, this.units[2 * i + 1]!, this.recordBytesMax)) ok = false;
    }
    Atomics.store(c, C_NEXT, CLAIMS_CLOSED);
    if (!this.waitIdle()) {
      this.close();
      return false;
    }
    return ok && Atomics.load(c, C_FAIL) === 0;
  }

  /** Ends a started batch without a verdict (the append failed before its write): closes claims, waits for the helper. */
  cancel(): void {
    Atomics.store(this.control, C_NEXT, CLAIMS_CLOSED);
    if (!this.waitIdle()) this.close();
  }

  /** Stops the helper thread. */
  close(): void {
    Atomics.store(this.control, C_QUIT, 1);
    Atomics.add(this.control, C_GEN, 1);
    Atomics.notify(this.control, C_GEN);
    this.port.close();
    void this.worker.terminate().catch(() => undefined);
    this.usable = false;
  }

  private waitIdle(): boolean {
    const c = this.control;
    if (Atomics.load(c, C_BUSY) === 0) return true;
    const t0 = performance.now();
    while (performance.now() - t0 < STORE_SPIN_MS) if (Atomics.load(c, C_BUSY) === 0) return true;
    const deadline = t0 + HELPER_WAIT_MS_MAX;
    Atomics.store(c, C_STORE_SLEEPS, 1);
    try {
      while (Atomics.load(c, C_BUSY) !== 0) {
        const left = deadline - performance.now();
        if (left <= 0) return false;
        Atomics.wait(c, C_BUSY, 1, left);
      }
      return true;
    } finally {
      Atomics.store(c, C_STORE_SLEEPS, 0);
      const waited = performance.now() - t0;
      if (waited > Math.max(STALL_MS, (STALL_FACTOR * this.maxUnitBytes) / 1e6)) {
        this.stalls++;
        this.backoffUntil = performance.now() + PARALLEL_BACKOFF_MS;
      }
    }
  }
}
