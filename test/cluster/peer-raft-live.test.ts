/**
 * The edge check of Raft messages from peers (peer-raft-check.ts): every message the real core
 * sends (captured from a running 3-node group, through a msgpackr round trip
 * as the peer link carries it) passes; damaged ones are refused with a reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { Packr } from 'msgpackr';
import type { Message, RaftConfig } from '../../src/consensus/index.js';
import { RaftDriver } from '../../src/cluster/raft-driver.js';
import { checkRaftMessage as raftMessageProblem } from '../../src/cluster/peer-raft-check.js';
import { MemoryDisk } from './memory-disk.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

test('every message a running group sends passes the check after a msgpackr round trip; damaged ones are refused', async () => {
  const seen: Message[] = [];
  const drivers = new Map<number, RaftDriver>();
  const ids = [1, 2, 3];
  for (const id of ids) {
    const cfg: RaftConfig = { id, initialVoters: ids, heartbeatTicks: 2, electionTicks: 10, appendEntriesMax: 8, inFlightEntriesMax: 64, uncommittedEntriesMax: 256, pendingReadsMax: 64, randomInt: (n) => randomInt(n) };
    const d = new RaftDriver(cfg, null, new MemoryDisk(), {
      send: (m) => {
        const wire = packr.unpack(packr.pack(m)) as Message;
        seen.push(wire);
        setImmediate(() => drivers.get(m.to)?.receive(wire));
      },
    }, { apply: () => null, restore: () => undefined, snapshotData: () => new Uint8Array(0) }, { tickMs: 5, compactEveryEntries: 10 });
    drivers.set(id, d);
    d.start();
  }
  try {
    const deadline = Date.now() + 8000;
    let leader: RaftDriver | undefined;
    while (leader === undefined && Date.now() < deadline) {
      leader = [...drivers.values()].find((d) => d.status().role === 'leader');
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(leader !== undefined, 'a leader');
    await Promise.all(Array.from({ length: 30 }, (_, i) => leader!.propose(new TextEncoder().encode(`c${i}`))));
    await leader.readBarrier();
  } finally {
    await Promise.all([...drivers.values()].map((d) => d.stop()));
  }
  const types = new Set(seen.map((m) => m.type));
  for (const t of ['pre-vote', 'vote', 'append', 'append-resp', 'heartbeat', 'heartbeat-resp']) assert.ok(types.has(t as Message['type']), `saw ${t}`);
  for (const m of seen) assert.equal(raftMessageProblem(m, m.from, m.to), null, JSON.stringify(m).slice(0, 200));

  const append = seen.find((m): m is Extract<Message, { type: 'append' }> => m.type === 'append' && m.entries.length >= 1)!;
  assert.notEqual(raftMessageProblem(append, append.from + 1, append.to), null);
  assert.notEqual(raftMessageProblem(append, append.from, append.to + 1), null);
  assert.notEqual(raftMessageProblem({ ...append, term: -1 }, append.from, append.to), null);
  assert.notEqual(raftMessageProblem({ ...append, entries: [append.entries[0], { ...append.entries[0]!, index: append.entries[0]!.index + 2 }] }, append.from, append.to), null);
  assert.notEqual(raftMessageProblem({ ...append, entries: [{ ...append.entries[0]!, kind: 'weird' }] }, append.from, append.to), null);
  assert.notEqual(raftMessageProblem({ ...append, entries: [{ ...append.entries[0]!, kind: 'config', data: null, voters: [1, 1] }] }, append.from, append.to), null);
  assert.notEqual(raftMessageProblem({ type: 'nope', from: 1, to: 2, term: 1 }, 1, 2), null);
  assert.notEqual(raftMessageProblem({ type: 'vote', from: 1, to: 2, term: 1, lastIndex: 0, lastTerm: 0 }, 1, 2), null);
  assert.notEqual(raftMessageProblem('x', 1, 2), null);
});
