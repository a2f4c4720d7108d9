/**
 * Contracts of the Raft core (see docs/CONSENSUS.md). Everything here is plain
 * data: a RaftNode consumes an Input and returns an Output; the caller does all
 * I/O, keeps all clocks and owns all randomness.
 */

export type NodeId = number;

export type EntryKind = 'normal' | 'noop' | 'config';

/** One log entry. `voters` is set only on config entries; `data` only on normal ones. */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array | null;
  readonly voters: readonly NodeId[] | null;
}

/** What must survive a crash besides the log. */
export interface HardState {
  readonly term: number;
  /** Candidate voted for in `term`, or 0 for none. */
  readonly vote: NodeId;
}

/** A state-machine image covering every entry up to and including `index`. */
export interface Snapshot {
  readonly index: number;
  readonly term: number;
  /** Voters as of `index`. */
  readonly voters: readonly NodeId[];
  /** Opaque application state. */
  readonly data: Uint8Array;
}

// ---------------------------------------------------------------- messages

export interface MsgBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Pre-vote probe: "would you vote for me at `term`?" (term is the proposed one; nobody adopts it). */
export interface PreVoteMsg extends MsgBase { readonly type: 'pre-vote'; readonly lastIndex: number; readonly lastTerm: number }
export interface PreVoteRespMsg extends MsgBase { readonly type: 'pre-vote-resp'; readonly granted: boolean }
/** Real vote request. `transfer` marks a leadership transfer, which overrides followers' leader lease. */
export interface VoteMsg extends MsgBase { readonly type: 'vote'; readonly lastIndex: number; readonly lastTerm: number; readonly transfer: boolean }
export interface VoteRespMsg extends MsgBase { readonly type: 'vote-resp'; readonly granted: boolean }
/** Log replication; also carries the commit index. */
export interface AppendMsg extends MsgBase {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}
/**
 * Answer to append or snapshot. On success `index` is the follower's new match
 * index. On reject, `index` is the rejected prevIndex and `hint` the first
 * index the leader should try next.
 */
export interface AppendRespMsg extends MsgBase { readonly type: 'append-resp'; readonly success: boolean; readonly index: number; readonly hint: number }
/** Leader liveness + commit propagation + read-index confirmation round `seq`. */
export interface HeartbeatMsg extends MsgBase { readonly type: 'heartbeat'; readonly commit: number; readonly seq: number }
export interface HeartbeatRespMsg extends MsgBase { readonly type: 'heartbeat-resp'; readonly seq: number; readonly lastIndex: number }
export interface SnapshotMsg extends MsgBase { readonly type: 'snapshot'; readonly snapshot: Snapshot }
/** Leadership transfer: "campaign now, skipping pre-vote and election timeout". */
export interface TimeoutNowMsg extends MsgBase { readonly type: 'timeout-now' }

export type Message =
  | PreVoteMsg | PreVoteRespMsg | VoteMsg | VoteRespMsg
  | AppendMsg | AppendRespMsg | HeartbeatMsg | HeartbeatRespMsg
  | SnapshotMsg | TimeoutNowMsg;

export type MessageType = Message['type'];

// ---------------------------------------------------------------- inputs

export type Input =
  | { readonly type: 'message'; readonly message: Message }
  | { readonly type: 'tick' }
  | { readonly type: 'propose'; readonly data: Uint8Array }
  /** Linearizable read: answered with a read index once leadership is confirmed by a quorum. */
  | { readonly type: 'read'; readonly ctx: number }
  /** The application has state up to `index` (<= applied) in `data`; drop the log up to there. */
  | { readonly type: 'compact'; readonly index: number; readonly data: Uint8Array }
  /** Single-server membership change; leader only, one at a time. */
  | { readonly type: 'change-membership'; readonly op: 'add' | 'remove'; readonly node: NodeId }
  | { readonly type: 'transfer-leadership'; readonly to: NodeId };

// ---------------------------------------------------------------- outputs

/**
 * Durable writes requested by one step. The caller must make them durable, in
 * this order, BEFORE sending any of the same Output's messages (and before
 * acting on any later Output):
 *   1. snapshot: replaces the log up to snapshot.index (entries after it are
 *      kept only if the log held entry (snapshot.index, snapshot.term));
 *   2. entries: discard every stored entry with index >= entries[0].index,
 *      then append;
 *   3. hardState.
 */
export interface Persist {
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

export interface ReadResult {
  readonly ctx: number;
  /** Apply up to this index, then serve the read. null: refused (see reason). */
  readonly index: number | null;
  readonly reason: 'ok' | 'not-leader' | 'leadership-lost' | 'too-many-reads';
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export interface Output {
  readonly persist: Persist;
  readonly messages: readonly Message[];
  /** Newly committed entries, in order, to apply after `persist` is durable. */
  readonly committed: readonly Entry[];
  /** A snapshot to load into the state machine (after `persist` is durable), replacing its state. */
  readonly installSnapshot: Snapshot | null;
  readonly reads: readonly ReadResult[];
  /** Why a proposal / change / transfer / compaction input was refused, or null. */
  readonly refused: string | null;
}

/** State the caller restores a node from after a restart: only what was persisted. */
export interface DurableState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot (or from index 1), contiguous. */
  readonly entries: readonly Entry[];
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Voters when the durable state has no config (a fresh cluster). Empty for a node that joins later. */
  readonly initialVoters: readonly NodeId[];
  /** Ticks between leader heartbeats. */
  readonly heartbeatTicks: number;
  /** Minimum election timeout in ticks; the actual one is drawn from [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  /** Entries per append message (batching). */
  readonly appendEntriesMax: number;
  /** Entries sent to one follower and not yet acknowledged. */
  readonly inFlightEntriesMax: number;
  /** Proposals accepted but not yet committed, before propose is refused. */
  readonly uncommittedEntriesMax: number;
  /** Pending read-index requests before read is refused. */
  readonly pendingReadsMax: number;
  /** Caller-provided randomness: an integer in [0, n). The core has none of its own. */
  readonly randomInt: (n: number) => number;
  /** Deliberate defects for proving the simulator's checkers (never set in production). */
  readonly injectedBugs?: ReadonlySet<InjectedBug>;
}

export const injectedBugNames = [
  'commit-without-quorum',
  'vote-twice',
  'forget-persist',
  'commit-old-term',
  'stale-read',
  'two-changes-at-once',
] as const;
export type InjectedBug = (typeof injectedBugNames)[number];
