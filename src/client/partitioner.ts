/**
 * Picks a record's shard: explicit shard, else a hash of the key (FNV-1a
 * 32-bit over the key's bytes, modulo the shard count: stable across clients
 * and languages), else round-robin.
 */
export function keyHash(key: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function shardForKey(key: Uint8Array, shards: number): number {
  return keyHash(key) % shards;
}
