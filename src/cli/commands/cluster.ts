/**
 * nativelog cluster status [--json]: the cluster as the node at --server sees
 * it. --json: one object {"nodeId","leader","term","role","commit","applied",
 * "voters","clusterId","nodes":[{"id","address","up","voter","lastContactMs"}]}.
 *
 * nativelog cluster remove-node ID [--server HOST:PORT]: removes voter ID
 * through any member (forwarded to the leader); prints the members left.
 * Adding a node is `nativelog start --node-id N --join HOST:PORT` on the new
 * node itself.
 */
import { Command } from 'commander';
import type { ClusterStatus } from '../../client/types.js';
import { addServerOption, type ServerOpts } from '../common-options.js';
import { CliError } from '../cli-error.js';
import { connectClient } from '../connect-client.js';
import { table } from './stream.js';
import { parseIntArg } from '../arg-parsers.js';
import { NODE_ID_MAX } from '../../cluster/peer-limits.js';

interface StatusOpts extends ServerOpts {
  json?: boolean;
}

export function statusText(s: ClusterStatus): string {
  const head = `node ${s.nodeId} (${s.role}): leader ${s.leader ?? 'none'}, term ${s.term}, commit ${s.commit}, applied ${s.applied}${s.clusterId ? `, cluster ${s.clusterId}` : ''}`;
  const rows = s.nodes.map((n) => [String(n.id), n.address, n.up ? 'up' : 'down', n.voter ? 'voter' : '-', n.id === s.leader ? 'leader' : '', n.lastContactMs === null ? '-' : `${n.lastContactMs} ms`]);
  return `${head}\n${table(['ID', 'ADDRESS', 'STATE', 'ROLE', '', 'LAST_CONTACT'], rows)}`;
}

async function status(o: StatusOpts): Promise<void> {
  const client = await connectClient(o.server);
  try {
    if (client.clusterStatus === undefined) throw new CliError('This client cannot ask for the cluster status.');
    const s = await client.clusterStatus();
    process.stdout.write(`${o.json ? JSON.stringify(s) : statusText(s)}\n`);
  } finally {
    await client.close();
  }
}

async function removeNode(idText: string, o: ServerOpts): Promise<void> {
  const id = parseIntArg('ID', idText, 1, NODE_ID_MAX);
  const client = await connectClient(o.server);
  try {
    if (client.clusterRemoveNode === undefined) throw new CliError('This client cannot change the cluster.');
    const r = await client.clusterRemoveNode(id);
    process.stdout.write(`removed node ${id}; members: ${r.members.map((m) => `${m.node}@${m.address}`).join(', ')}\n`);
  } finally {
    await client.close();
  }
}

export function clusterCommand(): Command {
  const cluster = new Command('cluster').description('the cluster of nodes');
  const s = cluster.command('status').description('leader, term and nodes as the node at --server sees them').option('--json', 'one JSON object');
  addServerOption(s).action(status);
  const r = cluster.command('remove-node').argument('<id>', 'the node id to remove').description('remove a voter from the cluster (through any member)');
  addServerOption(r).action(removeNode);
  return cluster;
}
