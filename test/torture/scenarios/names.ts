/**
 * Scenario 7, names that become paths: hostile namespace and stream names
 * (traversal, separators, absolute paths, overlong, ".", "..", NUL, control
 * characters, spaces, non-ASCII) through the CLI (every command that takes a
 * name) and the client library (every request that carries one). Each must
 * be rejected with a clear error that names the problem; valid boundary
 * names (249 characters, "...", "-", "_") must work. Before and after, the
 * whole sandbox around the data dir is listed: nothing may appear outside
 * the data dir, and inside it nothing but the MetaStore and the folders of
 * the valid streams.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { connect, type Client } from '../../../src/client/client.js';
import { NativeLogError } from '../../../src/client/types.js';
import { OP } from '../../../src/protocol/ops.js';
import { runCli } from '../harness/cli.js';
import { NodeProcess } from '../harness/node-proc.js';
import { Rng, withSeed } from '../harness/rng.js';
import { tempDir } from '../harness/tmp.js';

/** The node's name rule (DESIGN section 5): 1-249 characters of [A-Za-z0-9._-], not "." or "..". */
const VALID = /^[A-Za-z0-9._-]{1,249}$/;
/** CLI commands run at once (each is a process). */
const CLI_PARALLEL = 4;

export interface NamesStats {
  seed: number;
  hostileNames: number;
  cliRejections: number;
  clientRejections: number;
  validAccepted: number;
}

function hostileNames(marker: string): string[] {
  return [
    '.', '..', '../x', `../../${marker}`, `../../../../../../../../tmp/${marker}`, `/tmp/${marker}`, 'a/b', 'a\\b', `..\\..\\${marker}`, '',
    'x'.repeat(250), 'y'.repeat(1000), 'z'.repeat(5000), 'a\0b', '\0', 'a\nb', 'a\rb', 'a\tb', '\x01', '\x1b[31m', '\x7f', 'a b', ' ', 'é', '名前', 'a:b',
    '*', '~', '$HOME', '%2e%2e', '..%2f..%2f', 'a\u202eb', 'CON?', 'a|b', 'a;b', "a'b", 'a"b',
  ];
}

/** Names tried with every CLI command (the rest only with stream create, as stream and as namespace). */
function cliEveryCommandNames(marker: string): string[] {
  return ['..', `../../${marker}`, 'a/b', 'x'.repeat(250), 'a\nb', '.'];
}

/** Valid names at the edges of the rule: must be accepted (and create folders only inside the data dir). */
const BOUNDARY_VALID = ['w'.repeat(249), '...', '-', '_', 'A.b-C_9'];

export async function runNames(seed: number): Promise<NamesStats> {
  const rng = new Rng(seed);
  const marker = `nl-escape-${rng.text(10)}`;
  const { dir: sandbox, cleanup } = tempDir('names');
  const dataDir = join(sandbox, 'data');
  const cwd = join(sandbox, 'cwd');
  mkdirSync(cwd);
  const names = hostileNames(marker);
  const stats: NamesStats = { seed, hostileNames: names.length, cliRejections: 0, clientRejections: 0, validAccepted: 0 };
  let node: NodeProcess | undefined;
  let client: Client | undefined;
  try {
    node = await NodeProcess.start(dataDir);
    client = await connect(node.address);
    await client.createStream('ok', { namespace: 'torture', shards: 1 });
    const before = listTree(sandbox, dataDir);
    const problems: string[] = [];

    // The client library: every request that carries a namespace and a stream name.
    for (const bad of names) {
      for (const [ns, name] of [['torture', bad], [bad, 'ok']] as const) {
        const calls: [string, () => Promise<unknown>][] = [
          ['createStream', () => client!.createStream(name, { namespace: ns, shards: 1 })],
          ['describeStream', () => client!.describeStream(name, { namespace: ns })],
          ['deleteStream', () => client!.deleteStream(name, { namespace: ns })],
          ['append', () => client!.connection.request(OP.APPEND, { namespace: ns, name, parts: [] }).then((r) => r.header)],
          ['fetch', () => client!.connection.request(OP.FETCH, { namespace: ns, name, shard: 0, fromSeq: 0, maxBytes: 1024, maxWaitMs: 0 }).then((r) => r.header)],
          ['seqForTime', () => client!.seqForTime(name, 0, 'append', 0, { namespace: ns })],
        ];
        if (ns === bad) calls.push(['listStreams', () => client!.listStreams({ namespace: ns })]);
        for (const [what, call] of calls) {
          const where = `client ${what}(namespace ${show(ns)}, stream ${show(name)})`;
          try {
            const r = await call();
            // listStreams of a namespace that cannot exist may answer "no streams", but never anything else.
            if (!(what === 'listStreams' && Array.isArray(r) && r.length === 0)) problems.push(`${where} succeeded: ${JSON.stringify(r).slice(0, 120)}`);
          } catch (e) {
            if (!(e instanceof NativeLogError)) problems.push(`${where} failed without a NativeLogError: ${(e as Error).message}`);
            else if (!['INVALID_NAME', 'BAD_REQUEST', 'UNKNOWN_STREAM'].includes(e.codeName)) problems.push(`${where} failed with ${e.codeName}: ${e.message}`);
            else if (what === 'createStream' && !/name/i.test(e.message)) problems.push(`${where}: the error does not say what is wrong with the name: ${e.message}`);
            else stats.clientRejections++;
          }
        }
      }
    }

    // The CLI: every command that takes a name, for every name a command line can carry (argv cannot hold NUL).
    const cliNames = names.filter((n) => !n.includes('\0'));
    const jobs: { what: string; args: string[]; input?: string }[] = [];
    const server = ['--server', node.address];
    for (const bad of cliNames) {
      jobs.push({ what: `stream create ${show(bad)}`, args: ['stream', 'create', bad, ...server] });
      jobs.push({ what: `stream create ok --namespace ${show(bad)}`, args: ['stream', 'create', 'ok2', '--namespace', bad, ...server] });
    }
    // Every other command that takes a name, with a sample of the names (each CLI run is a process).
    for (const bad of cliEveryCommandNames(marker)) {
      jobs.push({ what: `produce --namespace ${show(bad)}`, args: ['produce', 'ok', '--namespace', bad, ...server, '--timeout-ms', '5000'], input: 'x\n' });
      jobs.push({ what: `produce ${show(bad)}`, args: ['produce', bad, '--namespace', 'torture', ...server, '--timeout-ms', '5000'], input: 'x\n' });
      jobs.push({ what: `consume ${show(bad)}`, args: ['consume', bad, '--namespace', 'torture', ...server] });
      jobs.push({ what: `stream describe ${show(bad)}`, args: ['stream', 'describe', bad, '--namespace', 'torture', ...server] });
      jobs.push({ what: `stream delete --namespace ${show(bad)}`, args: ['stream', 'delete', 'ok', '--namespace', bad, ...server] });
      jobs.push({ what: `stream list --namespace ${show(bad)}`, args: ['stream', 'list', '--namespace', bad, ...server] });
    }
    await inParallel(jobs, CLI_PARALLEL, async (j) => {
      const r = await runCli(j.args, { cwd, ...(j.input === undefined ? {} : { input: j.input }) });
      const err = r.stderr.trim();
      if (r.code === 0) problems.push(`CLI ${j.what} exited 0: ${r.stdout.slice(0, 120)}`);
      else if (err.length === 0) problems.push(`CLI ${j.what} exited ${r.code} with nothing on stderr`);
      else if (!/name|namespace|stream|argument|option/i.test(err)) problems.push(`CLI ${j.what} exited ${r.code} without a clear error: ${err.slice(0, 200)}`);
      else stats.cliRejections++;
    });

    // Valid names at the edges work (client and CLI), inside the data dir.
    for (const good of BOUNDARY_VALID) {
      try {
        await client.createStream(good, { namespace: good, shards: 1 });
        const d = await client.describeStream(good, { namespace: good });
        if (d.name !== good) problems.push(`valid name ${show(good)} came back as ${show(d.name)}`);
        stats.validAccepted++;
      } catch (e) {
        problems.push(`valid name ${show(good)} was rejected: ${(e as Error).message}`);
      }
    }
    const cliGood = await runCli(['stream', 'create', 'v'.repeat(249), '--namespace', '...', ...server], { cwd });
    if (cliGood.code !== 0) problems.push(`CLI stream create of a 249-character name failed: ${cliGood.stderr.trim()}`);
    else stats.validAccepted++;

    // Nothing outside the data dir; inside it only the MetaStore and valid names.
    const after = listTree(sandbox, dataDir);
    const added = [...after.outside].filter((p) => !before.outside.has(p));
    if (added.length > 0) problems.push(`files created outside the data dir: ${added.slice(0, 10).join(', ')}`);
    for (const abs of [`/tmp/${marker}`, join(sandbox, '..', marker), join(sandbox, marker)]) if (existsSync(abs)) problems.push(`${abs} exists: a traversal escaped the data dir`);
    for (const p of after.inside) {
      const parts = p.split('/');
      if (parts[0] === '@meta' || p === 'LOCK') continue; // the MetaStore and the node's lock file (docs/FORMAT.md section 13)
      // <namespace>/<stream>/<incarnation>/<shard>/... (docs/FORMAT.md section 1)
      const [ns, stream, incarnation, shard] = parts;
      if (!VALID.test(ns!) || ns === '.' || ns === '..') problems.push(`data dir entry ${show(p)} is not a valid namespace`);
      if (stream !== undefined && (!VALID.test(stream) || stream === '.' || stream === '..')) problems.push(`data dir entry ${show(p)} is not a valid stream`);
      if (incarnation !== undefined && !/^[0-9a-f]{16}$/.test(incarnation)) problems.push(`data dir entry ${show(p)} is not a stream incarnation folder`);
      if (shard !== undefined && parts.length === 4 && !/^\d+$/.test(shard)) problems.push(`data dir entry ${show(p)} is not a shard folder`);
    }
    const expected = new Set(['torture', ...BOUNDARY_VALID]);
    for (const p of after.inside) {
      const ns = p.split('/')[0]!;
      if (ns !== '@meta' && ns !== 'LOCK' && !expected.has(ns)) problems.push(`data dir has an unexpected namespace folder ${show(ns)}`);
    }
    if (problems.length > 0) throw new Error(`${problems.length} name problem(s): ${problems.slice(0, 10).join('; ')}`);
    if (!node.alive) throw new Error('the node died');
    return stats;
  } catch (err) {
    throw withSeed('names', seed, `${(err as Error).message}${node === undefined ? '' : `; ${node.describeFailure()}`}`);
  } finally {
    await client?.close().catch(() => undefined);
    if (node !== undefined) await node.kill9();
    cleanup();
  }
}

function show(s: string): string {
  const j = JSON.stringify(s);
  return j.length > 40 ? `${j.slice(0, 30)}..." (${s.length} chars)` : j;
}

/** Every path under root, split into those inside dataDir (relative to it) and those outside it (relative to root). */
function listTree(root: string, dataDir: string): { inside: Set<string>; outside: Set<string> } {
  const inside = new Set<string>();
  const outside = new Set<string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const rel = relative(dataDir, p);
      if (rel === '') outside.add(relative(root, p));
      else if (rel !== '..' && !rel.startsWith('../')) inside.add(rel);
      else outside.add(relative(root, p));
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return { inside, outside };
}

async function inParallel<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
