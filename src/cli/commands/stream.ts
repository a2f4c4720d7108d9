/**
 * nativelog stream create | list | describe | delete
 */
import { Command } from 'commander';
import type { StreamDescription, StreamInfo } from '../../client/types.js';
import { REPLICAS_MAX, SHARDS_PER_STREAM_MAX } from '../../metastore/bounds.js';
import { addNamespaceOption, addServerOption, checkName, intOption, type ServerOpts } from '../common-options.js';
import { connectClient } from '../connect-client.js';
import { Output } from '../output.js';

interface NsOpts extends ServerOpts {
  namespace: string;
}
interface CreateOpts extends NsOpts {
  shards: number;
  replicas: number;
  retentionMs?: number;
  retentionBytes?: number;
  schema?: string;
}
interface ListOpts extends ServerOpts {
  namespace?: string;
  json?: boolean;
}
interface DescribeOpts extends NsOpts {
  json?: boolean;
}

function retentionText(s: StreamInfo): string {
  const parts = [s.retentionMs === null ? null : `${s.retentionMs} ms`, s.retentionBytes === null ? null : `${s.retentionBytes} bytes`].filter((p) => p !== null);
  return parts.length === 0 ? 'forever' : parts.join(' or ');
}

function streamInfoJson(s: StreamInfo): Record<string, unknown> {
  return {
    namespace: s.namespace, name: s.name, shards: s.shards, replicas: s.replicas, retentionMs: s.retentionMs,
    retentionBytes: s.retentionBytes, schema: s.schema, schemaVersion: s.schemaVersion, createdAt: s.createdAt,
    incarnation: s.incarnation ?? null,
  };
}

/**
 * describe --json: the stream's settings with "shards" as the per-shard array
 * and "shardCount" as the count. Per shard: the answering node's copy
 * (startSeq, bytes, segmentFiles, failed), the committed end (endSeq) and
 * the cluster's placement (sequencer, epoch, underReplicated, segments).
 */
export function describeJson(d: StreamDescription): Record<string, unknown> {
  const shards = d.shardInfo.map((s) => ({
    shard: s.shard, startSeq: s.startSeq, endSeq: s.endSeq, bytes: s.bytes, segmentFiles: s.segmentFiles, failed: s.failed,
    sequencer: s.sequencer, epoch: s.epoch, underReplicated: s.underReplicated,
    segments: s.segments.map((g) => ({ baseSeq: g.baseSeq, endSeq: g.endSeq, epoch: g.epoch, replicas: g.replicas, sealed: g.sealed })),
  }));
  return { ...streamInfoJson(d), shardCount: d.shards, shards };
}

/** A left-aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function describeText(d: StreamDescription): string {
  const head = [
    `stream ${d.namespace}/${d.name}: ${d.shards} shard${d.shards === 1 ? '' : 's'}, ${d.replicas} replica${d.replicas === 1 ? '' : 's'}, retention ${retentionText(d)}`,
    `created ${new Date(d.createdAt).toISOString()}${d.schema === null ? '' : `, schema v${d.schemaVersion}: ${d.schema}`}`,
  ];
  const placed = (s: StreamDescription['shardInfo'][number]): string[] => [s.sequencer === null ? '-' : String(s.sequencer), String(s.epoch)];
  const rows = d.shardInfo.map((s) =>
    s.failed === null
      ? [String(s.shard), String(s.startSeq), String(s.endSeq), String(s.bytes), String(s.segmentFiles), ...placed(s), s.underReplicated ? 'ok, under-replicated' : 'ok']
      : [String(s.shard), '-', '-', '-', '-', ...placed(s), `FAILED: ${s.failed}`],
  );
  const shards = table(['SHARD', 'START_SEQ', 'END_SEQ', 'BYTES', 'FILES', 'SEQUENCER', 'EPOCH', 'STATE'], rows);
  const segRows = d.shardInfo.flatMap((s) =>
    s.segments.map((g) => [String(s.shard), String(g.baseSeq), g.endSeq === null ? '-' : String(g.endSeq), String(g.epoch), g.replicas.join(','), g.sealed ? 'sealed' : 'active']),
  );
  const segments = segRows.length === 0 ? '' : `\nsegments (END_SEQ exclusive):\n${table(['SHARD', 'BASE_SEQ', 'END_SEQ', 'EPOCH', 'REPLICAS', 'STATE'], segRows)}`;
  return `${head.join('\n')}\n${shards}${segments}`;
}

async function create(name: string, o: CreateOpts): Promise<void> {
  checkName('namespace', o.namespace);
  checkName('stream', name);
  const client = await connectClient(o.server);
  try {
    const s = await client.createStream(name, {
      namespace: o.namespace, shards: o.shards, replicas: o.replicas,
      retentionMs: o.retentionMs ?? null, retentionBytes: o.retentionBytes ?? null, schema: o.schema ?? null,
    });
    process.stdout.write(`created stream ${s.namespace}/${s.name} with ${s.shards} shard${s.shards === 1 ? '' : 's'}\n`);
    for (const f of s.failedShards) process.stderr.write(`warning: shard ${f.shard} failed to open and does not serve: ${f.error}\n`);
  } finally {
    await client.close();
  }
}

async function list(o: ListOpts): Promise<void> {
  if (o.namespace !== undefined) checkName('namespace', o.namespace);
  const client = await connectClient(o.server);
  try {
    const streams = await client.listStreams(o.namespace === undefined ? {} : { namespace: o.namespace });
    const out = new Output(process.stdout);
    if (o.json) for (const s of streams) await out.line(JSON.stringify(streamInfoJson(s)));
    else {
      const rows = streams.map((s) => [s.namespace, s.name, String(s.shards), String(s.replicas), retentionText(s), s.schema ?? '']);
      await out.line(table(['NAMESPACE', 'NAME', 'SHARDS', 'REPLICAS', 'RETENTION', 'SCHEMA'], rows));
    }
    await out.flush();
  } finally {
    await client.close();
  }
}

async function describe(name: string, o: DescribeOpts): Promise<void> {
  checkName('namespace', o.namespace);
  checkName('stream', name);
  const client = await connectClient(o.server);
  try {
    const d = await client.describeStream(name, { namespace: o.namespace });
    process.stdout.write(`${o.json ? JSON.stringify(describeJson(d)) : describeText(d)}\n`);
  } finally {
    await client.close();
  }
}

async function remove(name: string, o: NsOpts): Promise<void> {
  checkName('namespace', o.namespace);
  checkName('stream', name);
  const client = await connectClient(o.server);
  try {
    await client.deleteStream(name, { namespace: o.namespace });
    process.stdout.write(`deleted stream ${o.namespace}/${name}\n`);
  } finally {
    await client.close();
  }
}

export function streamCommand(): Command {
  const stream = new Command('stream').description('create, list, describe and delete streams');
  const c = stream.command('create').description('create a stream').argument('<name>', 'stream name: 1-249 chars of [A-Za-z0-9._-]');
  addNamespaceOption(c)
    .option('--shards <n>', `number of shards (1-${SHARDS_PER_STREAM_MAX})`, intOption('--shards', 1, SHARDS_PER_STREAM_MAX), 1)
    .option('--replicas <r>', `replicas per shard (1-${REPLICAS_MAX})`, intOption('--replicas', 1, REPLICAS_MAX), 1)
    .option('--retention-ms <x>', 'delete data older than this (default: keep forever)', intOption('--retention-ms', 1))
    .option('--retention-bytes <y>', 'keep at most this many bytes per shard (default: no limit)', intOption('--retention-bytes', 1))
    .option('--schema <text>', "columns, e.g. 'host string, cpu float64, _tp_time datetime64'");
  addServerOption(c).action(create);

  const l = stream.command('list').description('list streams').option('--json', 'one JSON object per stream');
  addServerOption(addNamespaceOption(l, false)).action(list);

  const d = stream.command('describe').description('show a stream and its shards').argument('<name>').option('--json', 'one JSON object with a "shards" array');
  addServerOption(addNamespaceOption(d)).action(describe);

  const r = stream.command('delete').description('delete a stream and all its data').argument('<name>');
  addServerOption(addNamespaceOption(r)).action(remove);
  return stream;
}
