/**
 * Messages between a ShardHandle (main thread) and its shard worker, carried
 * by the two rings of src/ring. The ring message tag is the op (requests) or
 * the status (responses). Responses come back in request order (the worker
 * serves its inbound ring strictly in order), so the handle matches them
 * FIFO; the request id is echoed as a check.
 *
 * Request payload (inbound ring):
 *
 *   off size field
 *     0    4 requestId u32
 *     4    4 arg32 u32     READ: maxBytes; APPEND: flags (bit 0 = return the
 *                          stamped bytes); APPEND_STAMPED, FENCE, SET_EPOCH:
 *                          epoch; otherwise 0
 *     8    8 arg64 f64     READ: fromSeq; SEQ_FOR_*_TIME: t; APPEND_STAMPED:
 *                          firstSeq; TRUNCATE: seq; otherwise 0
 *    16    8 arg64b f64    READ: endSeqMax (Infinity: no bound); otherwise 0
 *    24    . APPEND, APPEND_STAMPED: concatenated records (8-aligned: ring payloads are)
 *
 * Response payload (outbound ring), tag STATUS_OK or STATUS_ERROR:
 *
 *   off size field
 *     0    4 requestId u32
 *     4    4 op u32        the request's op
 *     8    8 a f64         APPEND/APPEND_STAMPED/READ: firstSeq; SEQ_FOR_*: seq;
 *                          FENCE/TRUNCATE: endSeq
 *    16    8 b f64         APPEND/APPEND_STAMPED: lastSeq; READ: nextSeq; FENCE: lastEpoch
 *    24    8 c f64         APPEND/APPEND_STAMPED: appendTime; FENCE: fenceEpoch
 *    32    4 count u32     APPEND/APPEND_STAMPED/READ: records
 *    36    4 flags u32     APPEND: bit 0 = duplicate, bit 1 = the body holds the
 *                          stamped bytes; APPEND_STAMPED: records skipped (overlap)
 *    40    . READ: record bytes (8-aligned); APPEND with bit 1: the bytes written,
 *            as stamped; ERROR: UTF-8 JSON {code, message, details?}
 *            (SEQ_GAP: details.endSeq)
 *
 * FENCE, TRUNCATE and SET_EPOCH travel the ring, not comlink, so they are
 * ordered after every append sent before them (a fence answers only once
 * those appends are stored; nothing sent after it is stored under the old epoch).
 */
export const OP_APPEND = 1;
export const OP_READ = 2;
export const OP_SEQ_FOR_APPEND_TIME = 3;
export const OP_SEQ_FOR_EVENT_TIME = 4;
export const OP_APPEND_STAMPED = 5;
export const OP_FENCE = 6;
export const OP_TRUNCATE = 7;
export const OP_SET_EPOCH = 8;

/** APPEND request flag (arg32): answer with a copy of the bytes written, as stamped. */
export const APPEND_FLAG_RETURN_STAMPED = 1;

export const STATUS_OK = 0;
export const STATUS_ERROR = 1;

export const REQ_OFF_ID = 0;
export const REQ_OFF_ARG32 = 4;
export const REQ_OFF_ARG64 = 8;
export const REQ_OFF_ARG64B = 16;
export const REQUEST_HEADER_BYTES = 24;

export const RES_OFF_ID = 0;
export const RES_OFF_OP = 4;
export const RES_OFF_A = 8;
export const RES_OFF_B = 16;
export const RES_OFF_C = 24;
export const RES_OFF_COUNT = 32;
export const RES_OFF_FLAGS = 36;
export const RESPONSE_HEADER_BYTES = 40;
export const RES_FLAG_DUPLICATE = 1;
export const RES_FLAG_STAMPED = 2;

/** Longest error message (UTF-8 bytes of the JSON) a response carries; longer ones are cut. */
export const ERROR_TEXT_BYTES_MAX = 4096;

export interface RequestHeader {
  requestId: number;
  arg32: number;
  arg64: number;
  arg64b: number;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function writeRequestHeader(view: Uint8Array, requestId: number, arg32: number, arg64: number, arg64b = 0): void {
  const dv = viewOf(view);
  dv.setUint32(REQ_OFF_ID, requestId >>> 0, true);
  dv.setUint32(REQ_OFF_ARG32, arg32 >>> 0, true);
  dv.setFloat64(REQ_OFF_ARG64, arg64, true);
  dv.setFloat64(REQ_OFF_ARG64B, arg64b, true);
}

export function readRequestHeader(view: Uint8Array): RequestHeader {
  if (view.length < REQUEST_HEADER_BYTES) throw new RangeError(`request of ${view.length} bytes is shorter than its header`);
  const dv = viewOf(view);
  return {
    requestId: dv.getUint32(REQ_OFF_ID, true),
    arg32: dv.getUint32(REQ_OFF_ARG32, true),
    arg64: dv.getFloat64(REQ_OFF_ARG64, true),
    arg64b: dv.getFloat64(REQ_OFF_ARG64B, true),
  };
}

export interface ResponseFields {
  requestId: number;
  op: number;
  a: number;
  b: number;
  c: number;
  count: number;
  flags: number;
}

export function writeResponseHeader(view: Uint8Array, f: ResponseFields): void {
  const dv = viewOf(view);
  dv.setUint32(RES_OFF_ID, f.requestId >>> 0, true);
  dv.setUint32(RES_OFF_OP, f.op, true);
  dv.setFloat64(RES_OFF_A, f.a, true);
  dv.setFloat64(RES_OFF_B, f.b, true);
  dv.setFloat64(RES_OFF_C, f.c, true);
  dv.setUint32(RES_OFF_COUNT, f.count >>> 0, true);
  dv.setUint32(RES_OFF_FLAGS, f.flags >>> 0, true);
}

export function readResponseHeader(view: Uint8Array): ResponseFields {
  if (view.length < RESPONSE_HEADER_BYTES) throw new RangeError(`response of ${view.length} bytes is shorter than its header`);
  const dv = viewOf(view);
  return {
    requestId: dv.getUint32(RES_OFF_ID, true),
    op: dv.getUint32(RES_OFF_OP, true),
    a: dv.getFloat64(RES_OFF_A, true),
    b: dv.getFloat64(RES_OFF_B, true),
    c: dv.getFloat64(RES_OFF_C, true),
    count: dv.getUint32(RES_OFF_COUNT, true),
    flags: dv.getUint32(RES_OFF_FLAGS, true),
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Machine-readable facts of an error (SEQ_GAP: the shard's endSeq). */
export interface ErrorDetails {
  endSeq?: number;
}

/** The error body of an error response: JSON {code, message, details?}, bounded by ERROR_TEXT_BYTES_MAX. */
export function encodeErrorBody(code: string, message: string, details?: ErrorDetails): Uint8Array {
  let body = encoder.encode(JSON.stringify({ code, message, details }));
  if (body.length > ERROR_TEXT_BYTES_MAX) body = encoder.encode(JSON.stringify({ code, message: message.slice(0, ERROR_TEXT_BYTES_MAX / 4), details }));
  return body;
}

export function decodeErrorBody(body: Uint8Array): { code: string; message: string; details?: ErrorDetails } {
  try {
    const v = JSON.parse(decoder.decode(body)) as { code?: unknown; message?: unknown; details?: unknown };
    const out: { code: string; message: string; details?: ErrorDetails } = { code: String(v.code ?? 'IO_ERROR'), message: String(v.message ?? '') };
    const d = v.details as { endSeq?: unknown } | undefined;
    if (d !== null && typeof d === 'object' && typeof d.endSeq === 'number') out.details = { endSeq: d.endSeq };
    return out;
  } catch {
    return { code: 'IO_ERROR', message: 'shard worker sent an unreadable error' };
  }
}
