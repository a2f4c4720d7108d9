/**
 * Scenario 8, create/produce and delete/re-create races (issue 13, finding
 * 1): a real node process, one admin connection creating, one deleting,
 * and several appender connections that start appending to a stream
 * before it exists and retry until it does, so their appends meet the
 * stream in the window where the MetaStore already holds it and its shards
 * are still opening. Names are reused: most iterations delete the name's
 * previous life while the creator already retries the re-create.
 *
 * Every acked append is recorded with its (shard, seq). After each
 * iteration the shard is read back on the live node; every few iterations,
 * and at the end, the node is killed (kill -9) and restarted and every
 * name's current life is read back again. The check, each time: every
 * record acked by the current life is there exactly once, at its acked seq,
 * byte for byte, and nothing else is (no record of an earlier life, none
 * twice). At the end the data dir holds exactly one folder per live stream.
 *
 * Telling lives apart: the appends of an iteration must only ever be acked
 * by the life created in that iteration. The lives of a name alternate
 * between 1 and 2 shards; when the new life has 2 shards the appenders
 * write to shard 1, which the old life does not have (UNKNOWN_SHARD, never
 * acked), so they may start before the delete. When the new life has 1
 * shard they start after the delete's answer.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Client } from '../../../src/client/client.js';
import { incarnationFolders } from '../harness/data-dir.js';
import { NodeProcess } from '../harness/node-proc.js';
import { appendRaw, bytesEqual, fetchChecked, isCode, text } from '../harness/records.js';
import { Rng, withSeed } from '../harness/rng.js';
import { freePort, tempDir } from '../harness/tmp.js';

const NS = 'default';
/** Longest one iteration may take (delete, create, every appender's acks). */
const ITERATION_TIMEOUT_MS = 20_000;
/** Codes an appender retries while the stream (or its shard) does not exist yet. */
const NOT_YET = ['UNKNOWN_STREAM', 'UNKNOWN_SHARD', 'NOT_READY'];

export interface CreateRaceOptions {
  /** Create iterations (each one a new life of one of the names). */
  iterations: number;
  /** Distinct names, reused round-robin (so lives are deleted and re-created). */
  names: number;
  /** Appender connections. */
  appenders: number;
  /** Acks each appender collects per iteration. */
  acksPerAppender: number;
  /** kill -9 and restart the node after this many iterations (and at the end). */
  restartEvery: number;
}

export const CREATE_RACE_DEFAULTS: CreateRaceOptions = { iterations: 120, names: 6, appenders: 3, acksPerAppender: 3, restartEvery: 40 };

export interface CreateRaceStats {
  seed: number;
  iterations: number;
  deletes: number;
  acked: number;
  /** Appends answered "not there yet" and retried. */
  notYetRetries: number;
  /** Creates answered STREAM_EXISTS (the delete not committed yet) and retried. */
  createRetries: number;
  restarts: number;
  readBacks: number;
}

interface Life {
  shards: number;
  /** The shard the appenders wrote to. */
  shard: number;
  /** seq -> payload of every ack this life gave. */
  acked: Map<number, string>;
}

export async function runCreateRace(seed: number, opts: Partial<CreateRaceOptions> = {}): Promise<CreateRaceStats> {
  const o = { ...CREATE_RACE_DEFAULTS, ...opts };
  const rng = new Rng(seed);
  const { dir: dataDir, cleanup } = tempDir('create-race');
  const stats: CreateRaceStats = { seed, iterations: 0, deletes: 0, acked: 0, notYetRetries: 0, createRetries: 0, restarts: 0, readBacks: 0 };
  const port = await freePort();
  let node: NodeProcess | undefined;
  let clients: Client[] = [];
  const lives = new Map<string, Life>();
  const connectAll = async () => {
    clients = [];
    for (let k = 0; k < 2 + o.appenders; k++) clients.push(await connect(node!.address, { timeoutMs: 10_000 }));
  };
  const closeAll = async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    clients = [];
  };
  try {
    node = await NodeProcess.start(dataDir, {}, port);
    await connectAll();
    for (let i = 0; i < o.iterations; i++) {
      const name = `race-${i % o.names}`;
      const old = lives.get(name);
      const shards = old === undefined ? rng.int(1, 2) : 3 - old.shards;
      const life: Life = { shards, shard: shards - 1, acked: new Map() };
      await withTimeout(iteration(clients, name, i, old, life, o, stats), ITERATION_TIMEOUT_MS, `iteration ${i} (${name})`);
      if (old !== undefined) stats.deletes++;
      lives.set(name, life);
      await checkLife(clients[0]!, name, life, `live node after iteration ${i}`);
      stats.readBacks++;
      stats.iterations++;
      if ((i + 1) % o.restartEvery === 0 || i === o.iterations - 1) {
        checkFolders(dataDir, lives);
        await closeAll();
        await node.kill9();
        node = await NodeProcess.start(dataDir, {}, port);
        stats.restarts++;
        await connectAll();
        for (const [n, l] of lives) {
          await checkLife(clients[0]!, n, l, `after restart ${stats.restarts} (iteration ${i})`);
          stats.readBacks++;
        }
      }
    }
    return stats;
  } catch (err) {
    throw withSeed('create-race', seed, err);
  } finally {
    await closeAll();
    if (node !== undefined) await node.kill9();
    cleanup();
  }
}

async function iteration(clients: Client[], name: string, i: number, old: Life | undefined, life: Life, o: CreateRaceOptions, stats: CreateRaceStats): Promise<void> {
  const [creator, deleter, ...appenders] = clients as [Client, Client, ...Client[]];
  const deleted = old === undefined ? Promise.resolve() : deleter.deleteStream(name);
  // Appenders may race the delete only when the old life cannot ack their appends (it lacks their shard).
  const appendersMayStart = old === undefined || old.shards <= life.shard ? Promise.resolve() : deleted;
  const create = (async () => {
    for (;;) {
      try {
        await creator.createStream(name, { shards: life.shards });
        return;
      } catch (e) {
        if (!isCode(e, 'STREAM_EXISTS')) throw e;
        stats.createRetries++;
        await new Promise((r) => setImmediate(r));
      }
    }
  })();
  const appending = appenders.map(async (client, a) => {
    await appendersMayStart;
    for (let k = 0; k < o.acksPerAppender; ) {
      const payload = `${name}:${i}:${a}:${k}`;
      const r = await appendRaw(client, NS, name, life.shard, [new TextEncoder().encode(payload)]);
      if (!r.ok) {
        if (!NOT_YET.includes(r.name)) throw new Error(`append of ${payload} failed: ${r.name}: ${r.message}`);
        stats.notYetRetries++;
        continue;
      }
      const prior = life.acked.get(r.firstSeq);
      if (prior !== undefined) throw new Error(`${name} shard ${life.shard}: seq ${r.firstSeq} acked twice, to ${prior} and to ${payload}`);
      life.acked.set(r.firstSeq, payload);
      stats.acked++;
      k++;
    }
  });
  await Promise.all([deleted, create, ...appending]);
}

/** The life's shard holds exactly its acked records, each at its seq, and nothing else. */
async function checkLife(client: Client, name: string, life: Life, when: string): Promise<void> {
  const d = await client.describeStream(name);
  if (d.shards !== life.shards) throw new Error(`${when}: ${name} has ${d.shards} shards, its current life was created with ${life.shards}`);
  const info = d.shardInfo[life.shard]!;
  if ((info.failed ?? null) !== null) throw new Error(`${when}: ${name} shard ${life.shard} failed: ${info.failed}`);
  if (info.startSeq !== 0 || info.endSeq !== life.acked.size) {
    throw new Error(`${when}: ${name} shard ${life.shard} holds seqs [${info.startSeq}, ${info.endSeq}) but ${life.acked.size} records were acked (seqs ${[...life.acked.keys()].sort((a, b) => a - b).join(',')})`);
  }
  let seq = 0;
  while (seq < info.endSeq) {
    const f = await fetchChecked(client, NS, name, life.shard, seq);
    if (f.records.length === 0) throw new Error(`${when}: ${name} shard ${life.shard}: fetch from ${seq} returned nothing before endSeq ${info.endSeq}`);
    for (const r of f.records) {
      const want = life.acked.get(r.seq);
      if (want === undefined || !bytesEqual(r.payload, new TextEncoder().encode(want))) {
        throw new Error(`${when}: ${name} shard ${life.shard} seq ${r.seq} holds ${JSON.stringify(text(r.payload))}, but the ack for that seq was ${JSON.stringify(want)}`);
      }
    }
    seq = f.nextSeq;
  }
  for (let other = 0; other < life.shards; other++) {
    if (other === life.shard) continue;
    const s = d.shardInfo[other]!;
    if (s.endSeq !== 0) throw new Error(`${when}: ${name} shard ${other} holds ${s.endSeq} records, but nothing was appended to it in this life`);
  }
}

/** Exactly one folder per live stream, holding exactly one life (no folder of a deleted life left behind). */
function checkFolders(dataDir: string, lives: Map<string, Life>): void {
  const names = readdirSync(join(dataDir, NS)).sort();
  const want = [...lives.keys()].sort();
  if (names.length !== want.length || names.some((n, k) => n !== want[k])) {
    throw new Error(`the data dir holds stream folders ${JSON.stringify(names)}; the live streams are ${JSON.stringify(want)}`);
  }
  for (const n of names) {
    const inside = readdirSync(join(dataDir, NS, n));
    if (inside.length !== 1 || incarnationFolders(dataDir, NS, n).length !== 1) throw new Error(`stream folder ${n} holds ${JSON.stringify(inside)}; one life expected`);
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
