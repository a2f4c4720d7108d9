/**
 * One inbound peer link: a socket whose hello was accepted, carrying the
 * messages of one authenticated peer to this node. Every frame is checked at
 * the edge (peer-message.ts); the first violation sends one PEER_BAD_MESSAGE
 * error frame, closes this link only, and is logged. Nothing here throws into
 * the caller: a throwing onMessage handler is logged and the link goes on.
 */
import type { Socket } from 'node:net';
import { wireError } from '../protocol/errors.js';
import { FLAG_ERROR, FLAG_RESPONSE, encodeFrame } from '../protocol/frame.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { HEADER_BYTES_MAX } from '../protocol/limits.js';
import { PEER_OP } from '../protocol/ops.js';
import type { NodeId } from './peer-address.js';
import { PEER_CLOSE_LINGER_MS, PEER_KEEPALIVE_MS } from './peer-limits.js';
import { checkPeerFrame, type KindCheck, type PeerMessage } from './peer-message.js';

export interface InboundLinkOptions {
  peerId: NodeId;
  selfId: NodeId;
  version: number;
  frameBytesMax: number;
  kinds: ReadonlyMap<string, KindCheck>;
  /** Kinds whose frame body is raw bytes (PeerMessage.raw); a body on any other kind is refused. */
  rawKinds?: ReadonlySet<string>;
  deliver: (from: NodeId, msg: PeerMessage) => void;
  /** The link ended; `reason` is null when it was closed by this node or by a clean peer close. */
  onEnd: (link: InboundLink, reason: string | null) => void;
  log: (line: string) => void;
}

export class InboundLink {
  private readonly decoder: FrameDecoder;
  private ended = false;
  /** Messages delivered on this link. */
  received = 0;

  constructor(
    private readonly socket: Socket,
    private readonly o: InboundLinkOptions,
  ) {
    this.decoder = new FrameDecoder({ frameBytesMax: o.frameBytesMax, headerBytesMax: HEADER_BYTES_MAX });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, PEER_KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => this.end(null, false));
    socket.resume();
  }

  get peerId(): NodeId {
    return this.o.peerId;
  }

  /** Closes the link (replaced by a newer one, peer removed, transport closing). */
  close(): void {
    this.end(null, true);
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.decoder.push(chunk);
    for (let r = this.decoder.next(); r !== null && !this.ended; r = this.decoder.next()) {
      if ('error' in r) return this.violation(r.error.requestId, r.error.message);
      const v = checkPeerFrame(r.frame, this.o.version, this.o.peerId, this.o.selfId, this.o.kinds, this.o.rawKinds);
      if ('reason' in v) return this.violation(r.frame.requestId, v.reason);
      this.received++;
      try {
        this.o.deliver(this.o.peerId, v.message);
      } catch (err) {
        this.o.log(`the handler of a "${v.message.kind}" message from node ${this.o.peerId} threw: ${(err as Error).message}`);
      }
    }
  }

  private violation(requestId: number, reason: string): void {
    if (this.ended) return;
    this.o.log(`closing the peer link from node ${this.o.peerId}: ${reason}`);
    const err = wireError('PEER_BAD_MESSAGE', reason);
    const parts = encodeFrame({ version: this.o.version, flags: FLAG_RESPONSE | FLAG_ERROR, op: PEER_OP.MESSAGE, requestId, header: err });
    this.end(reason, false);
    const s = this.socket;
    s.removeAllListeners('data');
    s.pause();
    if (!s.destroyed) {
      for (const p of parts) s.write(p);
      s.end();
      setTimeout(() => s.destroy(), PEER_CLOSE_LINGER_MS).unref();
    }
  }

  private end(reason: string | null, destroy: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (destroy) this.socket.destroy();
    this.o.onEnd(this, reason);
  }
}
