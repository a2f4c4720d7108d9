/**
 * Connecting the CLI to a node (--server HOST:PORT) with the client library;
 * a node that cannot be reached is one clear sentence.
 */
import type { ClientApi, ConnectOptions } from '../client/types.js';
import { parseServer } from './arg-parsers.js';
import { CliError } from './cli-error.js';

export const DEFAULT_SERVER = '127.0.0.1:7070';

type ConnectFn = (servers: string | string[], opts?: ConnectOptions) => Promise<ClientApi>;

// The client module is loaded lazily so `nativelog start --help` and `verify` never load it.
const CLIENT_MODULE = '../client/index.js';

export async function connectClient(server: string, opts: ConnectOptions = {}): Promise<ClientApi> {
  parseServer(server);
  const mod = (await import(CLIENT_MODULE)) as { connect: ConnectFn };
  try {
    return await mod.connect(server, opts);
  } catch (e) {
    const message = (e as Error).message;
    throw new CliError(message.includes(server) ? message : `Cannot connect to the node at ${server}: ${message}`);
  }
}
