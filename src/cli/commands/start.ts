/**
 * nativelog start: runs a node in the foreground. Settings come from
 * CONFIG_ENTRIES: flags > --config FILE > NATIVELOG_* env > defaults.
 * Prints "listening on HOST:PORT" once it accepts clients; SIGTERM/SIGINT
 * close the node (flush, fsync) and exit 0.
 */
import { Command, Option } from 'commander';
import { CONFIG_ENTRIES, type NodeConfig } from '../../node/config.js';
import { toMessage } from '../cli-error.js';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';
import { envName, readConfigFile, resolveNodeConfig } from '../node-config.js';
import { crc32Backend } from '../../record/crc32.js';

type FlagValues = Partial<Record<keyof NodeConfig, string>> & { config?: string };

// Loaded lazily so `start --help` never loads the node.
const NODE_MODULE = '../../node/index.js';

interface RunningNodeLike {
  host: string;
  port: number;
  close(): Promise<void>;
}

async function start(o: FlagValues): Promise<void> {
  const flags: Partial<Record<keyof NodeConfig, string>> = {};
  for (const e of CONFIG_ENTRIES) if (o[e.key] !== undefined) flags[e.key] = o[e.key];
  const file = o.config === undefined ? undefined : await readConfigFile(o.config);
  const config = resolveNodeConfig(CONFIG_ENTRIES, { flags, env: process.env, ...(file === undefined ? {} : { file }) });
  const { startNode } = (await import(NODE_MODULE)) as { startNode: (c: NodeConfig) => Promise<RunningNodeLike> };
  // Handlers go in before the node starts, so a signal right after "listening on" is never missed.
  let node: RunningNodeLike | null = null;
  let stopSignal: string | null = null;
  const stop = (signal: string) => {
    if (stopSignal !== null) return;
    stopSignal = signal;
    if (node !== null) closeAndExit(node, signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  node = await startNode(config);
  if (stopSignal !== null) return closeAndExit(node, stopSignal);
  process.stdout.write(`nativelog node ${config.nodeId} listening on ${node.host}:${node.port} (data dir ${config.dataDir}; record CRC-32: ${crc32Backend})\n`);
}

/** Closes the node (flush, fsync, clean-shutdown marker) and exits 0, or 1 if closing fails. */
function closeAndExit(node: RunningNodeLike, signal: string): void {
  process.stderr.write(`${signal}: closing the node\n`);
  node.close().then(
    () => process.exit(EXIT_OK),
    (e: unknown) => {
      process.stderr.write(`${toMessage(e)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}

export function startCommand(): Command {
  const c = new Command('start').description('run a node in the foreground (settings: flags > --config file > NATIVELOG_* env > defaults)');
  for (const e of CONFIG_ENTRIES) {
    c.addOption(new Option(`${e.flag} <value>`, `${e.description} (default: ${JSON.stringify(e.default)}; env ${envName(e.key)})`));
  }
  c.option('--config <file>', 'JSON file of settings, keyed by name (e.g. {"dataDir": "/var/lib/nativelog", "port": 7070})');
  c.action(start);
  return c;
}
