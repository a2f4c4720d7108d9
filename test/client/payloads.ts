/**
 * Deterministic test payloads: record i of a run has bytes derived from i, of
 * varying length (0..maxLength), so byte-equality checks catch any mix-up.
 */
export function payloadFor(i: number, maxLength = 200): Uint8Array {
  const len = (i * 7919) % (maxLength + 1);
  const out = new Uint8Array(len + 4);
  new DataView(out.buffer).setUint32(0, i, true);
  let x = (i * 2654435761) >>> 0;
  for (let k = 4; k < out.length; k++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[k] = x >>> 24;
  }
  return out;
}

export function indexOfPayload(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0, true);
}
