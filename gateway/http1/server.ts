// Gatehouse's HTTP/1 server: serves sockets accepted by a listener's net server (plain HTTP) or handed
// over after a TLS handshake that did not choose h2, with node's llhttp (parser-binding.ts) and no
// stream objects per request. Deadlines (header, request, keep-alive idle) are checked by one sweep over
// the server's connections, at the interval node's connectionsCheckingInterval would use.
import type { Socket } from 'node:net';
import { Http1Connection, type Http1Handler, type Http1ServerShared } from './connection.js';
import type { ParserBinding } from './parser-binding.js';

export interface Http1Limits {
  readonly maxHeaderSize: number;
  readonly headersTimeoutMs: number;
  /** 0: none. */
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export class Http1Server {
  private readonly shared: Http1ServerShared;
  private timer: NodeJS.Timeout | undefined = undefined;
  private readonly intervalMs: number;

  constructor(binding: ParserBinding, handler: Http1Handler, limits: Http1Limits, log: (level: 'debug' | 'error', message: string) => void) {
    this.shared = {
      binding,
      handler,
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeoutMs: limits.headersTimeoutMs,
      requestTimeoutMs: limits.requestTimeoutMs,
      keepAliveTimeoutMs: limits.keepAliveTimeoutMs,
      // node's own announcement, so clients that size their pools by it see the same.
      keepAliveLines: `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(limits.keepAliveTimeoutMs / 1000)}\r\n`,
      connections: new Set(),
      closingIdle: false,
      log,
    };
    const shortest = Math.min(limits.headersTimeoutMs, limits.keepAliveTimeoutMs, limits.requestTimeoutMs > 0 ? limits.requestTimeoutMs : Infinity);
    this.intervalMs = Math.max(25, Math.min(1000, Math.floor(shortest / 4)));
  }

  /** Serves an admitted socket. */
  accept(socket: Socket): void {
    if (socket.destroyed) return;
    // The connection registers itself with the socket and the shared set; nothing else holds it.
    new Http1Connection(socket, this.shared);
    if (this.timer === undefined) {
      this.timer = setInterval(this.sweep, this.intervalMs);
      this.timer.unref();
    }
  }

  get connectionCount(): number {
    return this.shared.connections.size;
  }

  /** Winding down: idle connections close now, busy ones once their response is written. */
  closeIdleConnections(): void {
    this.shared.closingIdle = true;
    for (const connection of this.shared.connections) if (connection.idle) connection.closeWhenIdle();
  }

  private readonly sweep = (): void => {
    const connections = this.shared.connections;
    if (connections.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = Date.now();
    for (const connection of connections) connection.sweep(now);
  };
}
