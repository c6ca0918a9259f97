// A bound listener: the server behind one Gateway port, its live connections, and how it stops.
// HTTP → a net server whose connections Gatehouse's HTTP/1 server serves (gateway/http1; node:http with
// the 'node' and 'fastify' data paths); HTTPS → http2 secure server offering h2 and http/1.1 with the
// filter chain chosen per connection by SNI, h2 served by node and http/1.1 handed to the same HTTP/1
// server; TLS → a net server that reads the SNI and tunnels bytes (passthrough).
import { constants as cryptoConstants } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { constants as http2Constants, createSecureServer, type Http2SecureServer, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FilterChain, ListenerProtocol } from '../../core/snapshot.js';
import { ErrCode, GatehouseError } from '../../core/errors.js';
import { selectFilterChain } from '../../routes/match.js';
import type { EdgePolicy } from '../edge-policy.js';
import type { Generation } from '../generation.js';
import { kConnection, type ConnectionInfo, type PlaneState } from '../plane-state.js';
import { createRequestHandler, createUpgradeHandler, type RequestHandler } from '../proxy/request-handler.js';
import { Http1Server } from '../http1/server.js';
import { parserBinding } from '../http1/parser-binding.js';
import { ClientHelloReader, HELLO_TIMEOUT_MS } from '../tls/hello-reader.js';
import { applyClientCertPolicy, certificateKey, EDGE_CIPHERS, EDGE_SECURE_OPTIONS, forwardedClientCert, refuseReason, type ChainContext } from '../tls/secure-contexts.js';
import { mountHandler, type DataPath } from './mount.js';
import { DeadlineSweep } from './deadline-sweep.js';
import { handlePassthrough } from './passthrough.js';

export interface ListenerSpec {
  readonly port: number;
  readonly protocol: ListenerProtocol;
  readonly bindAddress: string;
  readonly bindPort: number;
}

export class BoundListener {
  readonly port: number;
  readonly protocol: ListenerProtocol;
  readonly server: HttpServer | Http2SecureServer | NetServer;
  /** Port actually bound (differs from bindPort when that was 0). */
  boundPort = 0;
  private readonly sockets = new Set<Socket>();
  /** Serves HTTP/1 connections (plain, or TLS without h2) on the 'http1' data path; else node does. */
  private http1: Http1Server | undefined = undefined;
  private readonly sessions = new Set<Http2Session>();
  /** OCSP responses by SHA-256 of the leaf certificate they cover (see updateDefaultContext). */
  private staples: ReadonlyMap<string, Buffer> = new Map();
  private closed = false;

  /**
   * HTTPS: the chain and context every connection starts in when the listener's chain does not depend on
   * the SNI (its only chain, serving any name). Such a connection needs no ClientHello pre-read and no
   * SNI callback: both could only choose this chain. Set with the generation (updateDefaultContext).
   */
  private fixedChain: EarlyChain | undefined;
  /**
   * HTTPS: connections accepted and not yet past their TLS handshake, destroyed at the edge's handshake
   * deadline. Replaces node's per-connection handshake timer (see startTls).
   */
  private readonly handshakes: DeadlineSweep<Socket>;
  /** The one 'close' listener of every admitted connection (`this` is the socket): no closure per connection. */
  private readonly onConnectionClose: (this: Socket) => void;

  private constructor(spec: ListenerSpec, server: HttpServer | Http2SecureServer | NetServer, private readonly plane: PlaneState, handshakes: DeadlineSweep<Socket>) {
    this.port = spec.port;
    this.handshakes = handshakes;
    this.protocol = spec.protocol;
    this.server = server;
    const sockets = this.sockets;
    this.onConnectionClose = function (this: Socket) {
      sockets.delete(this);
      plane.connections--;
    };
    server.maxConnections = plane.edge.maxConnectionsPerListener;
  }

  /**
   * Connection limits, checked before any byte is read: over a limit the connection is closed at once
   * (a client sees a reset, as with Envoy's overload manager) rather than queued. The per-listener
   * limit is node's own `maxConnections`; the total is counted across listeners here. An admitted
   * connection is counted and tracked (for retire) until it closes. Returns whether it was admitted.
   */
  private admit(socket: Socket): boolean {
    const plane = this.plane;
    if (plane.connections >= plane.edge.maxConnections || plane.overloaded) {
      socket.destroy();
      return false;
    }
    plane.connections++;
    this.sockets.add(socket);
    socket.on('close', this.onConnectionClose);
    return true;
  }

  static async bind(spec: ListenerSpec, plane: PlaneState, dataPath: DataPath): Promise<BoundListener> {
    const handshakes = new DeadlineSweep<Socket>(plane.edge.tlsHandshakeTimeoutMs, (raw) => {
      plane.log('debug', `TLS handshake on port ${spec.port} not finished in ${plane.edge.tlsHandshakeTimeoutMs} ms: closed`);
      raw.destroy();
    });
    if (dataPath === 'http1' && !parserBinding()) {
      plane.log('warn', `port ${spec.port}: node's HTTP/1 parser binding is not reachable on node ${process.version}; serving HTTP/1 with node's server`);
      dataPath = 'node';
    }
    const listener = new BoundListener(spec, BoundListener.createServer(spec, plane, handshakes, dataPath), plane, handshakes);
    // HTTPS: admission is the first step of the listener's own TLS start (startTls); elsewhere it is
    // prepended, so the check runs before the HTTP machinery or the passthrough starts on the socket.
    if (spec.protocol !== 'HTTPS' || !listener.startTls()) {
      listener.server.prependListener('connection', (socket: Socket) => void listener.admit(socket));
    }
    if (spec.protocol === 'HTTP') {
      const handler = createRequestHandler({ port: spec.port, scheme: 'http', plane });
      if (dataPath === 'http1') listener.serveHttp1(handler);
      else {
        await mountHandler(dataPath, listener.server as HttpServer, handler, false);
        listener.server.on('upgrade', createUpgradeHandler(handler));
      }
    } else if (spec.protocol === 'HTTPS') {
      const handler = createRequestHandler({ port: spec.port, scheme: 'https', plane });
      await mountHandler(dataPath, listener.server as Http2SecureServer, handler, true);
      if (dataPath === 'http1') listener.serveHttp1(handler);
      else listener.server.on('upgrade', createUpgradeHandler(handler));
      listener.watchSessions(plane);
    }
    await listener.listen(spec);
    return listener;
  }

  private static createServer(spec: ListenerSpec, plane: PlaneState, handshakes: DeadlineSweep<Socket>, dataPath: DataPath): HttpServer | Http2SecureServer | NetServer {
    const logError = (what: string) => (err: Error) => plane.log('debug', `${what} on port ${spec.port}: ${err.message}`);
    if (spec.protocol === 'HTTP' && dataPath === 'http1') {
      // Half-open, as node's HTTP server is, so the HTTP/1 server decides what a client's FIN means: an
      // idle connection closes, a request in progress is abandoned (Http1Connection.peerEnd).
      return createNetServer({ allowHalfOpen: true, noDelay: true });
    }
    if (spec.protocol === 'HTTP') {
      const server = createHttpServer({ requireHostHeader: false, ...http1Limits(plane.edge) });
      server.on('clientError', answerClientError);
      return server;
    }
    if (spec.protocol === 'HTTPS') {
      const port = spec.port;
      const server = createSecureServer({
        allowHTTP1: true,
        // node's HTTP server turns Nagle off on its sockets; a TLS server does not, and a response written
        // in two segments then waits for the client's delayed ACK (~40 ms at p99 under a steady rate).
        noDelay: true,
        ...http1Limits(plane.edge),
        maxSessionInvalidFrames: 100,
        maxSessionRejectedStreams: 100,
        settings: { maxConcurrentStreams: plane.edge.maxConcurrentStreams, maxHeaderListSize: plane.edge.maxRequestHeaderBytes },
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.3',
        ciphers: EDGE_CIPHERS,
        secureOptions: EDGE_SECURE_OPTIONS | cryptoConstants.SSL_OP_NO_TICKET,
        // Invoked with the TLS socket as `this` (node calls it as socket._SNICallback).
        SNICallback: function (this: TLSSocket, servername, cb) {
          const early = preRead(this);
          if (early) {
            // The connection already started in this chain's context: keep the chain chosen then.
            (this as unknown as Record<symbol, ConnectionInfo>)[kConnection] = { chain: early.chain, sni: servername };
            cb(null, early.context.context);
            return;
          }
          const gen = plane.current;
          const listener = gen?.listeners.get(port);
          const chain = listener && listener.protocol === 'HTTPS' ? selectFilterChain(listener, servername) : undefined;
          const context = chain ? gen?.contexts.get(chain) : undefined;
          if (!chain?.tls || !context) {
            cb(new Error(`no usable filter chain for SNI ${servername} on port ${port}`), undefined);
            return;
          }
          applyClientCertPolicy(this, chain.tls);
          (this as unknown as Record<symbol, ConnectionInfo>)[kConnection] = { chain, sni: servername };
          cb(null, context.context);
        },
      });
      server.on('secureConnection', (socket: TLSSocket) => {
        handshakes.delete((socket as unknown as { _parent: Socket })._parent);
        let info = (socket as unknown as Record<symbol, ConnectionInfo | undefined>)[kConnection];
        const early = preRead(socket);
        if (!info && early) {
          // No SNI callback: no SNI (the catch-all chain), a resumed session (OpenSSL skips the
          // certificate callback then), or a listener whose one chain serves any name (no callback is
          // installed). Either way the chain is the one whose context it started in, the only one whose
          // ticket keys could have decrypted a resumed session.
          info = { chain: early.chain, sni: early.sni ?? (typeof socket.servername === 'string' && socket.servername ? socket.servername : undefined) };
          (socket as unknown as Record<symbol, ConnectionInfo>)[kConnection] = info;
        }
        if (!info) {
          // The ClientHello could not be pre-read and no SNI callback ran: the default context served
          // the catch-all chain, if any. It issues no tickets, so nothing here can be a resumption.
          const sni = typeof socket.servername === 'string' && socket.servername ? socket.servername : undefined;
          const listener = plane.current?.listeners.get(port);
          const chain = listener ? selectFilterChain(listener, sni) : undefined;
          if (!chain || socket.isSessionReused() || (sni !== undefined && !plane.current?.contexts.has(chain))) {
            socket.destroy();
            return;
          }
          info = { chain, sni };
          (socket as unknown as Record<symbol, ConnectionInfo>)[kConnection] = info;
        }
        const tls = info.chain.tls;
        const refusal = tls ? refuseReason(socket, tls, early !== undefined && early.chain === info.chain) : 'chain does not terminate TLS';
        if (refusal) {
          plane.log('debug', `refused TLS connection on port ${port} (${info.chain.name}): ${refusal}`);
          socket.destroy();
          return;
        }
        if (tls && tls.mode !== 'SIMPLE' && socket.authorized) info.clientCert = forwardedClientCert(socket);
        if (socket.alpnProtocol !== 'h2') socket.prependListener('end', closeIfNoRequestStarted);
      });
      server.on('tlsClientError', logError('TLS handshake failed'));
      server.on('sessionError', logError('HTTP/2 session error'));
      // HTTP/1.1 over TLS on the h2 server: the same answers as plaintext.
      server.on('clientError', answerClientError);
      // The h2 server takes none of node's HTTP/1 options (its constructor fixes a 60 s header timeout, a
      // 30 s check interval and no keep-alive idle timeout, and leaves the header size to node's 16 KiB
      // default): HTTP/1.1 over TLS gets the edge's limits as properties, which node reads per connection.
      Object.assign(server, http1Limits(plane.edge));
      return server;
    }
    const server = createNetServer({ pauseOnConnect: false });
    server.on('connection', (socket: Socket) => handlePassthrough(socket, spec.port, plane));
    return server;
  }

  /**
   * Takes over node's start of TLS on each connection (its `tlsConnectionListener`): admits it, then
   * starts it in its chain's own context. OpenSSL takes the protocol versions, TLS 1.2 cipher list,
   * session id context and session ticket keys from the context an SSL starts with; node's SNI callback
   * runs after the version is negotiated and only swaps the certificate. So a chain's minProtocolVersion
   * is enforced in the handshake (a TLS 1.2 client gets a protocol_version alert from a TLS 1.3-only
   * chain while other chains accept it), and a session ticket made by one chain cannot be decrypted by
   * another: resumption stays within its chain. With several chains the chain comes from the SNI of a
   * pre-read ClientHello; with one that serves any name it is known without reading (fixedChain), and
   * the SNI callback is left out too (it could only pick that chain again). node's listener builds the
   * TLSSocket from `_sharedCreds`, `requestCert`, `rejectUnauthorized` and its SNI callback
   * synchronously, so they are set to the chain's for that one call. Returns false (and node's listener
   * stays) when node's listener is not found.
   */
  private startTls(): boolean {
    const server = this.server as Http2SecureServer;
    const plane = this.plane;
    const port = this.port;
    const start = server.listeners('connection').find((f) => f.name === 'tlsConnectionListener') as ((this: Http2SecureServer, s: Socket) => void) | undefined;
    const kSni = Object.getOwnPropertySymbols(server).find((s) => s.description === 'snicallback');
    const kHandshakeTimeout = Object.getOwnPropertySymbols(server).find((s) => s.description === 'handshake-timeout');
    if (!start || !kSni || !kHandshakeTimeout) {
      plane.log('warn', `port ${port}: node's TLS connection listener not found; chains are chosen at SNI time only`);
      return false;
    }
    server.removeListener('connection', start);
    // node would arm a timer per TLS socket for its handshake (and re-arm it on every read); the
    // listener's one sweep (handshakes) ends unfinished handshakes instead.
    (server as unknown as Record<symbol, unknown>)[kHandshakeTimeout] = 0;
    const handshakes = this.handshakes;
    const internals = server as unknown as TlsServerInternals & Record<symbol, unknown>;
    const startIn = (raw: Socket, early: EarlyChain, withSniCallback: boolean): void => {
      const tls = early.chain.tls!;
      (raw as unknown as Record<symbol, EarlyChain>)[kEarlyChain] = early;
      const creds = internals._sharedCreds;
      const requestCert = internals.requestCert;
      const reject = internals.rejectUnauthorized;
      const sniCallback = internals[kSni];
      internals._sharedCreds = early.context.context;
      internals.requestCert = tls.mode !== 'SIMPLE';
      internals.rejectUnauthorized = tls.mode === 'MUTUAL';
      if (!withSniCallback) internals[kSni] = undefined;
      try {
        start.call(server, raw);
      } finally {
        internals._sharedCreds = creds;
        internals.requestCert = requestCert;
        internals.rejectUnauthorized = reject;
        internals[kSni] = sniCallback;
      }
    };
    // Several chains: the chain comes from the pre-read ClientHello's SNI. One reader per listener: its
    // callback and deadline sweep are shared by every connection.
    const helloReader = new ClientHelloReader((raw, parsed, sni) => {
      if (raw.destroyed) return;
      const gen = plane.current;
      const listener = parsed ? gen?.listeners.get(port) : undefined;
      const chain = listener?.protocol === 'HTTPS' ? selectFilterChain(listener, sni) : undefined;
      const context = chain ? gen?.contexts.get(chain) : undefined;
      if (!chain?.tls || !context) start.call(server, raw);
      else startIn(raw, { chain, context, sni }, true);
    }, Math.min(HELLO_TIMEOUT_MS, plane.edge.headersTimeoutMs));
    server.on('connection', (raw: Socket) => {
      if (raw.destroyed || !this.admit(raw)) return;
      handshakes.add(raw);
      const fixed = this.fixedChain;
      if (fixed) startIn(raw, fixed, false);
      else helloReader.read(raw);
    });
    return true;
  }

  /**
   * HTTP/1 by Gatehouse's server. Plain HTTP: every admitted connection. HTTPS: a connection whose
   * handshake did not choose h2; node's own HTTP/2 listener is taken off the server and called for the
   * h2 ones, after the listener's checks (see createServer), which may refuse the connection first.
   */
  private serveHttp1(handler: RequestHandler): void {
    const plane = this.plane;
    const port = this.port;
    const http1 = new Http1Server(parserBinding()!, handler, http1Server(plane.edge), (level, message) => plane.log(level, `port ${port}: ${message}`));
    this.http1 = http1;
    if (this.protocol === 'HTTP') {
      this.server.on('connection', (socket: Socket) => http1.accept(socket));
      return;
    }
    const server = this.server as Http2SecureServer;
    const h2 = server.listeners('secureConnection').find((f) => f.name === 'connectionListener') as ((this: Http2SecureServer, s: TLSSocket) => void) | undefined;
    if (!h2) throw new GatehouseError(ErrCode.LISTEN, `port ${port}: node's HTTP/2 connection listener not found`);
    server.removeListener('secureConnection', h2);
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.destroyed) return;
      if (socket.alpnProtocol === 'h2') h2.call(server, socket);
      else http1.accept(socket);
    });
  }

  private watchSessions(plane: PlaneState): void {
    const server = this.server as Http2SecureServer;
    server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', () => undefined);
      limitStreamResets(session, plane.edge.maxStreamResetsPerSecond);
    });
  }

  /**
   * node asks for a staple (a client sent status_request) with the certificate being served, not the
   * connection; the certificate identifies the chain's staple. No staple: the handshake goes on without.
   * Listened to only while the listener has staples: the listener makes node run a certificate callback
   * in JS on every full handshake.
   */
  private readonly answerOcsp = (certificate: Buffer, _issuer: Buffer, cb: (err: Error | null, response?: Buffer) => void): void => {
    cb(null, this.staples.size === 0 || !certificate ? undefined : this.staples.get(certificateKey(certificate)));
  };

  private listen(spec: ListenerSpec): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = this.server;
      const onError = (err: Error) => {
        server.off('listening', onListening);
        reject(new GatehouseError(ErrCode.LISTEN, `cannot bind ${spec.bindAddress}:${spec.bindPort} for Gateway port ${spec.port}: ${err.message}`, { cause: err }));
      };
      const onListening = () => {
        server.off('error', onError);
        const address = server.address();
        this.boundPort = typeof address === 'object' && address ? address.port : spec.bindPort;
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      // Not exclusive: under `--workers N` node:cluster shares one socket among the workers (no effect otherwise).
      server.listen({ host: spec.bindAddress, port: spec.bindPort });
    });
  }

  /**
   * HTTPS: the context a connection starts in when its ClientHello could not be pre-read (its chain is
   * chosen at SNI time): the catch-all chain's certificate, or none. It issues no session tickets: such a
   * connection's chain is not known when OpenSSL decides on resumption. Sessions resume only through the
   * per-chain contexts (see startTls). Also indexes this listener's OCSP staples and, when its one chain
   * serves any name, fixes that chain for every connection.
   */
  updateDefaultContext(gen: Generation): void {
    if (this.protocol !== 'HTTPS') return;
    const listener = gen.listeners.get(this.port);
    const chain = listener ? selectFilterChain(listener, undefined) : undefined;
    const ctx = chain ? gen.contexts.get(chain) : undefined;
    const staples = new Map<string, Buffer>();
    for (const c of listener?.filterChains ?? []) {
      const cc = gen.contexts.get(c);
      if (cc?.staple) staples.set(cc.leafKey, cc.staple);
    }
    this.staples = staples;
    const server = this.server as Http2SecureServer;
    const answering = server.listenerCount('OCSPRequest') > 0;
    if (staples.size > 0 && !answering) server.on('OCSPRequest', this.answerOcsp);
    else if (staples.size === 0 && answering) server.off('OCSPRequest', this.answerOcsp);
    const only = listener?.filterChains.length === 1 ? listener.filterChains[0] : undefined;
    const onlyContext = only?.tls && servesAnyName(only) ? gen.contexts.get(only) : undefined;
    this.fixedChain = only && onlyContext ? { chain: only, context: onlyContext, sni: undefined } : undefined;
    (this.server as Http2SecureServer).setSecureContext({
      ciphers: EDGE_CIPHERS,
      ...(ctx ? ctx.options : {}),
      secureOptions: EDGE_SECURE_OPTIONS | cryptoConstants.SSL_OP_NO_TICKET,
    });
  }

  /** Stop accepting and ask connections to wind down: idle HTTP/1 closes, h2 sessions get GOAWAY. */
  stopAccepting(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close(() => undefined);
    if (this.http1) this.http1.closeIdleConnections();
    else if (this.protocol === 'HTTP') (this.server as HttpServer).closeIdleConnections();
    for (const session of this.sessions) {
      if (!session.closed && !session.destroyed) session.close();
    }
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Destroys every remaining connection. */
  destroyConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    for (const session of this.sessions) session.destroy();
  }

  /** Retire: stop accepting, give connections `graceMs`, then destroy what is left. */
  retire(graceMs: number): void {
    this.stopAccepting();
    if (this.sockets.size === 0) return;
    const timer = setTimeout(() => this.destroyConnections(), graceMs);
    timer.unref();
  }
}

/**
 * Rapid reset (CVE-2023-44487): a client that opens streams and cancels them at once makes the gateway
 * start (and pay for) upstream requests without ever being limited by max concurrent streams. nghttp2's
 * own rate limit allows a burst of 1000; an edge closes such a session much earlier, with
 * ENHANCE_YOUR_CALM, as Envoy's overload manager does.
 */
function limitStreamResets(session: Http2Session, perSecond: number): void {
  let windowStart = 0;
  let resets = 0;
  let cutting = false;
  session.on('stream', (stream: ServerHttp2Stream) => {
    stream.once('close', () => {
      const code = stream.rstCode;
      if (code === undefined || code === http2Constants.NGHTTP2_NO_ERROR || session.destroyed) return;
      const now = Date.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        resets = 0;
      }
      if (++resets > perSecond) {
        if (cutting) return;
        cutting = true;
        // GOAWAY then close: the connection ends once in-flight streams are done (destroying the
        // session instead leaves the client's side open). Streams still open after a second are cut.
        session.goaway(http2Constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.close();
        setTimeout(() => session.destroy(), 1000).unref();
      }
    });
  });
}

/**
 * An HTTP/1 client over TLS that ends its side of the connection before sending a byte of a request
 * (a preconnect it did not use, a TLS health check, `openssl s_time`): closed at once. node would
 * answer the half-close with socket.end(), i.e. encrypt and write a close_notify and shut down the write
 * side before closing, for a peer that has nothing left to read; nginx likewise sends no close_notify to
 * a peer that has shut down. Connections that sent anything keep node's handling (a request in flight
 * is answered). `this` is the TLS socket; one function for every connection.
 */
function closeIfNoRequestStarted(this: TLSSocket): void {
  if (this.bytesRead === 0) this.destroy();
}

/** The chain a connection was started for, from its pre-read ClientHello. */
interface EarlyChain {
  readonly chain: FilterChain;
  readonly context: ChainContext;
  readonly sni: string | undefined;
}

const kEarlyChain = Symbol('gatehouse.earlyChain');

/** Whether a chain serves every SNI, and clients that send none: the catch-all of selectFilterChain. */
function servesAnyName(chain: FilterChain): boolean {
  return chain.serverNames.length === 0 || chain.serverNames.includes('*');
}

/** The pre-read decision, kept on the raw socket (a server TLSSocket's `_parent`). */
function preRead(socket: TLSSocket): EarlyChain | undefined {
  const raw = (socket as unknown as { _parent?: Record<symbol, EarlyChain | undefined> })._parent;
  return raw?.[kEarlyChain];
}

/** Internals of node's tls.Server read synchronously by its connection listener (node 20). */
interface TlsServerInternals {
  _sharedCreds: unknown;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/**
 * Node's HTTP/1 server options for the edge limits. connectionsCheckingInterval is how often node
 * looks for connections past headersTimeout/requestTimeout: its 30 s default would let a slowloris
 * client hold a connection three times longer than the header timeout says.
 */
function http1Limits(edge: EdgePolicy) {
  return {
    maxHeaderSize: edge.maxRequestHeaderBytes,
    headersTimeout: edge.headersTimeoutMs,
    requestTimeout: edge.requestTimeoutMs,
    keepAliveTimeout: edge.idleTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(edge.headersTimeoutMs / 4))),
    // Count every header so the edge's own limit (431) applies instead of silent truncation.
    maxHeadersCount: 0,
  };
}

/** The edge limits for Gatehouse's HTTP/1 server (the same as node's server gets in http1Limits). */
function http1Server(edge: EdgePolicy) {
  return {
    maxHeaderSize: edge.maxRequestHeaderBytes,
    headersTimeoutMs: edge.headersTimeoutMs,
    requestTimeoutMs: edge.requestTimeoutMs,
    keepAliveTimeoutMs: edge.idleTimeoutMs,
  };
}

/** Requests node cannot parse: answered as Envoy does (431 for oversized headers, else 400); gone clients just go. */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  // A response has started on this connection (the error is in a body or a pipelined request): a
  // second status line would be read as the answer to the next request. Cut the connection. Before
  // that, the 400 below ends the socket, so the pending response can no longer be written.
  const inProgress = (socket as unknown as { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (inProgress?.headersSent || !socket.writable || err.code === 'ECONNRESET' || err.code === 'EPIPE') {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
