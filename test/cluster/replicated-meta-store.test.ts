/**
 * The MetaStore on Raft (issue 14): three ReplicatedMetaStores, each the
 * application of a RaftDriver, over an in-memory transport; a follower
 * forwards its commands to the leader (here by calling the leader's driver
 * directly: the peer transport does it between processes). Checks: admin
 * operations through any node give the same answers and the same state on
 * every node; conditional commands fail alike everywhere (STREAM_EXISTS,
 * STALE_EPOCH for a deposed sequencer); a snapshot carries streams and
 * placements to a node that was away; current() makes a follower's read
 * see every committed write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/consensus/index.js';
import { NotLeaderError, RaftDriver } from '../../src/cluster/raft-driver.js';
import { ReplicatedMetaStore, type AppliedOutcome } from '../../src/cluster/replicated-meta-store.js';
import { MemoryDisk, TEST_TICK_MS, TEST_WAIT_MS_MAX, sleep, testRaftConfig, until } from './memory-disk.js';

const TICK_MS = TEST_TICK_MS;
const WAIT_MS_MAX = TEST_WAIT_MS_MAX;

class MetaCluster {
  drivers = new Map<number, RaftDriver>();
  stores = new Map<number, ReplicatedMetaStore>();
  disks = new Map<number, MemoryDisk>();
  down = new Set<number>();

  constructor(readonly ids: number[], readonly compactEvery = 1000) {
    for (const id of ids) {
      this.disks.set(id, new MemoryDisk());
      this.boot(id);
    }
  }

  boot(id: number): void {
    const cfg = testRaftConfig(id, this.ids);
    const store = new ReplicatedMetaStore({ submit: (data) => this.submit(id, data), current: () => this.current(id) });
    const disk = this.disks.get(id)!;
    const durable = disk.hardState.term > 0 ? disk.durable() : null;
    const d = new RaftDriver(cfg, durable, disk, { send: (m) => this.deliver(m) }, store, { tickMs: TICK_MS, compactEveryEntries: this.compactEvery });
    this.drivers.set(id, d);
    this.stores.set(id, store);
    this.down.delete(id);
    d.start();
  }

  /** Propose on this node; a follower forwards to the leader it knows (retrying while none is known). */
  async submit(id: number, data: Uint8Array): Promise<AppliedOutcome> {
    const deadline = Date.now() + WAIT_MS_MAX;
    let at = id;
    for (;;) {
      try {
        return (await this.drivers.get(at)!.propose(data)) as AppliedOutcome;
      } catch (e) {
        if (!(e instanceof NotLeaderError) || Date.now() > deadline) throw e;
        at = e.leaderId !== null && !this.down.has(e.leaderId) ? e.leaderId : id;
        await sleep(TICK_MS);
      }
    }
  }

  /** A follower asks the leader for a read index, then waits until it applied it itself. */
  async current(id: number): Promise<void> {
    const deadline = Date.now() + WAIT_MS_MAX;
    let at = id;
    for (;;) {
      try {
        const index = await this.drivers.get(at)!.readIndex();
        await this.drivers.get(id)!.waitApplied(index);
        return;
      } catch (e) {
        if (!(e instanceof NotLeaderError) || Date.now() > deadline) throw e;
        at = e.leaderId !== null && !this.down.has(e.leaderId) ? e.leaderId : id;
        await sleep(TICK_MS);
      }
    }
  }

  deliver(m: Message): void {
    if (this.down.has(m.from) || this.down.has(m.to)) return;
    const to = this.drivers.get(m.to);
    if (to !== undefined) setImmediate(() => to.receive(structuredClone(m)));
  }

  async stopNode(id: number): Promise<void> {
    this.down.add(id);
    await this.drivers.get(id)!.stop();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.drivers.values()].map((d) => d.stop()));
  }
}



test('admin operations through any node: the same answers and the same state on every node; conditional commands fail alike', async () => {
  const c = new MetaCluster([1, 2, 3]);
  try {
    const s1 = c.stores.get(1)!;
    const s3 = c.stores.get(3)!;
    const created = await s1.createStream({ name: 'orders', shards: 2, replicas: 3 });
    assert.match(created.incarnation, /^[0-9a-f]{16}$/);
    await assert.rejects(s3.createStream({ name: 'orders' }), { code: 'STREAM_EXISTS' });
    await s3.current();
    assert.deepEqual(s3.getStream('default', 'orders'), created, 'a follower read after current() sees the committed write');
    const ref = { namespace: 'default', name: 'orders', incarnation: created.incarnation, shard: 1 };
    assert.equal((await c.stores.get(2)!.electSequencer(ref, 2, 0)).epoch, 1);
    await assert.rejects(s1.electSequencer(ref, 1, 0), { code: 'STALE_EPOCH' }, 'a stale epoch fails through any node');
    await s1.openSegment(ref, 1, 0, [1, 2, 3]);
    await c.stores.get(2)!.deleteStream('default', 'orders');
    await s1.createStream({ name: 'orders', shards: 1, replicas: 3 });
    await assert.rejects(s1.electSequencer(ref, 1, 1), { code: 'UNKNOWN_STREAM' }, 'the old life is gone');
    for (const s of c.stores.values()) await s.current();
    const want = JSON.stringify([s1.listStreams(), s1.getPlacement('default', 'orders', 0)]);
    for (const [id, s] of c.stores) assert.equal(JSON.stringify([s.listStreams(), s.getPlacement('default', 'orders', 0)]), want, `node ${id}`);
  } finally {
    await c.stop();
  }
});

test('a node that was down catches up through a snapshot (streams and placements); the majority kept serving without it', async () => {
  const c = new MetaCluster([1, 2, 3], 5);
  try {
    await c.stores.get(1)!.createStream({ name: 'a' });
    await c.stopNode(3);
    for (let i = 0; i < 12; i++) await c.stores.get(1 + (i % 2))!.createStream({ name: `s${i}`, shards: 1, replicas: 1 });
    const s = c.stores.get(2)!.getStream('default', 's5')!;
    await c.stores.get(1)!.electSequencer({ namespace: 'default', name: 's5', incarnation: s.incarnation, shard: 0 }, 1, 0);
    c.boot(3);
    const s3 = c.stores.get(3)!;
    await until('node 3 has every stream', () => s3.listStreams().length === 13);
    await until('node 3 has the placement', () => s3.getPlacement('default', 's5', 0)?.epoch === 1);
    assert.deepEqual(s3.listStreams(), c.stores.get(1)!.listStreams());
  } finally {
    await c.stop();
  }
});
