/**
 * Finding a stream's folders in a data dir from a test: the folder of a
 * stream is <namespace>/<name>/<incarnation> (src/node/shard-opener.ts), and
 * the incarnation is drawn at create time, so tests look it up.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The incarnation folders under <data-dir>/<namespace>/<name>. */
export function incarnationFolders(dataDir: string, namespace: string, name: string): string[] {
  return readdirSync(join(dataDir, namespace, name)).filter((f) => /^[0-9a-f]{16}$/.test(f));
}

/** <data-dir>/<namespace>/<name>/<incarnation> of the one live incarnation; throws when there is not exactly one. */
export function streamFolder(dataDir: string, namespace: string, name: string): string {
  const found = incarnationFolders(dataDir, namespace, name);
  if (found.length !== 1) throw new Error(`expected one folder of stream ${namespace}/${name} in ${dataDir}, found ${JSON.stringify(found)}`);
  return join(dataDir, namespace, name, found[0]!);
}

export function shardFolder(dataDir: string, namespace: string, name: string, shard: number): string {
  return join(streamFolder(dataDir, namespace, name), String(shard));
}
