/**
 * "host:port" parsing for connect(servers).
 */
export interface ServerAddress {
  host: string;
  port: number;
}

export function parseServers(servers: string | string[]): ServerAddress[] {
  const list = (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw new TypeError('connect() needs at least one server as "host:port"');
  return list.map(parseServer);
}

export function parseServer(text: string): ServerAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65535) throw new TypeError(`Invalid server address "${text}": use host:port`);
  return { host: m[1] ?? m[2]!, port };
}

/** "host:port" (IPv6 hosts in brackets), the form NOT_LEADER hints and clusterStatus use. */
export function formatAddress(a: ServerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
