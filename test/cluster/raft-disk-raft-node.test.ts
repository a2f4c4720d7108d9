/**
 * RaftDisk under real RaftNodes: three nodes exchange messages (some
 * dropped, one node at times cut off so it needs a snapshot to catch up),
 * tick, take proposals, compact, and restart from their RaftDisk
 * (close, reopen, new RaftNode(config, durable)). Every Output.persist the
 * core emits must be accepted (the disk's contract checks must not misfire
 * on what the real core does), and every reopen must give exactly what a
 * SimDisk fed the same persists holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftDisk } from '../../src/cluster/raft-disk.js';
import { RaftNode } from '../../src/consensus/raft-node.js';
import type { Message, NodeId, Output, RaftConfig } from '../../src/consensus/types.js';
import { SimDisk } from '../../src/sim/sim-disk.js';
import { PowerLossFs } from '../torture/harness/power-loss-fs.js';
import { Rng, runSeed, withSeed } from '../torture/harness/rng.js';
import { assertSameState } from './raft-disk-gen.js';

const IDS: readonly NodeId[] = [1, 2, 3];
const SEEDS = 25;
const EVENTS = 600;

function config(id: NodeId, rng: Rng): RaftConfig {
  return {
    id, initialVoters: IDS, heartbeatTicks: 1, electionTicks: 5, appendEntriesMax: 8, inFlightEntriesMax: 32,
    uncommittedEntriesMax: 64, pendingReadsMax: 8, randomInt: (n) => rng.int(0, n - 1),
  };
}

interface Member {
  node: RaftNode;
  disk: RaftDisk;
  model: SimDisk;
  applied: number;
}

function runSeedOnce(seed: number): { commits: number; restarts: number; compactions: number; installs: number } {
  const rng = new Rng(seed);
  const fs = new PowerLossFs();
  const dirOf = (id: NodeId): string => `/n${id}/@raft`;
  const segmentBytesMax = rng.pick([400, 4000]);
  const members = new Map<NodeId, Member>();
  for (const id of IDS) {
    fs.mkdirp(`/n${id}`);
    const { disk, durable } = RaftDisk.open(dirOf(id), fs, { segmentBytesMax });
    members.set(id, { node: new RaftNode(config(id, rng), durable), disk, model: new SimDisk(), applied: 0 });
  }
  let inbox: Message[] = [];
  /** A node cut off from the others (its messages dropped both ways), so it falls behind compaction. */
  let isolated: NodeId | null = null;
  let commits = 0;
  let restarts = 0;
  let compactions = 0;
  let installs = 0;
  const handle = (m: Member, out: Output): void => {
    m.disk.persist(out.persist);
    m.model.apply(out.persist);
    inbox.push(...out.messages);
    if (out.installSnapshot !== null) {
      m.applied = out.installSnapshot.index;
      installs++;
    }
    for (const e of out.committed) m.applied = e.index;
    commits += out.committed.length;
    if (out.refused !== null && /compact/.test(out.refused)) throw new Error(`compact refused: ${out.refused}`);
  };
  for (let ev = 0; ev < EVENTS; ev++) {
    const id = rng.pick(IDS);
    const m = members.get(id) as Member;
    const k = rng.int(0, 99);
    if (k < 40) {
      handle(m, m.node.step({ type: 'tick' }));
    } else if (k < 75) {
      const batch = inbox;
      inbox = [];
      for (const msg of batch) {
        if (rng.bool(0.1) || msg.from === isolated || msg.to === isolated) continue;
        const to = members.get(msg.to);
        if (to !== undefined) handle(to, to.node.step({ type: 'message', message: msg }));
      }
    } else if (k < 90) {
      if (m.node.status().role === 'leader') handle(m, m.node.step({ type: 'propose', data: rng.bytes(rng.int(1, 200)) }));
    } else if (k < 95) {
      const snap = m.node.status().snapshotIndex;
      if (m.applied > snap) {
        handle(m, m.node.step({ type: 'compact', index: rng.int(snap + 1, m.applied), data: rng.bytes(rng.int(1, 300)) }));
        compactions++;
      }
    } else if (k < 97) {
      isolated = isolated === null ? id : null;
    } else {
      m.disk.close();
      const { disk, durable } = RaftDisk.open(dirOf(id), fs, { segmentBytesMax });
      assertSameState(durable, m.model.durableState(), `node ${id} after restart at event ${ev}`);
      m.disk = disk;
      m.node = new RaftNode(config(id, rng), durable);
      m.applied = durable.snapshot?.index ?? 0;
      restarts++;
    }
  }
  for (const m of members.values()) m.disk.close();
  return { commits, restarts, compactions, installs };
}

test(`three RaftNodes with dropped messages, compactions and restarts: every persist is accepted and every reopen equals the model`, (t) => {
  const base = runSeed();
  let commits = 0;
  let restarts = 0;
  let compactions = 0;
  let installs = 0;
  for (let i = 0; i < SEEDS; i++) {
    const seed = (base + i) >>> 0;
    try {
      const r = runSeedOnce(seed);
      commits += r.commits;
      restarts += r.restarts;
      compactions += r.compactions;
      installs += r.installs;
    } catch (e) {
      throw withSeed('raft-disk under RaftNode', seed, e);
    }
  }
  t.diagnostic(`${SEEDS} seeds: ${commits} entries committed, ${restarts} restarts, ${compactions} compactions, ${installs} snapshots installed`);
  assert.ok(installs > 0, 'no follower caught up by snapshot');
  assert.ok(commits > SEEDS * 20, `only ${commits} entries committed`);
  assert.ok(restarts > SEEDS * 5 && compactions > SEEDS * 5, `restarts ${restarts}, compactions ${compactions}`);
});
