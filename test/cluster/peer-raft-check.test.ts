/**
 * The 'raft' kind check: every message type the consensus core emits passes
 * after a msgpack round trip; malformed ones and ones speaking for another
 * node are refused; and three real RaftNodes elect a leader and commit
 * entries over real PeerTransports with the check at every edge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RaftNode, type Entry, type Message } from '../../src/consensus/index.js';
import { checkRaftMessage } from '../../src/cluster/peer-raft-check.js';
import { PeerTransport } from '../../src/cluster/peer-transport.js';
import { packHeader, unpackHeader } from '../../src/protocol/frame.js';
import { FAST, peerOf, rawPeer, waitFor } from './peer-harness.js';

const n = fc.nat({ max: 1e9 });
const id = fc.integer({ min: 1, max: 9 });
const bytes = fc.uint8Array({ maxLength: 16 });
const entryArb: fc.Arbitrary<Entry> = fc.oneof(
  fc.record({ index: n, term: n, kind: fc.constant('normal' as const), data: bytes, voters: fc.constant(null) }),
  fc.record({ index: n, term: n, kind: fc.constant('noop' as const), data: fc.constant(null), voters: fc.constant(null) }),
  fc.record({ index: n, term: n, kind: fc.constant('config' as const), data: fc.constant(null), voters: fc.uniqueArray(id, { minLength: 1, maxLength: 5 }) }),
);
const base = { from: fc.constant(2), to: fc.constant(1), term: n };
const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ ...base, type: fc.constant('pre-vote' as const), lastIndex: n, lastTerm: n }),
  fc.record({ ...base, type: fc.constant('pre-vote-resp' as const), granted: fc.boolean() }),
  fc.record({ ...base, type: fc.constant('vote' as const), lastIndex: n, lastTerm: n, transfer: fc.boolean() }),
  fc.record({ ...base, type: fc.constant('vote-resp' as const), granted: fc.boolean() }),
  fc
    .record({ ...base, type: fc.constant('append' as const), prevIndex: n, prevTerm: n, entries: fc.array(entryArb, { maxLength: 5 }), commit: n })
    // As the core sends them: entries at prevIndex + 1, + 2, ..., of terms up to the message's.
    .map((m) => ({ ...m, entries: m.entries.map((e, i) => ({ ...e, index: m.prevIndex + i + 1, term: Math.min(e.term, m.term) })) })),
  fc.record({ ...base, type: fc.constant('append-resp' as const), success: fc.boolean(), index: n, hint: n }),
  fc.record({ ...base, type: fc.constant('heartbeat' as const), commit: n, seq: n }),
  fc.record({ ...base, type: fc.constant('heartbeat-resp' as const), seq: n, lastIndex: n }),
  fc.record({ ...base, type: fc.constant('snapshot' as const), snapshot: fc.record({ index: n, term: n, voters: fc.uniqueArray(id, { minLength: 1, maxLength: 5 }), data: bytes }) }),
  fc.record({ ...base, type: fc.constant('timeout-now' as const) }),
);

/** Bytes as number arrays (a Buffer and a Uint8Array of the same bytes compare equal), everything else as is. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return [...v];
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

const roundTrip = (m: unknown): unknown => unpackHeader(packHeader(m));

test('every well-formed raft message passes after a msgpack round trip, and keeps its content (property)', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      const back = roundTrip(m);
      assert.equal(checkRaftMessage(back, 2, 1), null);
      assert.deepEqual(plain(back), plain(m));
    }),
    { numRuns: 500 },
  );
});

test('malformed raft messages and ones speaking for another node are refused with a reason', () => {
  const hb = { type: 'heartbeat', from: 2, to: 1, term: 3, commit: 1, seq: 4 };
  const app = { type: 'append', from: 2, to: 1, term: 3, prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ index: 1, term: 3, kind: 'normal', data: new Uint8Array([1]), voters: null }] };
  const cases: [unknown, RegExp][] = [
    [{ ...hb, from: 3 }, /from node 3 on the link of node 2/],
    [{ ...hb, to: 5 }, /for node 5 reached node 1/],
    [{ ...hb, type: 'nuke' }, /unknown raft message type "nuke"/],
    [{ ...hb, term: -1 }, /"term" must be a non-negative integer/],
    [{ ...hb, seq: 1.5 }, /"seq"/],
    [{ ...hb, commit: undefined }, /"commit"/],
    [{ ...app, entries: [{ ...app.entries[0], data: null }] }, /entry 0: a normal entry has bytes/],
    [{ ...app, entries: [{ ...app.entries[0], kind: 'config', data: null, voters: [0] }] }, /entry 0 voters must be a list/],
    [{ ...app, entries: 'x' }, /"entries"/],
    [{ type: 'snapshot', from: 2, to: 1, term: 1, snapshot: { index: 1, term: 1, voters: [1], data: 'not bytes' } }, /snapshot: field "data" must be bytes/],
    [{ type: 'snapshot', from: 2, to: 1, term: 1, snapshot: { index: 1, term: 1, voters: 'all', data: new Uint8Array(1) } }, /snapshot voters must be a list/],
    [{ type: 'vote', from: 2, to: 1, term: 1, lastIndex: 1, lastTerm: 1 }, /"transfer" must be a boolean/],
    [[1, 2], /not a map/],
  ];
  for (const [m, why] of cases) assert.match(checkRaftMessage(roundTrip(m), 2, 1) ?? 'passed', why, JSON.stringify(m));
});

test('a raft body whose from is another node closes the link even when the envelope is right', async () => {
  const logs: string[] = [];
  const got: unknown[] = [];
  const a = new PeerTransport({ nodeId: 1, peers: [], kinds: { raft: checkRaftMessage }, onMessage: (_f, m) => got.push(m), log: (l) => logs.push(l), ...FAST });
  const port = await a.listen(0);
  try {
    const raw = await rawPeer(port, 2, 1);
    raw.send({ version: 1, flags: 0, op: 40, requestId: 2, header: { v: 1, kind: 'raft', from: 2, to: 1, body: { type: 'heartbeat', from: 3, to: 1, term: 1, commit: 0, seq: 1 } } });
    await waitFor('cut off', raw.isClosed, 3000);
    assert.equal(got.length, 0);
    assert.ok(logs.some((l) => /bad "raft" message: a raft message from node 3 on the link of node 2/.test(l)), logs.join('\n'));
  } finally {
    await a.close();
  }
});

test('three RaftNodes elect a leader and commit entries over real peer transports', async () => {
  const ids = [1, 2, 3];
  const committed = new Map<number, string[]>(ids.map((i) => [i, []]));
  const rafts = new Map<number, RaftNode>();
  const transports = new Map<number, PeerTransport>();
  const logs: string[] = [];
  const handle = (i: number, out: ReturnType<RaftNode['step']>): void => {
    // No crash in this test, so persistence is not simulated; messages go out at once.
    for (const m of out.messages) transports.get(i)!.send(m.to, { kind: 'raft', body: m });
    for (const e of out.committed) if (e.kind === 'normal') committed.get(i)!.push(Buffer.from(e.data!).toString());
  };
  for (const i of ids) {
    rafts.set(i, new RaftNode({ id: i, initialVoters: ids, heartbeatTicks: 2, electionTicks: 10, appendEntriesMax: 64, inFlightEntriesMax: 256, uncommittedEntriesMax: 1024, pendingReadsMax: 64, randomInt: (k) => Math.floor(Math.random() * k) }, null));
    const t = new PeerTransport({ nodeId: i, peers: [], kinds: { raft: checkRaftMessage }, onMessage: (_from, msg) => handle(i, rafts.get(i)!.step({ type: 'message', message: msg.body as Message })), log: (l) => logs.push(l), ...FAST });
    transports.set(i, t);
  }
  const ports = new Map<number, number>();
  for (const i of ids) ports.set(i, await transports.get(i)!.listen(0));
  for (const i of ids) for (const j of ids) if (i !== j) transports.get(i)!.addPeer(peerOf({ id: j, port: ports.get(j)! }));
  const ticker = setInterval(() => {
    for (const i of ids) handle(i, rafts.get(i)!.step({ type: 'tick' }));
  }, 10);
  try {
    let leader = 0;
    await waitFor('a leader', () => (leader = ids.find((i) => rafts.get(i)!.status().role === 'leader') ?? 0) !== 0, 10_000);
    for (let k = 0; k < 20; k++) handle(leader, rafts.get(leader)!.step({ type: 'propose', data: Buffer.from(`entry ${k}`) }));
    const want = [...Array(20).keys()].map((k) => `entry ${k}`);
    await waitFor('all 20 entries committed everywhere', () => ids.every((i) => committed.get(i)!.length === 20), 10_000);
    for (const i of ids) assert.deepEqual(committed.get(i), want);
    for (const t of transports.values()) assert.equal(t.badLinks, 0, logs.join('\n'));
  } finally {
    clearInterval(ticker);
    await Promise.all([...transports.values()].map((t) => t.close()));
  }
});
