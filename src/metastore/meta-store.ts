/**
 * The MetaStore: namespaces and streams as a replicated-state-machine log of
 * one. Every change is a MetaCommand appended (fsync'd) to
 * <data-dir>/@meta/commands.log and then applied by the pure state machine;
 * every SNAPSHOT_EVERY_COMMANDS commands the whole state goes to
 * <data-dir>/@meta/snapshot and the log is emptied. open() loads the snapshot,
 * replays the log after it, drops a torn last entry, and fails with
 * META_CORRUPT on damage anywhere else. Calls are serialized in arrival order.
 */
import { join } from 'node:path';
import { SNAPSHOT_EVERY_COMMANDS } from './bounds.js';
import { CommandLog } from './command-log.js';
import type { LogEntry } from './command-codec.js';
import { ensureDir, fsyncDir, removeLeftoverTemp } from './durable-fs.js';
import { validateName } from './names.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import { placementKey } from './placement.js';
import { apply, emptyState, sortedStreams, stateFromSnapshot, streamKey, type ApplyResult, type MetaState } from './state-machine.js';
import { buildStreamConfig } from './stream-config.js';
import { MetaError, type CreateStreamInput, type MetaCommand, type MetaStoreApi, type NodeId, type ShardPlacement, type ShardRef, type StreamConfig } from './types.js';

/** The folder under the data dir that holds the MetaStore ('@' never occurs in a namespace name). */
export const META_DIR_NAME = '@meta';
export const COMMAND_LOG_FILE = 'commands.log';
export const SNAPSHOT_FILE = 'snapshot';

export interface MetaStoreOptions {
  /** Clock for createdAt (epoch ms); injectable for tests. */
  now?: () => number;
  /** Commands between snapshots; default SNAPSHOT_EVERY_COMMANDS. */
  snapshotEvery?: number;
}

interface Replayed {
  state: MetaState;
  lastIndex: number;
}

function replay(state: MetaState, lastIndex: number, entries: LogEntry[]): Replayed {
  let prev: number | null = null;
  for (const { index, command } of entries) {
    if (prev !== null && index !== prev + 1) {
      throw new MetaError('META_CORRUPT', `MetaStore command log jumps from index ${prev} to ${index}.`);
    }
    prev = index;
    if (index <= lastIndex) continue; // already in the snapshot (crash between snapshot and log truncation)
    if (index !== lastIndex + 1) {
      throw new MetaError('META_CORRUPT', `MetaStore command log starts at index ${index} but the snapshot ends at ${lastIndex}.`);
    }
    state = apply(state, command).state; // a failed conditional command changes nothing, on every replica alike
    lastIndex = index;
  }
  return { state, lastIndex };
}

export class MetaStore implements MetaStoreApi {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private sinceSnapshot: number;
  /** The last snapshot failure, if the latest attempt failed (the commands themselves are durable in the log). */
  snapshotError: Error | null = null;

  private constructor(
    readonly dir: string,
    private log: CommandLog,
    private state: MetaState,
    private index: number,
    logEntries: number,
    private readonly now: () => number,
    private readonly snapshotEvery: number,
  ) {
    this.sinceSnapshot = logEntries;
  }

  static async open(dataDir: string, opts: MetaStoreOptions = {}): Promise<MetaStore> {
    const dir = join(dataDir, META_DIR_NAME);
    await ensureDir(dir);
    const snapshotPath = join(dir, SNAPSHOT_FILE);
    await removeLeftoverTemp(snapshotPath);
    const snapshot = await readSnapshot(snapshotPath);
    const base = snapshot === null ? emptyState() : stateFromSnapshot(snapshot.streams, snapshot.placements);
    const opened = await CommandLog.open(join(dir, COMMAND_LOG_FILE));
    try {
      await fsyncDir(dir); // the log file's directory entry, if open() just created it
      const { state, lastIndex } = replay(base, snapshot?.lastIndex ?? 0, opened.entries);
      const every = opts.snapshotEvery ?? SNAPSHOT_EVERY_COMMANDS;
      return new MetaStore(dir, opened.log, state, lastIndex, opened.entries.length, opts.now ?? Date.now, every);
    } catch (e) {
      await opened.log.close();
      throw e;
    }
  }

  /** Index of the last applied command (0 when none). */
  get lastIndex(): number {
    return this.index;
  }

  /** Bytes of entries in the command log since the last snapshot. */
  get logBytes(): number {
    return this.log.bytes;
  }

  async createStream(input: CreateStreamInput): Promise<StreamConfig> {
    validateName('namespace', input.namespace ?? 'default');
    validateName('stream', input.name);
    const stream = await this.propose({ op: 'createStream', stream: buildStreamConfig(input, this.now()) });
    return stream as StreamConfig;
  }

  async deleteStream(namespace: string, name: string): Promise<void> {
    validateName('namespace', namespace);
    validateName('stream', name);
    await this.propose({ op: 'deleteStream', namespace, name });
  }

  async setRetention(namespace: string, name: string, retentionMs: number | null, retentionBytes: number | null): Promise<StreamConfig> {
    validateName('namespace', namespace);
    validateName('stream', name);
    const stream = await this.propose({ op: 'setRetention', namespace, name, retentionMs, retentionBytes });
    return stream as StreamConfig;
  }

  /** Makes `node` the shard's sequencer with epoch expectEpoch + 1; fails STALE_EPOCH unless the epoch is still expectEpoch. */
  async electSequencer(ref: ShardRef, node: NodeId, expectEpoch: number): Promise<ShardPlacement> {
    return this.proposePlacement({ op: 'electSequencer', ...ref, node, expectEpoch });
  }

  /** Opens the shard's next segment at baseSeq on `replicas` (conditions in placement.ts). */
  async openSegment(ref: ShardRef, epoch: number, baseSeq: number, replicas: NodeId[]): Promise<ShardPlacement> {
    return this.proposePlacement({ op: 'openSegment', ...ref, epoch, baseSeq, replicas });
  }

  /** Seals the shard's active segment (at baseSeq) at endSeq (conditions in placement.ts). */
  async sealSegment(ref: ShardRef, epoch: number, baseSeq: number, endSeq: number): Promise<ShardPlacement> {
    return this.proposePlacement({ op: 'sealSegment', ...ref, epoch, baseSeq, endSeq });
  }

  getPlacement(namespace: string, name: string, shard: number): ShardPlacement | undefined {
    return this.state.placements.get(placementKey(namespace, name, shard));
  }

  private async proposePlacement(command: MetaCommand): Promise<ShardPlacement> {
    const r = await this.proposeResult(command);
    return r.placement!;
  }

  getStream(namespace: string, name: string): StreamConfig | undefined {
    return this.state.streams.get(streamKey(namespace, name));
  }

  listStreams(namespace?: string): StreamConfig[] {
    return sortedStreams(this.state, namespace);
  }

  /**
   * Applies one command: checked against the current state first (a command
   * that would fail is not logged), then appended durably, then applied.
   * Resolves to the stream the command produced (null for a delete).
   */
  async propose(command: MetaCommand): Promise<StreamConfig | null> {
    return (await this.proposeResult(command)).stream;
  }

  private proposeResult(command: MetaCommand): Promise<Extract<ApplyResult, { ok: true }>> {
    return this.serialize(async () => {
      const result = apply(this.state, command);
      if (!result.ok) throw result.error;
      await this.log.append({ index: this.index + 1, command });
      this.index += 1;
      this.state = result.state;
      this.sinceSnapshot += 1;
      if (this.sinceSnapshot >= this.snapshotEvery) await this.trySnapshot();
      return result;
    });
  }

  /** Writes a snapshot of the current state and empties the command log. */
  snapshot(): Promise<void> {
    return this.serialize(() => this.writeSnapshotNow());
  }

  async close(): Promise<void> {
    await this.serialize(async () => {
      this.closed = true;
      await this.log.close();
    });
  }

  private async writeSnapshotNow(): Promise<void> {
    await writeSnapshot(join(this.dir, SNAPSHOT_FILE), { lastIndex: this.index, streams: this.listStreams(), placements: [...this.state.placements.values()] });
    await this.log.clear();
    this.sinceSnapshot = 0;
    this.snapshotError = null;
  }

  private async trySnapshot(): Promise<void> {
    try {
      await this.writeSnapshotNow();
    } catch (e) {
      this.snapshotError = e as Error; // retried after the next command; the log still holds everything
    }
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new Error('The MetaStore is closed.');
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
