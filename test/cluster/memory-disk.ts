/**
 * Test helper: an in-memory RaftPersistence that keeps exactly what persist()
 * resolved, in the contract's order (snapshot, entries, hard state), so a
 * restart built from durable() is what a real disk would hold after an
 * orderly crash; failNext makes the next persist fail (a failed fsync).
 * Also the in-process tests' shared clock helpers and Raft config.
 */
import { randomInt } from 'node:crypto';
import type { DurableState, Entry, HardState, Persist, RaftConfig, Snapshot } from '../../src/consensus/index.js';

export class MemoryDisk {
  hardState: HardState = { term: 0, vote: 0 };
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  failNext = false;

  async persist(p: Persist): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.failNext) throw new Error('injected fsync failure');
    if (p.snapshot !== null) {
      const keep = this.entries.find((e) => e.index === p.snapshot!.index && e.term === p.snapshot!.term) !== undefined;
      this.entries = keep ? this.entries.filter((e) => e.index > p.snapshot!.index) : [];
      this.snapshot = p.snapshot;
    }
    if (p.entries.length > 0) {
      const first = p.entries[0]!.index;
      this.entries = this.entries.filter((e) => e.index < first).concat(p.entries);
    }
    if (p.hardState !== null) this.hardState = p.hardState;
  }

  durable(): DurableState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] };
  }
}

/** Real-time length of one Raft tick in the in-process tests. */
export const TEST_TICK_MS = 10;
/** Longest an in-process test waits for a leader, an apply or a catch-up. */
export const TEST_WAIT_MS_MAX = 8_000;

/** The RaftConfig of the in-process tests (fast ticks, generous bounds). */
export function testRaftConfig(id: number, voters: number[], over: Partial<RaftConfig> = {}): RaftConfig {
  return { id, initialVoters: voters, heartbeatTicks: 2, electionTicks: 10, appendEntriesMax: 64, inFlightEntriesMax: 256, uncommittedEntriesMax: 1024, pendingReadsMax: 1024, randomInt: (n) => randomInt(n), ...over };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls cond every tick until it holds; throws naming `what` after TEST_WAIT_MS_MAX. */
export async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + TEST_WAIT_MS_MAX;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(TEST_TICK_MS);
  }
}
