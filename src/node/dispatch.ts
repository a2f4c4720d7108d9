/**
 * Routes one request frame (after hello) to its handler.
 */
import { unpackHeader, type Frame } from '../protocol/frame.js';
import { OP } from '../protocol/ops.js';
import { clusterJoin, clusterRemoveNode, clusterStatus, createStream, deleteStream, describeStream, listStreams, seqForTime } from './admin-handlers.js';
import { append, fetch } from './data-handlers.js';
import type { ClientAccount } from './memory-budget.js';
import type { NodeContext, Reply } from './node-context.js';
import { ProtocolError } from './protocol-error.js';

/** client: the connection's memory account (fetch answers are reserved from it); a fresh one when absent. */
export async function dispatch(ctx: NodeContext, frame: Frame, client?: ClientAccount): Promise<Reply> {
  if (ctx.closing) throw new ProtocolError('SHUTTING_DOWN', 'The node is shutting down; the request was not started.');
  let header: unknown;
  try {
    header = unpackHeader(frame.header);
  } catch (err) {
    throw new ProtocolError('BAD_REQUEST', `The control header is not valid msgpack: ${(err as Error).message}`);
  }
  switch (frame.op) {
    case OP.CREATE_STREAM:
      return createStream(ctx, header);
    case OP.DELETE_STREAM:
      return deleteStream(ctx, header);
    case OP.LIST_STREAMS:
      return listStreams(ctx, header);
    case OP.DESCRIBE_STREAM:
      return describeStream(ctx, header);
    case OP.APPEND:
      return append(ctx, header, frame.body);
    case OP.FETCH:
      return fetch(ctx, header, client ?? ctx.memory.account());
    case OP.CLUSTER_STATUS:
      return clusterStatus(ctx, header);
    case OP.CLUSTER_JOIN:
      return clusterJoin(ctx, header);
    case OP.CLUSTER_REMOVE_NODE:
      return clusterRemoveNode(ctx, header);
    case OP.SEQ_FOR_TIME:
      return seqForTime(ctx, header);
    default:
      throw new ProtocolError('UNKNOWN_OP', `Unknown op ${frame.op}.`, { op: frame.op });
  }
}
