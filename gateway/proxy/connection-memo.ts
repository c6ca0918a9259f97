// What the requests of one keep-alive connection have in common, kept on its socket: the access log's
// address strings, the last Host seen and its normalised form, and the end of the last text log line.
// A client sends the same Host on every request of a connection and mostly hits one route and endpoint:
// comparing with the last request's strings costs less than rebuilding them.
import { TextTail } from '../telemetry/access-log.js';
import { normalizeHost } from './host.js';

const kMemo = Symbol('gatehouse.connection-memo');

type MemoSocket = { localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number };

export class ConnectionMemo {
  /** `address:port` of each side, for the access log; undefined while the socket does not know it. */
  readonly local: string | undefined;
  readonly remote: string | undefined;
  /** The peer's address (an IPv4-mapped IPv6 address as IPv4), '' while the socket does not know it. */
  readonly clientIp: string;
  readonly textTail = new TextTail();
  private lastAuthority: string | undefined = undefined;
  private lastHost: string | undefined = undefined;

  constructor(socket: MemoSocket) {
    this.local = socket.localAddress !== undefined ? `${socket.localAddress}:${socket.localPort}` : undefined;
    const address = socket.remoteAddress;
    this.remote = address !== undefined ? `${address}:${socket.remotePort}` : undefined;
    this.clientIp = address === undefined ? '' : address.startsWith('::ffff:') ? address.slice(7) : address;
  }

  /** normalizeHost(authority), remembered for the connection's next request. */
  host(authority: string | undefined): string | undefined {
    if (authority === this.lastAuthority && authority !== undefined) return this.lastHost;
    const host = normalizeHost(authority);
    this.lastAuthority = authority;
    this.lastHost = host;
    return host;
  }
}

/** The connection's memo, made on its first request (again if the socket learnt its peer's address late). */
export function connectionMemo(socket: MemoSocket): ConnectionMemo {
  const holder = socket as unknown as Record<symbol, ConnectionMemo | undefined>;
  let memo = holder[kMemo];
  if (memo === undefined || memo.remote === undefined) {
    memo = new ConnectionMemo(socket);
    holder[kMemo] = memo;
  }
  return memo;
}
