/** Min-heap of timed events; ties break by insertion order, so runs are deterministic. */
export interface Timed<T> {
  readonly time: number;
  readonly seq: number;
  readonly event: T;
}

export class EventQueue<T> {
  private heap: Timed<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, event: T): void {
    const item: Timed<T> = { time, seq: this.seq++, event };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, h[parent] as Timed<T>)) break;
      h[i] = h[parent] as Timed<T>;
      i = parent;
    }
    h[i] = item;
  }

  pop(): Timed<T> | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r] as Timed<T>, h[l] as Timed<T>) ? r : l;
      if (!before(h[c] as Timed<T>, last)) break;
      h[i] = h[c] as Timed<T>;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

function before<T>(a: Timed<T>, b: Timed<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
