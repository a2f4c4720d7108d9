/**
 * Network partitions as a table of blocked directed links (from -> to).
 * Overlapping partitions stack: a link is up again once every partition that
 * blocked it has healed.
 */
import type { NodeId } from '../consensus/types.js';
import type { Prng } from './prng.js';

/** Node ids must stay below this for the link encoding. */
export const nodeIdLimit = 64;

export const link = (from: NodeId, to: NodeId): number => from * nodeIdLimit + to;

export interface PartitionShape {
  readonly links: number[];
  readonly description: string;
}

export class Partitions {
  private readonly blocked = new Map<number, number>();

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && (this.blocked.get(link(from, to)) ?? 0) > 0;
  }

  block(links: readonly number[]): void {
    for (const l of links) this.blocked.set(l, (this.blocked.get(l) ?? 0) + 1);
  }

  unblock(links: readonly number[]): void {
    for (const l of links) {
      const c = (this.blocked.get(l) ?? 0) - 1;
      if (c <= 0) this.blocked.delete(l);
      else this.blocked.set(l, c);
    }
  }

  clear(): void {
    this.blocked.clear();
  }
}

/** One node isolated, a random two-way split, or a single one-way link loss (null: drew a self-link). */
export function drawPartition(rng: Prng, ids: readonly NodeId[]): PartitionShape | null {
  const links: number[] = [];
  const kind = rng.int(3);
  if (kind === 0) {
    const a = rng.pick(ids);
    for (const b of ids) if (b !== a) links.push(link(a, b), link(b, a));
    return { links, description: `node ${a} isolated` };
  }
  if (kind === 1) {
    const side = new Set(ids.filter(() => rng.chance(0.5)));
    for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) links.push(link(a, b));
    return { links, description: `split {${[...side].join(',')}} from the rest` };
  }
  const a = rng.pick(ids);
  const b = rng.pick(ids);
  if (a === b) return null;
  return { links: [link(a, b)], description: `one-way link loss ${a}->${b}` };
}
