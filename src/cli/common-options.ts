/**
 * Options shared by the commands that talk to a node.
 */
import type { Command } from 'commander';
import { validateName } from '../metastore/names.js';
import { MetaError } from '../metastore/types.js';
import { DEFAULT_NAMESPACE } from '../metastore/stream-config.js';
import { parseIntArg } from './arg-parsers.js';
import { usageError } from './cli-error.js';
import { DEFAULT_SERVER } from './connect-client.js';

export interface ServerOpts {
  server: string;
}

export function addServerOption(cmd: Command): Command {
  return cmd.option('--server <host:port,...>', 'node to talk to, or a comma-separated list of nodes (the first that answers is used)', DEFAULT_SERVER);
}

export function addNamespaceOption(cmd: Command, withDefault = true): Command {
  return withDefault ? cmd.option('--namespace <ns>', 'namespace of the stream', DEFAULT_NAMESPACE) : cmd.option('--namespace <ns>', 'only streams of this namespace');
}

/** Checks a namespace or stream name locally (same rules as the node) so a bad name never reaches it. */
export function checkName(kind: 'namespace' | 'stream', name: string): void {
  try {
    validateName(kind, name);
  } catch (e) {
    if (e instanceof MetaError) throw usageError(e.message);
    throw e;
  }
}

/** commander argParser for integer flags. */
export function intOption(flag: string, min: number, max?: number): (v: string) => number {
  return (v: string) => parseIntArg(flag, v, min, max);
}
