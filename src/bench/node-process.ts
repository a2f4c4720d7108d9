/**
 * Child-process entry: the node under test, started with startNode() in its
 * own process (as it would run in production) so the bench's clients and the
 * node do not share an event loop. Parent -> child over IPC:
 *   {cmd:'start', config}  -> {address:"host:port"} | {error}
 *   {cmd:'cpu'}            -> {cpu:{user,system}} (microseconds, whole process, workers included)
 *   {cmd:'stop'}           -> node closed (flush, fsync), process exits 0
 * A vanished parent (IPC disconnect) also stops the node. SIGINT is ignored:
 * a Ctrl-C reaches the whole process group, and the bench (the parent) is
 * the one that stops its nodes, by pid, and removes their temp dirs.
 */
import { DEFAULT_CONFIG, type NodeConfig } from '../node/config.js';
import { startNode, type RunningNode } from '../node/index.js';

let node: RunningNode | null = null;
let stopping = false;

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await node?.close();
  } finally {
    process.exit(0);
  }
}

process.on('message', (msg: { cmd: string; config?: Partial<NodeConfig> }) => {
  if (msg.cmd === 'start') {
    startNode({ ...DEFAULT_CONFIG, ...msg.config })
      .then((n) => {
        node = n;
        process.send?.({ address: `${n.host}:${n.port}` });
      })
      .catch((e: unknown) => process.send?.({ error: e instanceof Error ? e.message : String(e) }));
  } else if (msg.cmd === 'cpu') {
    process.send?.({ cpu: process.cpuUsage() });
  } else if (msg.cmd === 'stop') {
    void stop();
  }
});
process.on('disconnect', () => void stop());
process.on('SIGINT', () => undefined);
