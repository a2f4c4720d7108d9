/**
 * Test helper (not a test file): a stand-in cluster member on 127.0.0.1,
 * built from the real frame codec (src/protocol), in front of one real node.
 * It answers hello itself and passes describeStream, clusterStatus and
 * the other admin calls through to the real node (optionally rewritten so
 * the shards look placed on a cluster: node 1 = this server, node 2 = the
 * real node), and answers appends and fetches as a node that is not the
 * shard's sequencer / does not store the shard would: NOT_LEADER (with or
 * without a hint) or FENCED. It counts what it was asked, so a test can
 * check that the client followed the answer instead of retrying here.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ClientConnection } from '../../src/client/connection.js';
import { parseServers } from '../../src/client/server-address.js';
import { NativeLogError } from '../../src/client/types.js';
import { wireError, type WireError } from '../../src/protocol/errors.js';
import { FLAG_ERROR, FLAG_RESPONSE, encodeFrame, unpackHeader } from '../../src/protocol/frame.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { OP } from '../../src/protocol/ops.js';

export interface RedirectBehaviour {
  /**
   * append: 'hint' = NOT_LEADER naming the real node; 'noHint' = NOT_LEADER
   * without an address; 'fenced' = FENCED; 'proxy' = passed to the real node;
   * 'hintDead' = NOT_LEADER naming `deadAddress` (nothing listens there);
   * 'silent' = never answered (a paused sequencer).
   */
  append: 'hint' | 'noHint' | 'fenced' | 'proxy' | 'hintDead' | 'silent';
  deadAddress?: string;
  /** fetch: 'replicas' = NOT_LEADER naming the real node as the replica; 'proxy'; 'skipSeq' = proxied with nextSeq one too far; 'silent' = never answered. */
  fetch: 'replicas' | 'proxy' | 'skipSeq' | 'silent';
  /**
   * The sequencer describeStream shows for every shard, given how many
   * describes were answered before this one: null = the real node's answer
   * as it is (no placement); 1 = this server; 2 = the real node.
   */
  sequencer: (describesBefore: number) => null | 1 | 2;
}

export class RedirectServer {
  readonly counts = { hello: 0, append: 0, appendParts: 0, fetch: 0, describe: 0, clusterStatus: 0, other: 0 };
  /** The `acks` field of every append header, in arrival order (undefined: absent). */
  readonly appendAcks: unknown[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly upstream: ClientConnection,
    readonly realAddress: string,
    readonly address: string,
    private readonly behaviour: RedirectBehaviour,
  ) {}

  static async start(realAddress: string, behaviour: RedirectBehaviour): Promise<RedirectServer> {
    const upstream = new ClientConnection(parseServers(realAddress), { timeoutMs: 10_000, reconnectMinMs: 50, reconnectMaxMs: 500, inFlightMax: 64 });
    await upstream.open();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const r = new RedirectServer(server, upstream, realAddress, `127.0.0.1:${port}`, behaviour);
    server.on('connection', (s) => r.serve(s));
    return r;
  }

  /** Kills every client connection and stops listening (a node that died). */
  async kill(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.upstream.close();
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder({ frameBytesMax: 64 * 1024 * 1024, headerBytesMax: 64 * 1024 });
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (;;) {
        const r = decoder.next();
        if (r === null) return;
        if ('error' in r) {
          socket.destroy();
          return;
        }
        const f = r.frame;
        void this.answer(f.op, unpackHeader(f.header) as Record<string, unknown>, f.body).then(
          (a) => this.reply(socket, f.op, f.requestId, a.header, a.body, false),
          (e: WireError) => this.reply(socket, f.op, f.requestId, e, undefined, true),
        );
      }
    });
  }

  private reply(socket: Socket, op: number, requestId: number, header: unknown, body: Uint8Array | undefined, error: boolean): void {
    if (socket.destroyed) return;
    const parts = encodeFrame({ version: 1, flags: FLAG_RESPONSE | (error ? FLAG_ERROR : 0), op, requestId, header, ...(body !== undefined && body.length > 0 ? { body: [body] } : {}) });
    for (const p of parts) socket.write(p);
  }

  private async answer(op: number, h: Record<string, unknown>, body: Uint8Array): Promise<{ header: unknown; body?: Uint8Array }> {
    const b = this.behaviour;
    switch (op) {
      case OP.HELLO:
        this.counts.hello++;
        return { header: { version: 1, server: 'redirect-server', nodeId: 1, limits: this.upstream.limits } };
      case OP.APPEND:
        this.counts.append++;
        this.appendAcks.push(h['acks']);
        this.counts.appendParts += Array.isArray(h['parts']) ? h['parts'].length : 0;
        const kind = b.append;
        if (kind === 'proxy') return this.proxy(op, h, body);
        if (kind === 'silent') return new Promise<never>(() => undefined);
        return { header: { results: (h['parts'] as { shard: number }[]).map((p) => ({ shard: p.shard, error: this.refusal(kind) })) } };
      case OP.FETCH: {
        this.counts.fetch++;
        if (b.fetch === 'silent') return new Promise<never>(() => undefined);
        if (b.fetch === 'replicas') {
          throw wireError('NOT_LEADER', `Node 1 does not store shard ${String(h['shard'])}.`, { sequencer: null, address: null, replicas: [{ id: 2, address: this.realAddress }] });
        }
        const r = await this.proxy(op, h, body);
        if (b.fetch === 'skipSeq') (r.header as Record<string, unknown>)['nextSeq'] = ((r.header as Record<string, number>)['nextSeq'] ?? 0) + 1;
        return r;
      }
      case OP.DESCRIBE_STREAM: {
        const before = this.counts.describe++;
        const r = await this.proxy(op, h, body);
        const seq = b.sequencer(before);
        if (seq !== null) {
          for (const s of (r.header as { shards: Record<string, unknown>[] }).shards) {
            s['sequencer'] = seq;
            s['epoch'] = 1;
            s['segments'] = [{ baseSeq: 0, endSeq: null, epoch: 1, replicas: [seq], sealed: false }];
          }
        }
        return r;
      }
      case OP.CLUSTER_STATUS:
        this.counts.clusterStatus++;
        return {
          header: {
            nodeId: 1, leader: 1, term: 1, role: 'leader', commit: 1, applied: 1, voters: [1, 2],
            nodes: [
              { id: 1, address: this.address, up: true, voter: true, lastContactMs: 0 },
              { id: 2, address: this.realAddress, up: true, voter: true, lastContactMs: 0 },
            ],
          },
        };
      default:
        this.counts.other++;
        return this.proxy(op, h, body);
    }
  }

  private refusal(kind: 'hint' | 'noHint' | 'fenced' | 'hintDead'): WireError {
    if (kind === 'fenced') return wireError('FENCED', 'The sequencer on node 1 was superseded by a newer epoch.');
    const address = kind === 'hint' ? this.realAddress : kind === 'hintDead' ? (this.behaviour.deadAddress ?? null) : null;
    return wireError('NOT_LEADER', 'Node 1 is not the sequencer of the shard.', { sequencer: address === null ? null : 3, address, replicas: [] });
  }

  private async proxy(op: number, h: Record<string, unknown>, body: Uint8Array): Promise<{ header: unknown; body?: Uint8Array }> {
    try {
      const r = await this.upstream.request(op, h, body.length > 0 ? { body: [body] } : {});
      return { header: r.header, body: r.body };
    } catch (e) {
      if (e instanceof NativeLogError) throw { code: e.code, name: e.codeName, message: e.message, details: e.details } satisfies WireError;
      throw wireError('INTERNAL', (e as Error).message);
    }
  }
}
