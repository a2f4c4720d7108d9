/**
 * The Raft driver on a real clock (issue 14): three drivers in one process
 * over an in-memory transport that can cut nodes off (bytes dropped, as a
 * partition does) and an in-memory persistence that keeps only what
 * persist() resolved (a restart is built from it). Checks: a leader emerges;
 * a proposal on the leader is answered with the applied result and applied
 * on every node; a follower's proposal is refused naming the leader; after
 * the leader is cut off a new one takes over and nothing committed is lost;
 * a cut-off leader cannot commit; a restarted node catches up; reads wait
 * for the read index; a failed persist stops the group.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, Snapshot } from '../../src/consensus/index.js';
import { MemoryDisk, TEST_TICK_MS, TEST_WAIT_MS_MAX, sleep, testRaftConfig, until } from './memory-disk.js';
import { NotLeaderError, OutcomeUnknownError, RaftDriver, type RaftApplication } from '../../src/cluster/raft-driver.js';

const TICK_MS = TEST_TICK_MS;
const WAIT_MS_MAX = TEST_WAIT_MS_MAX;

class ListApp implements RaftApplication {
  applied: string[] = [];
  apply(index: number, data: Uint8Array): unknown {
    const s = new TextDecoder().decode(data);
    this.applied.push(s);
    return `${s}@${index}`;
  }
  restore(snapshot: Snapshot): void {
    this.applied = JSON.parse(new TextDecoder().decode(snapshot.data)) as string[];
  }
  snapshotData(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.applied));
  }
}

class Cluster {
  drivers = new Map<number, RaftDriver>();
  apps = new Map<number, ListApp>();
  disks = new Map<number, MemoryDisk>();
  cut = new Set<number>();

  constructor(readonly ids: number[], readonly compactEvery = 1000) {
    for (const id of ids) {
      this.disks.set(id, new MemoryDisk());
      this.boot(id);
    }
  }

  boot(id: number): void {
    const cfg = testRaftConfig(id, this.ids);
    const app = new ListApp();
    const disk = this.disks.get(id)!;
    const d = new RaftDriver(cfg, disk.entries.length > 0 || disk.snapshot !== null || disk.hardState.term > 0 ? disk.durable() : null, disk, { send: (m) => this.deliver(m) }, app, { tickMs: TICK_MS, compactEveryEntries: this.compactEvery });
    this.drivers.set(id, d);
    this.apps.set(id, app);
    d.start();
  }

  deliver(m: Message): void {
    if (this.cut.has(m.from) || this.cut.has(m.to)) return; // a partition drops the bytes
    const to = this.drivers.get(m.to);
    if (to === undefined) return;
    setImmediate(() => to.receive(structuredClone(m)));
  }

  async leader(exclude: number[] = []): Promise<RaftDriver> {
    const deadline = Date.now() + WAIT_MS_MAX;
    while (Date.now() < deadline) {
      for (const [id, d] of this.drivers) if (!exclude.includes(id) && !this.cut.has(id) && d.status().role === 'leader') return d;
      await sleep(TICK_MS);
    }
    throw new Error(`no leader within ${WAIT_MS_MAX} ms`);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.drivers.values()].map((d) => d.stop()));
  }
}



const bytes = (s: string) => new TextEncoder().encode(s);

test('a leader emerges; its proposals are answered with the applied result and applied on every node; a follower refuses naming the leader', async () => {
  const c = new Cluster([1, 2, 3]);
  try {
    const leader = await c.leader();
    assert.equal(await leader.propose(bytes('a')), `a@${leader.status().applied}`);
    for (let i = 0; i < 20; i++) await leader.propose(bytes(`x${i}`));
    await until('every node applied 21 entries', () => [...c.apps.values()].every((a) => a.applied.length === 21));
    for (const a of c.apps.values()) assert.deepEqual(a.applied, c.apps.get(leader.id)!.applied);
    const follower = [...c.drivers.values()].find((d) => d !== leader)!;
    await assert.rejects(follower.propose(bytes('no')), (e: unknown) => e instanceof NotLeaderError && e.leaderId === leader.id);
    await leader.readBarrier();
  } finally {
    await c.stop();
  }
});

test('leader cut off: it cannot commit, a new leader takes over, nothing committed is lost, and the old one catches up after the heal', async () => {
  const c = new Cluster([1, 2, 3]);
  try {
    const old = await c.leader();
    for (let i = 0; i < 10; i++) await old.propose(bytes(`before${i}`));
    c.cut.add(old.id);
    const stranded = old.propose(bytes('stranded'));
    const next = await c.leader([old.id]);
    assert.notEqual(next.id, old.id);
    for (let i = 0; i < 5; i++) await next.propose(bytes(`after${i}`));
    c.cut.delete(old.id);
    await assert.rejects(stranded, (e: unknown) => e instanceof OutcomeUnknownError || e instanceof NotLeaderError);
    await until('the old leader applied the new entries', () => c.apps.get(old.id)!.applied.includes('after4'));
    for (const a of c.apps.values()) {
      assert.ok(!a.applied.includes('stranded'), 'a cut-off leader cannot commit');
      for (let i = 0; i < 10; i++) assert.ok(a.applied.includes(`before${i}`), 'nothing committed is lost');
    }
  } finally {
    await c.stop();
  }
});

test('a restarted node is rebuilt from what was persisted and catches up (through a snapshot when the log was compacted)', async () => {
  const c = new Cluster([1, 2, 3], 8);
  try {
    const leader = await c.leader();
    const victim = [...c.drivers.values()].find((d) => d !== leader)!.id;
    for (let i = 0; i < 5; i++) await leader.propose(bytes(`a${i}`));
    await c.drivers.get(victim)!.stop();
    c.drivers.delete(victim);
    for (let i = 0; i < 30; i++) await leader.propose(bytes(`b${i}`));
    c.boot(victim);
    await until('the restarted node applied everything', () => c.apps.get(victim)!.applied.includes('b29'));
    assert.deepEqual(c.apps.get(victim)!.applied, c.apps.get(leader.id)!.applied);
  } finally {
    await c.stop();
  }
});

test('a failed persist stops the group on that node: waiters reject, later calls reject, onFatal is called once', async () => {
  const disk = new MemoryDisk();
  let fatal = 0;
  const cfg = testRaftConfig(1, [1], { pendingReadsMax: 16 });
  const d = new RaftDriver(cfg, null, disk, { send: () => undefined }, new ListApp(), { tickMs: TICK_MS, onFatal: () => fatal++ });
  d.start();
  try {
    await until('single node leads', () => d.status().role === 'leader');
    await d.propose(bytes('ok'));
    disk.failNext = true;
    await assert.rejects(d.propose(bytes('lost')), /Raft group stopped: injected fsync failure/);
    await assert.rejects(d.propose(bytes('later')), /Raft group stopped/);
    assert.equal(fatal, 1);
  } finally {
    await d.stop();
  }
});
