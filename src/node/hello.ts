/**
 * Version negotiation: the client lists the versions it speaks, the node picks
 * the highest one it also speaks and states its limits.
 */
import { asFields, arr } from '../protocol/fields.js';
import { HEADER_BYTES_MAX, PROTOCOL_VERSIONS } from '../protocol/limits.js';
import type { HelloResponse } from '../protocol/ops.js';
import type { NodeConfig } from './config.js';
import { ProtocolError } from './protocol-error.js';

export const SERVER_NAME = 'nativelog/0.1.0';

export function negotiate(header: unknown, config: NodeConfig): HelloResponse {
  const offered = arr(asFields(header), 'versions', 64);
  const common = PROTOCOL_VERSIONS.filter((v) => offered.includes(v));
  if (common.length === 0) {
    throw new ProtocolError('UNSUPPORTED_VERSION', `No common protocol version: the node speaks ${PROTOCOL_VERSIONS.join(', ')}.`, {
      supported: PROTOCOL_VERSIONS,
    });
  }
  return {
    version: Math.max(...common),
    server: SERVER_NAME,
    nodeId: config.nodeId,
    limits: {
      frameBytesMax: config.frameBytesMax,
      headerBytesMax: HEADER_BYTES_MAX,
      inFlightPerConnectionMax: config.inFlightPerConnectionMax,
      recordBytesMax: config.recordBytesMax,
      fetchWaitMsMax: config.fetchWaitMsMax,
    },
  };
}
