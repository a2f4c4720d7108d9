/**
 * The simulator's trace: a rolling hash over every event (two runs of one seed
 * must produce the same hash) and the last `keep` notable events, formatted
 * only when a violation is reported.
 */
import type { Message } from '../consensus/types.js';

export interface TraceEvent {
  readonly time: number;
  readonly node: number;
  readonly what: string;
  readonly msg: Message | null;
}

export function mix(h: number, x: number): number {
  return Math.imul((h ^ x) >>> 0, 16777619) >>> 0;
}

export function mixString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

export class Trace {
  hash = 2166136261;
  private ring: (TraceEvent | undefined)[];
  private next = 0;

  constructor(readonly keep: number) {
    this.ring = new Array<TraceEvent | undefined>(keep);
  }

  /** Fold an event into the hash without keeping it (ticks). */
  fold(time: number, node: number, code: number): void {
    this.hash = mix(mix(mix(this.hash, time), node), code);
  }

  note(time: number, node: number, what: string, msg: Message | null = null): void {
    this.hash = mixString(mix(mix(this.hash, time), node), what);
    if (msg !== null) this.hash = mixString(mix(mix(this.hash, msg.from), msg.to), msg.type + msg.term);
    this.ring[this.next % this.keep] = { time, node, what, msg };
    this.next++;
  }

  lines(): string[] {
    const out: string[] = [];
    const n = Math.min(this.next, this.keep);
    for (let k = this.next - n; k < this.next; k++) out.push(formatEvent(this.ring[k % this.keep] as TraceEvent));
    return out;
  }
}

export function formatMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'append': return `${head} prev=${m.prevIndex}/${m.prevTerm} n=${m.entries.length} commit=${m.commit}`;
    case 'append-resp': return `${head} ${m.success ? 'ok' : 'reject'} index=${m.index} hint=${m.hint}`;
    case 'vote': case 'pre-vote': return `${head} last=${m.lastIndex}/${m.lastTerm}`;
    case 'vote-resp': case 'pre-vote-resp': return `${head} ${m.granted ? 'granted' : 'denied'}`;
    case 'heartbeat': return `${head} commit=${m.commit} seq=${m.seq}`;
    case 'heartbeat-resp': return `${head} seq=${m.seq} last=${m.lastIndex}`;
    case 'snapshot': return `${head} at=${m.snapshot.index}/${m.snapshot.term}`;
    case 'timeout-now': return head;
  }
}

function formatEvent(e: TraceEvent): string {
  const t = `${e.time.toFixed(0).padStart(6)}ms`;
  return e.msg === null ? `${t} n${e.node} ${e.what}` : `${t} n${e.node} ${e.what} ${formatMessage(e.msg)}`;
}
