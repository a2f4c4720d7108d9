/**
 * RaftDisk: the durable storage of one Raft group (the MetaStore's), on the
 * storage engine's file layer. It makes each Output.persist of a RaftNode
 * durable and, at start, rebuilds the DurableState to construct the node
 * from. Format and recovery rules: docs/CONSENSUS.md, "Raft storage on disk".
 *
 *   const { disk, durable } = RaftDisk.open(raftDiskDir(dataDir), layer);
 *   const node = new RaftNode(config, durable);
 *   const out = node.step(input);
 *   disk.persist(out.persist);    // durable when it returns; then send out.messages, apply out.committed
 *   ...
 *   disk.close();
 *
 * The API is synchronous (so is the FileLayer): persist returns once the
 * Persist is durable (one frame written, one fsync; a segment roll adds a
 * directory fsync, a snapshot its own atomic file write). The driver cannot
 * overlap two persists; it may keep stepping the node while waiting only by
 * not calling persist, which it never needs to: a MetaStore command costs
 * one small fsync (measured in the docs section). Each persist is atomic:
 * after a crash the storage holds the state after some prefix of the
 * persist calls, the one in flight included whole or not at all.
 *
 * Files in the folder (every name is ours; anything else there is an error):
 *   log-<seq, 20 digits>.seg   log segments, frames of records, seq 1, 2, ...
 *   snap-<index, 20 digits>.snap  the snapshot referenced by the log
 *   *.tmp                      a snapshot being written (removed at open)
 *
 * Errors are RaftDiskError (raft-disk-error.ts). Any I/O failure during a
 * persist (a failed fsync above all: it is never retried, the kernel may
 * have dropped the pages) makes the disk failed: that call and every later
 * one throw RAFT_DISK_FAILED, and the owner stops the Raft group and
 * reopens, which reads what is durable.
 */
import { dirname, join } from 'node:path';
import type { DurableState, Entry, Persist, Snapshot } from '../consensus/types.js';
import type { FileLayer } from '../fs/file-layer.js';
import { RaftDiskError, corrupt } from './raft-disk-error.js';
import { encodeFrame, nextValidFrame, scanSegment } from './raft-disk-frame.js';
import { LogImage } from './raft-disk-image.js';
import { readWholeFile, writeFileAtomic, writeFully } from '../fs/file-layer.js';
import { ENTRY_BYTES_MAX, FRAME_BYTES_MAX, SEGMENT_BYTES_MAX, SNAPSHOT_BYTES_MAX, VOTERS_MAX } from './raft-disk-limits.js';
import { decodeRecords, encodeRecords, type DiskRecord } from './raft-disk-records.js';
import { decodeSnapshot, encodeSnapshot, parseSnapshotFileName, snapshotFileName } from './raft-disk-snapshot.js';

/** The Raft folder inside a node's data dir ('@' never occurs in namespace names). */
export function raftDiskDir(dataDir: string): string {
  return join(dataDir, '@raft');
}

export function segmentFileName(seq: number): string {
  return `log-${String(seq).padStart(20, '0')}.seg`;
}

function parseSegmentFileName(name: string): number | null {
  const m = /^log-(\d{20})\.seg$/.exec(name);
  return m === null ? null : Number(m[1]);
}

export interface RaftDiskOptions {
  /** Roll to a new segment once the active one reaches this size (tests use small values). */
  readonly segmentBytesMax?: number;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** `last` of the segment's start record: the log's last index when it was opened. */
  readonly startLast: number;
}

/** What open repaired (for the node's log): the torn tail cut from the last segment, files removed. */
export interface RaftDiskRepair {
  /** The last segment was cut back to `offset` (a frame whose write never completed), or null. */
  readonly tornTail: { readonly file: string; readonly offset: number } | null;
  /** Temp files, unreferenced snapshot files and an empty last segment that were removed. */
  readonly removed: readonly string[];
}

export interface RaftDiskStatus {
  readonly segments: number;
  readonly activeSegmentBytes: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
}

export class RaftDisk {
  private failure: RaftDiskError | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly layer: FileLayer,
    private readonly segmentBytesMax: number,
    private image: LogImage,
    private readonly segments: Segment[],
    private activeFd: number | null,
    private activeBytes: number,
  ) {}

  /** Opens (creating when missing) the Raft folder `dir`; returns the disk and the state to start the RaftNode from. */
  static open(dir: string, layer: FileLayer, options: RaftDiskOptions = {}): { disk: RaftDisk; durable: DurableState; repair: RaftDiskRepair } {
    const segmentBytesMax = options.segmentBytesMax ?? SEGMENT_BYTES_MAX;
    if (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax < 1) throw new RangeError(`segmentBytesMax must be a positive integer, got ${segmentBytesMax}`);
    if (!layer.exists(dir)) {
      layer.mkdirp(dir);
      layer.syncDir(dirname(dir));
    }
    const segSeqs: number[] = [];
    const snapFiles: string[] = [];
    const tmpFiles: string[] = [];
    for (const name of layer.readdir(dir)) {
      const seq = parseSegmentFileName(name);
      if (seq !== null) segSeqs.push(seq);
      else if (parseSnapshotFileName(name) !== null) snapFiles.push(name);
      else if (name.endsWith('.tmp')) tmpFiles.push(name);
      else throw corrupt(join(dir, name), 0, 'a file the Raft storage does not know');
    }
    segSeqs.sort((a, b) => a - b);
    for (let i = 1; i < segSeqs.length; i++) {
      if (segSeqs[i] !== (segSeqs[i - 1] as number) + 1) {
        throw corrupt(join(dir, segmentFileName(segSeqs[i] as number)), 0, `segment ${(segSeqs[i - 1] as number) + 1} before it is missing`);
      }
    }

    const image = new LogImage(true);
    const segments: Segment[] = [];
    let tornTail: { path: string; validBytes: number } | null = null;
    let emptyLast: string | null = null;
    let activeBytes = 0;
    segSeqs.forEach((seq, i) => {
      const path = join(dir, segmentFileName(seq));
      const last = i === segSeqs.length - 1;
      const bytes = readExisting(layer, path);
      const scan = scanSegment(bytes);
      if (scan.badReason !== null) {
        if (!last) throw corrupt(path, scan.validBytes, `${scan.badReason} (in a sealed segment)`);
        if (nextValidFrame(bytes, scan.validBytes) >= 0) throw corrupt(path, scan.validBytes, `${scan.badReason}, and valid frames follow it`);
        tornTail = { path, validBytes: scan.validBytes };
      }
      if (scan.frames.length === 0) {
        if (!last) throw corrupt(path, 0, 'a sealed segment without a frame');
        emptyLast = path;
        return;
      }
      let startLast = -1;
      scan.frames.forEach((f, j) => {
        try {
          const records = decodeRecords(f.payload);
          records.forEach((r, k) => {
            if ((j === 0 && k === 0) !== (r.t === 'start')) throw new Error(j === 0 && k === 0 ? 'the segment does not open with a start record' : 'a start record inside a segment');
            if (r.t === 'start') {
              if (r.seq !== seq) throw new Error(`the start record says segment ${r.seq}`);
              startLast = r.last;
            }
            image.apply(r);
          });
          image.checkFrame();
        } catch (e) {
          if (e instanceof RaftDiskError) throw e;
          throw corrupt(path, f.offset, (e as Error).message);
        }
      });
      segments.push({ seq, path, startLast });
      activeBytes = scan.validBytes;
    });
    try {
      image.checkComplete();
    } catch (e) {
      throw corrupt(segments[0]?.path ?? dir, 0, (e as Error).message);
    }

    let snapshot: Snapshot | null = null;
    const snapName = image.snap === null ? null : snapshotFileName(image.snap.index);
    if (image.snap !== null && snapName !== null) {
      const path = join(dir, snapName);
      if (!snapFiles.includes(snapName)) throw corrupt(path, 0, 'the snapshot the log references is missing');
      const bytes = readExisting(layer, path);
      if (bytes.length > SNAPSHOT_BYTES_MAX) throw corrupt(path, 0, `the file is ${bytes.length} bytes, past SNAPSHOT_BYTES_MAX`);
      snapshot = decodeSnapshot(bytes, path);
      if (snapshot.index !== image.snap.index || snapshot.term !== image.snap.term) {
        throw corrupt(path, 16, `it holds (${snapshot.index}, ${snapshot.term}), the log references (${image.snap.index}, ${image.snap.term})`);
      }
    }

    // Repairs, each made durable: the torn tail of the last segment (never acknowledged), an
    // empty last segment, snapshot files no frame references, temp files.
    const torn = tornTail as { path: string; validBytes: number } | null;
    if (torn !== null && emptyLast === null) {
      const fd = layer.open(torn.path, 'readwrite');
      try {
        layer.truncate(fd, torn.validBytes);
        layer.fsync(fd);
      } finally {
        layer.close(fd);
      }
    }
    const unlinks: string[] = [...tmpFiles, ...snapFiles.filter((n) => n !== snapName)].map((n) => join(dir, n));
    if (emptyLast !== null) unlinks.push(emptyLast);
    for (const p of unlinks) layer.unlink(p);
    if (unlinks.length > 0) layer.syncDir(dir);

    const active = segments[segments.length - 1];
    const activeFd = active === undefined ? null : layer.open(active.path, 'readwrite');
    const durable: DurableState = { hardState: image.hardState, snapshot, entries: image.entries };
    const disk = new RaftDisk(dir, layer, segmentBytesMax, image.withoutEntries(), segments, activeFd, active === undefined ? 0 : activeBytes);
    const repair: RaftDiskRepair = {
      tornTail: torn === null ? null : { file: torn.path, offset: torn.validBytes },
      removed: unlinks,
    };
    return { disk, durable, repair };
  }

  /** The error that made this disk unusable, or null. */
  get failed(): RaftDiskError | null {
    return this.failure;
  }

  status(): RaftDiskStatus {
    return { segments: this.segments.length, activeSegmentBytes: this.activeBytes, lastIndex: this.image.lastIndex(), snapshotIndex: this.image.snap?.index ?? 0 };
  }

  /**
   * Makes p durable in the contract's order (snapshot, entries, hard state) as
   * one atomic frame; returns when it is. Throws RAFT_DISK_CONTRACT or
   * RAFT_DISK_TOO_LARGE without writing anything, RAFT_DISK_FAILED (and the
   * disk is dead) when I/O fails.
   */
  persist(p: Persist): void {
    this.usable();
    const records: DiskRecord[] = [];
    const next = this.image.clone();
    let snapBytes: Uint8Array | null = null;
    if (p.snapshot !== null) {
      const s = p.snapshot;
      checkVoters(s.voters, `snapshot ${s.index}`);
      snapBytes = encodeSnapshot(s);
      if (snapBytes.length > SNAPSHOT_BYTES_MAX) throw new RaftDiskError('RAFT_DISK_TOO_LARGE', `Snapshot ${s.index} is ${snapBytes.length} bytes encoded, past SNAPSHOT_BYTES_MAX (${SNAPSHOT_BYTES_MAX}).`);
      records.push({ t: 'snap', index: s.index, term: s.term, keep: next.termAt(s.index) === s.term });
    }
    if (p.entries.length > 0) {
      p.entries.forEach(checkEntry);
      records.push({ t: 'append', entries: p.entries });
    }
    const hs = p.hardState;
    if (hs !== null && (hs.term !== this.image.hardState.term || hs.vote !== this.image.hardState.vote)) {
      records.push({ t: 'hs', term: hs.term, vote: hs.vote });
    }
    if (records.length === 0) return;
    const roll = this.activeFd === null || this.activeBytes >= this.segmentBytesMax;
    const seq = (this.segments[this.segments.length - 1]?.seq ?? 0) + 1;
    if (roll) {
      const cur = this.image;
      records.unshift({ t: 'start', seq, last: cur.lastIndex(), lastTerm: cur.lastTerm() ?? 0, snap: cur.snap, hs: cur.hardState });
    }
    try {
      for (const r of records) next.apply(r);
      next.checkFrame();
    } catch (e) {
      throw new RaftDiskError('RAFT_DISK_CONTRACT', `The persist breaks the Raft persistence contract: ${(e as Error).message}. Nothing was written.`);
    }
    const frame = encodeFrame(encodeRecords(records));
    if (frame.length > FRAME_BYTES_MAX) {
      throw new RaftDiskError('RAFT_DISK_TOO_LARGE', `The persist is ${frame.length} bytes encoded, past FRAME_BYTES_MAX (${FRAME_BYTES_MAX}); nothing was written.`);
    }

    let step = 'write the snapshot';
    try {
      const oldSnap = this.image.snap;
      if (p.snapshot !== null && snapBytes !== null) writeFileAtomic(this.layer, this.dir, snapshotFileName(p.snapshot.index), snapBytes);
      if (roll) {
        step = 'start a segment';
        const path = join(this.dir, segmentFileName(seq));
        const fd = this.layer.open(path, 'create');
        const old = this.activeFd;
        this.activeFd = fd;
        this.activeBytes = 0;
        this.segments.push({ seq, path, startLast: this.image.lastIndex() });
        if (old !== null) this.layer.close(old);
        writeFully(this.layer, fd, frame, 0, frame.length, 0);
        step = 'fsync the new segment';
        this.layer.fsync(fd);
        this.layer.syncDir(this.dir);
      } else {
        step = 'write the log';
        writeFully(this.layer, this.activeFd as number, frame, 0, frame.length, this.activeBytes);
        step = 'fsync the log';
        this.layer.fsync(this.activeFd as number);
      }
      this.activeBytes += frame.length;
      this.image = next;
      if (p.snapshot !== null) {
        step = 'remove compacted files';
        this.compact(oldSnap?.index ?? null);
      }
    } catch (e) {
      this.failure = new RaftDiskError('RAFT_DISK_FAILED', `Raft storage in ${this.dir} failed (${step}): ${(e as Error).message}. It is not retried; reopen to read what is durable.`, { cause: e });
      throw this.failure;
    }
  }

  /** Drops the previous snapshot file and every segment whose entries are all in the snapshot. */
  private compact(oldSnapIndex: number | null): void {
    const snapIndex = this.image.snap?.index ?? 0;
    if (oldSnapIndex !== null) this.layer.unlink(join(this.dir, snapshotFileName(oldSnapIndex)));
    let unsynced = oldSnapIndex !== null;
    // Oldest first, each made durable before the next: what is left is always a suffix of segments.
    while (this.segments.length >= 2 && (this.segments[1] as Segment).startLast <= snapIndex) {
      const s = this.segments.shift() as Segment;
      this.layer.unlink(s.path);
      this.layer.syncDir(this.dir);
      unsynced = false;
    }
    if (unsynced) this.layer.syncDir(this.dir);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const fd = this.activeFd;
    this.activeFd = null;
    if (fd === null) return;
    try {
      this.layer.close(fd);
    } catch (e) {
      // A failed disk's descriptor may be unusable; closing it must not hide the failure.
      if (this.failure === null) throw e;
    }
  }

  private usable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new RaftDiskError('RAFT_DISK_FAILED', `Raft storage in ${this.dir} is closed.`);
  }
}

function checkVoters(voters: readonly number[], what: string): void {
  if (voters.length > VOTERS_MAX) throw new RaftDiskError('RAFT_DISK_TOO_LARGE', `${what} names ${voters.length} voters, past VOTERS_MAX (${VOTERS_MAX}).`);
  for (const v of voters) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RaftDiskError('RAFT_DISK_CONTRACT', `${what} names voter ${v}, not a node id.`);
  }
}

function checkEntry(e: Entry): void {
  const what = `Entry ${e.index}`;
  if (!Number.isSafeInteger(e.index) || e.index < 1 || !Number.isSafeInteger(e.term) || e.term < 1) {
    throw new RaftDiskError('RAFT_DISK_CONTRACT', `${what} has term ${e.term}; index and term must be positive integers.`);
  }
  if ((e.kind === 'normal') !== (e.data !== null) || (e.kind === 'config') !== (e.voters !== null)) {
    throw new RaftDiskError('RAFT_DISK_CONTRACT', `${what} of kind ${e.kind} has data ${e.data === null ? 'nil' : 'set'} and voters ${e.voters === null ? 'nil' : 'set'}.`);
  }
  if (e.data !== null && e.data.length > ENTRY_BYTES_MAX) {
    throw new RaftDiskError('RAFT_DISK_TOO_LARGE', `${what} holds ${e.data.length} bytes, past ENTRY_BYTES_MAX (${ENTRY_BYTES_MAX}).`);
  }
  if (e.voters !== null) checkVoters(e.voters, what);
}

/** The whole content of a file open() listed (it exists; a vanished one is an I/O error). */
function readExisting(layer: FileLayer, path: string): Uint8Array {
  const bytes = readWholeFile(layer, path);
  if (bytes === null) throw Object.assign(new Error(`ENOENT: ${path} vanished while the Raft disk opened`), { code: 'ENOENT' });
  return bytes;
}
