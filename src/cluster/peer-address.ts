/**
 * Node ids and peer addresses: parsing and validation of `--peers`
 * (`ID@HOST:PORT,...`) and of `HOST:PORT` for `--join`. Every failure is a
 * PeerConfigError carrying one clear sentence the CLI prints as is.
 */
import { NODE_ID_MAX } from './peer-limits.js';

/** A node id: a positive integer (1..NODE_ID_MAX). */
export type NodeId = number;

/** One other voter and the address this node dials it at. */
export interface PeerAddress {
  id: NodeId;
  host: string;
  port: number;
  /** `host:port` (IPv6 hosts in brackets), as dialed. */
  address: string;
}

export class PeerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerConfigError';
  }
}

export function isNodeId(v: unknown): v is NodeId {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= NODE_ID_MAX;
}

/** Parses a node id written in decimal ("3"); `what` names it in the error. */
export function parseNodeId(text: string, what = 'node id'): NodeId {
  if (!/^[0-9]+$/.test(text)) throw new PeerConfigError(`${what} "${text}" is not a positive integer.`);
  const n = Number(text);
  if (!isNodeId(n)) throw new PeerConfigError(`${what} ${text} is out of range: it must be between 1 and ${NODE_ID_MAX}.`);
  return n;
}

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** Parses `HOST:PORT` (or `[IPV6]:PORT`). */
export function parseHostPort(text: string, what = 'address'): { host: string; port: number; address: string } {
  let host: string;
  let portText: string;
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:([^:]*)$/.exec(text);
  if (v6 !== null) {
    host = v6[1]!;
    portText = v6[2]!;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) throw new PeerConfigError(`${what} "${text}" is not HOST:PORT.`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (!HOST_NAME.test(host)) throw new PeerConfigError(`${what} "${text}" has an invalid host "${host}".`);
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new PeerConfigError(`${what} "${text}" has an invalid port "${portText}": it must be 1-65535.`);
  }
  const port = Number(portText);
  return { host, port, address: v6 !== null ? `[${host}]:${port}` : `${host}:${port}` };
}

/**
 * Parses `--peers ID@HOST:PORT,...` for node `selfId`. Refuses an empty
 * entry, a bad id or address, this node's own id, and a repeated id or
 * address. An empty or blank string is no peers (a cluster of one).
 */
export function parsePeers(text: string, selfId: NodeId): PeerAddress[] {
  if (text.trim() === '') return [];
  const out: PeerAddress[] = [];
  const ids = new Set<NodeId>();
  const addresses = new Set<string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') throw new PeerConfigError(`--peers "${text}" has an empty entry; write ID@HOST:PORT,ID@HOST:PORT.`);
    const at = entry.indexOf('@');
    if (at < 0) throw new PeerConfigError(`--peers entry "${entry}" is not ID@HOST:PORT.`);
    const id = parseNodeId(entry.slice(0, at), `--peers entry "${entry}": node id`);
    const hp = parseHostPort(entry.slice(at + 1), `--peers entry "${entry}": address`);
    if (id === selfId) throw new PeerConfigError(`--peers entry "${entry}" names this node (${selfId}); list only the other voters.`);
    if (ids.has(id)) throw new PeerConfigError(`--peers names node ${id} twice.`);
    if (addresses.has(hp.address)) throw new PeerConfigError(`--peers gives the address ${hp.address} to two nodes.`);
    ids.add(id);
    addresses.add(hp.address);
    out.push({ id, ...hp });
  }
  return out;
}
