/**
 * Connecting the CLI to a node (--server HOST:PORT, or a comma-separated list
 * of them: the first that answers is used, the others are kept for
 * reconnects) with the client library; a node that cannot be reached is one
 * clear sentence.
 */
import type { ClientApi, ConnectOptions } from '../client/types.js';
import { parseServerList } from './arg-parsers.js';
import { CliError } from './cli-error.js';

export const DEFAULT_SERVER = '127.0.0.1:7070';

type ConnectFn = (servers: string | string[], opts?: ConnectOptions) => Promise<ClientApi>;

// The client module is loaded lazily so `nativelog start --help` and `verify` never load it.
const CLIENT_MODULE = '../client/index.js';

export async function connectClient(server: string, opts: ConnectOptions = {}): Promise<ClientApi> {
  const list = parseServerList(server);
  const mod = (await import(CLIENT_MODULE)) as { connect: ConnectFn };
  try {
    return await mod.connect(list, opts);
  } catch (e) {
    const message = (e as Error).message.replace(/\.$/, '');
    if (list.length > 1) throw new CliError(`Cannot connect to any of the nodes ${list.join(', ')} (the last one said: ${message}).`);
    throw new CliError(message.includes(server) ? `${message}.` : `Cannot connect to the node at ${server}: ${message}.`);
  }
}
