/**
 * Bounds and timings of record replication (docs/REPLICATION.md). Units last.
 */

/** Bytes sent to one replica of one shard and not yet acknowledged; past it the sequencer stops sending to that replica until acks come back. */
export const REPLICA_IN_FLIGHT_BYTES_MAX = 8 * 1024 * 1024;
/** Stamped batches the sequencer keeps in memory per shard for sending (older ones are read back from its own store). */
export const RECENT_BATCH_BYTES_MAX = 32 * 1024 * 1024;
/** Bytes stamped on the sequencer and not yet committed, per shard; past it producers' appends wait (backpressure). */
export const UNCOMMITTED_BYTES_MAX = 64 * 1024 * 1024;
/** Bytes one catch-up read (from the sequencer's store, or a recovery read from a replica) carries. */
export const CATCH_UP_READ_BYTES_MAX = 1024 * 1024;
/** An append with acks=quorum that no write quorum stored within this long is answered NOT_ENOUGH_REPLICAS (outcome unknown). */
export const QUORUM_WAIT_MS_MAX = 5000;
/** How often the sequencer sends the commit point to idle replicas and checks for lost messages. */
export const REPLICATION_HEARTBEAT_MS = 50;
/** Sent but unacknowledged for this long (a link dropped messages): the sequencer resends from the replica's acknowledged end. */
export const RESEND_AFTER_MS = 500;
/** The MetaStore leader elects a new sequencer once it has not heard from the current one for this long (its lease). */
export const SEQUENCER_LEASE_MS = 500;
/** How often every node reconciles its sequencers with the placements (and the leader runs the placement controller). */
export const PLACEMENT_TICK_MS = 50;
/** One fence or recovery read request to a replica waits this long before it is sent again. */
export const RECOVERY_REQUEST_MS = 400;
/** A recovery that cannot reach enough replicas gives up after this long (the controller may then elect again). */
export const RECOVERY_MS_MAX = 10_000;
/** Requests (fence, recovery read) waiting for a replica's answer on one node. */
export const RECOVERY_PENDING_MAX = 4096;
