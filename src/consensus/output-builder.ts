/** Accumulates one step's Output (see types.ts for the persistence contract). */
import type { Entry, HardState, Message, Output, ReadResult, Snapshot } from './types.js';

export class OutputBuilder {
  readonly messages: Message[] = [];
  readonly committed: Entry[] = [];
  readonly reads: ReadResult[] = [];
  private entries: Entry[] = [];
  private snapshot: Snapshot | null = null;
  private install: Snapshot | null = null;
  private refusedWhy: string | null = null;

  send(m: Message): void {
    this.messages.push(m);
  }

  /** Entries written to the log this step; a later batch overwrites from its first index. */
  persistEntries(batch: readonly Entry[]): void {
    if (batch.length === 0) return;
    const first = (batch[0] as Entry).index;
    if (this.entries.length > 0 && (this.entries[0] as Entry).index >= first) this.entries = [];
    else this.entries = this.entries.filter((e) => e.index < first);
    for (const e of batch) this.entries.push(e);
  }

  /** A snapshot written this step. `install`: the state machine must load it too. */
  persistSnapshot(s: Snapshot, install: boolean): void {
    this.snapshot = s;
    if (install) {
      this.install = s;
      this.entries = [];
    }
  }

  refuse(why: string): void {
    this.refusedWhy = why;
  }

  finish(hardState: HardState | null): Output {
    return {
      persist: { snapshot: this.snapshot, entries: this.entries, hardState },
      messages: this.messages,
      committed: this.committed,
      installSnapshot: this.install,
      reads: this.reads,
      refused: this.refusedWhy,
    };
  }
}
