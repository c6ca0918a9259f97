// One client connection of Gatehouse's HTTP/1 server: node's llhttp parser fed from the socket, one
// request answered at a time, in order. A pipelined request that arrives while one is being answered
// waits (its head parsed, the socket paused) and is started when the answer before it is written, as
// Envoy serves HTTP/1 pipelines. Bytes the parser refuses are never sent on: they are answered 400/431
// (408 for a deadline) in their turn, after the answers to the requests before them, and the connection
// closes; if they are the body of the request being answered and its answer has started, it is cut.
import type { Socket } from 'node:net';
import type { NativeParser, ParseError, ParserBinding } from './parser-binding.js';
import { Http1Request, RequestBody, announcesBody, headerRecord, type BodySource } from './request.js';
import { Http1Response, type ResponseOwner } from './response.js';

export type Http1Handler = (req: Http1Request, res: Http1Response) => void;

/** What every connection of one server shares: limits, the handler, the parser binding. */
export interface Http1ServerShared {
  readonly binding: ParserBinding;
  readonly handler: Http1Handler;
  readonly maxHeaderSize: number;
  readonly headersTimeoutMs: number;
  /** 0: none. */
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly keepAliveLines: string;
  /** Connections whose deadlines are swept. */
  readonly connections: Set<Http1Connection>;
  /** The server is winding down: idle connections close, busy ones after their response. */
  closingIdle: boolean;
  /** Logs refused bytes and deadlines (debug) and internal errors (error). */
  readonly log: (level: 'debug' | 'error', message: string) => void;
}

const kConnection = Symbol('gatehouse.http1.connection');

/** Pipelined requests a connection may have waiting behind the one being answered. */
export const MAX_PIPELINED = 64;

/** What a request's Expect header asks of this hop: nothing, a 100 Continue, or a 417. */
const EXPECT_NONE = 0;
const EXPECT_CONTINUE = 1;
const EXPECT_FAILED = 2;

interface Pending {
  readonly req: Http1Request;
  readonly res: Http1Response;
  readonly expect: number;
}

export class Http1Connection implements ResponseOwner, BodySource {
  /** The request being answered. */
  private active: Pending | undefined = undefined;
  /** Pipelined requests waiting for the active one, in order. */
  private queue: Pending[] | undefined = undefined;
  /** The request whose body the parser is reading (the last head parsed, until its message completes). */
  private reading: Http1Request | undefined = undefined;
  private parser: NativeParser | undefined;
  /** Head parts delivered ahead of kOnHeadersComplete (large heads, heads split across reads). */
  private partHeaders: string[] | undefined = undefined;
  private partUrl = '';
  /** When the message being read started (its header and request deadlines count from here); 0 when none. */
  private messageStart: number;
  /** A message is between its first byte and its last. */
  private inMessage = false;
  /** No byte of a first request yet: the header deadline runs from the connection's start. */
  private awaitingFirst = true;
  /** When the connection last became idle (no request read or answered), for the keep-alive timeout; 0 when busy. */
  private idleSince = 0;
  /** We stopped reading: a body reader is full, or a pipelined request waits. */
  private readPaused = false;
  /** When reading was paused: time the server held a message back does not count against its deadlines. */
  private pausedAt = 0;
  /**
   * The status line refusing a message that came after the one being answered: written, and the
   * connection closed, once the answers before it are (as Envoy's codec, which reads one request at a time).
   */
  private refusal: string | undefined = undefined;
  /** No more responses: the socket is ending or gone. */
  private ending = false;
  private gone = false;
  /** The client sent its FIN (Http1Connection.peerEnd). */
  private peerEnded = false;
  /** Handed off as an upgraded (tunnelled) socket: the parser and listeners are detached. */
  private upgraded = false;
  /**
   * The socket's handle while the parser reads it in C++ (as node's server does): no JS 'data' event,
   * Buffer or stream read per read. Undefined when the handle cannot be consumed; then 'data' events feed it.
   */
  private consumed: ConsumableHandle | undefined = undefined;

  constructor(
    readonly socket: Socket,
    private readonly shared: Http1ServerShared,
  ) {
    const b = shared.binding;
    const parser = new b.HTTPParser();
    parser.initialize(b.REQUEST, socket, shared.maxHeaderSize, b.kLenientNone);
    (parser as unknown as Record<symbol, Http1Connection>)[kConnection] = this;
    parser[b.kOnMessageBegin] = onMessageBegin;
    parser[b.kOnHeaders] = onHeaders;
    parser[b.kOnHeadersComplete] = onHeadersComplete;
    parser[b.kOnBody] = onBody;
    parser[b.kOnMessageComplete] = onMessageComplete;
    this.parser = parser;
    const handle = (socket as unknown as { _handle?: ConsumableHandle | null })._handle;
    if (handle?.isStreamBase === true && handle._consumed !== true) {
      handle._consumed = true;
      parser.consume(handle);
      parser[b.kOnExecute] = onExecute;
      this.consumed = handle;
    }
    // The first request's header deadline counts from the connection's start, as node's does.
    this.messageStart = Date.now();
    (socket as unknown as Record<symbol, Http1Connection>)[kConnection] = this;
    // Also with a consumed handle: bytes the socket read before (TLS) come this way, and a flowing
    // socket is what turns the handle's EOF into 'end'.
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('drain', onSocketDrain);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    shared.connections.add(this);
  }

  get keepAliveLines(): string {
    return this.shared.keepAliveLines;
  }

  get writeClosed(): boolean {
    return this.ending || this.gone;
  }

  /** Idle: no request being read or answered. */
  get idle(): boolean {
    return this.active === undefined && !this.inMessage;
  }

  // --- reading ---

  read(data: Buffer): void {
    const parser = this.parser;
    if (parser === undefined || this.ending) return;
    this.executed(parser.execute(data), data);
  }

  /** After the parser ran over `data` (from a 'data' event, or the consumed handle's read). */
  executed(ret: number | ParseError, data: Buffer | undefined): void {
    if (this.ending) return;
    if (typeof ret !== 'number') {
      this.refuse(ret);
      return;
    }
    if (this.upgraded && !this.inMessage) this.handOver(data ?? this.parser?.getCurrentBuffer(), ret);
  }

  messageBegin(): void {
    this.inMessage = true;
    this.awaitingFirst = false;
    this.idleSince = 0;
    this.messageStart = Date.now();
  }

  headParts(headers: string[], url: string): void {
    // The trailer section of the message being read (node passes its URL again): not a next head.
    if (this.reading !== undefined) return;
    this.partHeaders = this.partHeaders === undefined ? headers : this.partHeaders.concat(headers);
    this.partUrl += url;
  }

  headComplete(major: number, minor: number, rawHeaders: string[] | undefined, method: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    // The rest of a read the connection was cut or refused in: nothing more is served.
    if (this.ending) return 0;
    if (rawHeaders === undefined || this.partHeaders !== undefined) {
      rawHeaders = this.partHeaders === undefined ? (rawHeaders ?? []) : rawHeaders ? this.partHeaders.concat(rawHeaders) : this.partHeaders;
      this.partHeaders = undefined;
    }
    if (url === undefined || this.partUrl !== '') {
      url = this.partUrl + (url ?? '');
      this.partUrl = '';
    }
    const methodName = this.shared.binding.methods[method] ?? 'GET';
    const headers = headerRecord(rawHeaders);
    const req = new Http1Request(methodName, url, headers, rawHeaders, major, minor, this.socket);
    const res = new Http1Response(this, methodName === 'HEAD', major === 1 && minor >= 1, keepAlive && !upgrade && !this.shared.closingIdle);
    this.reading = req;
    if (upgrade) {
      if (methodName === 'CONNECT') {
        this.ending = true;
        this.socket.destroy();
        return 0;
      }
      // An Upgrade: the parser stops after this message (its head, or its body if it has one); what
      // follows is the tunnel's (a WebSocket the upstream accepts), or nothing: the connection closes
      // after the response. Other upgrades (h2c) are served as plain requests, body included, as Envoy does.
      this.upgraded = true;
    }
    if (announcesBody(headers)) req.body = new RequestBody(this);
    const expectHeader = major === 1 && minor === 1 ? headers.expect : undefined;
    // RFC 9110 §10.1.1: 100-continue is answered before the body is read; any other expectation is one
    // this hop cannot meet (417), answered in its turn like any response and never routed.
    const expect = expectHeader === undefined ? EXPECT_NONE : expectHeader.toLowerCase() === '100-continue' ? EXPECT_CONTINUE : EXPECT_FAILED;
    const pending: Pending = { req, res, expect };
    if (this.active === undefined) this.start(pending);
    else {
      const queue = (this.queue ??= []);
      // Reading pauses behind a waiting request, but one read can hold thousands of tiny requests.
      if (queue.length >= MAX_PIPELINED) {
        this.shared.log('debug', `HTTP/1 connection cut: more than ${MAX_PIPELINED} pipelined requests waiting`);
        this.destroy();
        return 0;
      }
      queue.push(pending);
      this.pauseReading();
    }
    return 0;
  }

  body(chunk: Buffer): void {
    const req = this.reading;
    if (req === undefined) return;
    req.bodyBytes += chunk.length;
    const body = req.body;
    // A body nobody reads any more (its response was a local reply) is read past, as node does.
    if (body === null || body.destroyed) return;
    if (!body.push(chunk)) this.pauseReading();
  }

  messageComplete(): void {
    this.inMessage = false;
    this.partHeaders = undefined;
    this.partUrl = '';
    const req = this.reading;
    if (req === undefined) return;
    this.reading = undefined;
    req.complete = true;
    const body = req.body;
    if (body !== null && !body.destroyed) body.push(null);
  }

  resumeBody(): void {
    if (this.readPaused && this.queue === undefined) this.resumeReading();
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.pausedAt = Date.now();
    const handle = this.consumed;
    if (handle === undefined) this.socket.pause();
    else if (handle.reading) {
      handle.reading = false;
      handle.readStop();
    }
  }

  private resumeReading(): void {
    this.readPaused = false;
    if (this.pausedAt !== 0) {
      this.messageStart += Date.now() - this.pausedAt;
      this.pausedAt = 0;
    }
    if (this.gone || this.ending || this.refusal !== undefined) return;
    const handle = this.consumed;
    if (handle === undefined) this.socket.resume();
    else if (!handle.reading) {
      handle.reading = true;
      handle.readStart();
    }
  }

  // --- answering ---

  private start(pending: Pending): void {
    this.active = pending;
    if (pending.expect !== EXPECT_NONE) {
      if (pending.expect === EXPECT_FAILED) {
        const res = pending.res;
        res.shouldKeepAlive = false;
        res.writeHead(417, { 'content-length': 0 });
        res.end();
        return;
      }
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    }
    this.shared.handler(pending.req, pending.res);
  }

  responseEnded(res: Http1Response): void {
    const active = this.active;
    if (active === undefined || active.res !== res) return;
    this.active = undefined;
    if (res.last || this.peerEnded || this.upgraded || (this.shared.closingIdle && this.queue === undefined && !this.inMessage)) {
      this.finishAndClose();
    } else {
      // The request's body may still be arriving (a local reply did not wait for it): read past it.
      const req = active.req;
      if (!req.complete && req.body !== null) req.body.destroy();
      const next = this.queue?.shift();
      if (this.queue !== undefined && this.queue.length === 0) this.queue = undefined;
      if (next !== undefined) {
        // Started from the event loop: this runs inside the previous response's last upstream callback.
        setImmediate(startQueued, this, next);
      } else if (this.refusal !== undefined) {
        this.writeRefusal(this.refusal);
      } else {
        if (!this.inMessage) this.idleSince = Date.now();
        if (this.readPaused) this.resumeReading();
      }
    }
    res.observer?.finish();
  }

  startQueued(next: Pending): void {
    if (this.gone || this.ending) return;
    this.start(next);
    if (this.queue === undefined && this.readPaused) this.resumeReading();
  }

  /** The server is winding down and this connection is idle. */
  closeWhenIdle(): void {
    if (this.idle && !this.upgraded) this.finishAndClose();
  }

  /** Ends the socket once what is written has gone (a response asked to close, or the server is draining). */
  private finishAndClose(): void {
    if (this.ending) return;
    this.ending = true;
    this.socket.end();
    // A client that never closes its side is cut off at the idle deadline.
    this.idleSince = Date.now();
  }

  /** Refused bytes: an answer if none has started on this connection, then close; otherwise cut. */
  private refuse(err: ParseError | { code: string }): void {
    this.shared.log('debug', `HTTP/1 request refused: ${err.code}`);
    const reading = this.reading;
    if (reading?.body && !reading.body.destroyed) reading.body.destroy(new Error(`request body refused: ${err.code}`));
    const active = this.active;
    if (this.socket.writable === false || err.code === 'ECONNRESET') {
      this.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (active !== undefined && (reading === undefined || reading !== active.req)) {
      // The refused bytes follow the request being answered (and any waiting ones): they get their
      // answer after those, never in place of one. Nothing more is read.
      this.refusal = status;
      // A waiting request whose own body was refused is answered by the refusal, never forwarded.
      const queue = this.queue;
      if (queue !== undefined && reading !== undefined && queue[queue.length - 1]?.req === reading) {
        queue.pop();
        if (queue.length === 0) this.queue = undefined;
      }
      this.pauseReading();
      return;
    }
    // The refused bytes are the answered request's own (its body): cut if its answer has started.
    if (active?.res.headersSent === true) {
      this.destroy();
      return;
    }
    this.writeRefusal(status);
  }

  private writeRefusal(status: string): void {
    this.ending = true;
    this.socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, 'latin1');
    this.idleSince = Date.now();
  }

  /** A bug while handling this connection's bytes: logged, and the connection is cut. */
  failed(err: Error): void {
    this.shared.log('error', `HTTP/1 connection cut after an internal error: ${err.stack ?? err.message}`);
    this.destroy();
  }

  /** The socket goes now; responses in progress are cut off. */
  destroy(): void {
    this.ending = true;
    this.socket.destroy();
  }

  // --- upgrades ---

  /**
   * The head of an upgrade request was parsed: the parser lets go of the socket, whose bytes after the
   * head belong to the tunnel (the proxy core resumes it once the upstream agrees).
   */
  private handOver(data: Buffer | undefined, parsed: number): void {
    const socket = this.socket;
    socket.removeListener('data', onSocketData);
    socket.pause();
    // Copied: a consumed handle's read buffer is the parser's, reused by the next read.
    const rest = data !== undefined && parsed < data.length ? Buffer.from(data.subarray(parsed)) : undefined;
    this.closeParser();
    if (rest !== undefined) socket.unshift(rest);
  }

  // --- deadlines and endings ---

  /** Called by the server's sweep: the header, request and idle deadlines. */
  sweep(now: number): void {
    if (this.gone) return;
    const shared = this.shared;
    if (this.ending || (this.idle && !this.upgraded && !this.awaitingFirst)) {
      if (this.idleSince !== 0 && now - this.idleSince >= shared.keepAliveTimeoutMs) {
        this.destroy();
      } else if (this.idleSince === 0 && !this.inMessage && this.active === undefined && !this.upgraded) this.idleSince = now;
      return;
    }
    // A message the server itself stopped reading (a full body reader, requests waiting) or one already refused.
    if ((!this.inMessage && !this.awaitingFirst) || this.upgraded || this.readPaused || this.refusal !== undefined) return;
    const elapsed = now - this.messageStart;
    const headersPending = this.reading === undefined;
    if ((headersPending && elapsed >= shared.headersTimeoutMs) || (shared.requestTimeoutMs > 0 && elapsed >= shared.requestTimeoutMs)) {
      shared.log('debug', `HTTP/1 request not received in time (${headersPending ? 'headers' : 'request'} deadline)`);
      this.refuse({ code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    }
  }

  /**
   * The client half-closed. As with node's server (and Envoy's, which does not do HTTP/1 half-close), a
   * request still being read or answered is abandoned: the connection closes and the exchange ends as
   * a downstream disconnect. An idle connection just closes.
   */
  peerEnd(): void {
    this.peerEnded = true;
    if (this.upgraded || this.ending) return;
    if (this.active !== undefined || this.inMessage) this.destroy();
    else this.finishAndClose();
  }

  drained(): void {
    const res = this.active?.res;
    if (res !== undefined && res.needDrain) {
      res.needDrain = false;
      res.observer?.resume();
    }
  }

  closed(): void {
    if (this.gone) return;
    this.gone = true;
    this.ending = true;
    this.shared.connections.delete(this);
    this.closeParser();
    const reading = this.reading;
    if (reading?.body && !reading.complete && !reading.body.destroyed) reading.body.destroy(new Error('client closed the connection'));
    const active = this.active;
    this.active = undefined;
    this.queue = undefined;
    active?.res.observer?.finish();
  }

  private closeParser(): void {
    const parser = this.parser;
    if (parser === undefined) return;
    this.parser = undefined;
    const handle = this.consumed;
    if (handle !== undefined) {
      this.consumed = undefined;
      handle._consumed = false;
      if (!this.gone) parser.unconsume();
      // A handle that was paused for the parser reads again for its next owner (the tunnel).
      if (!handle.reading && !this.gone) {
        handle.reading = true;
        handle.readStart();
      }
    }
    // Closed once the stack has unwound: this may run inside the parser's own kOnExecute callback.
    setImmediate(closeParserInstance, parser);
  }

}

/** A net or TLS socket's libuv stream handle, as node's server consumes it. */
interface ConsumableHandle {
  readonly isStreamBase?: boolean;
  _consumed?: boolean;
  reading: boolean;
  readStart(): number;
  readStop(): number;
}

function closeParserInstance(parser: NativeParser): void {
  parser.close();
}

// Parser and socket callbacks are module functions reading the connection from `this`: no closure per connection.
function connectionOf(holder: object): Http1Connection {
  return (holder as Record<symbol, Http1Connection>)[kConnection] as Http1Connection;
}

function onMessageBegin(this: NativeParser): number {
  connectionOf(this).messageBegin();
  return 0;
}

function onHeaders(this: NativeParser, headers: string[], url: string): void {
  connectionOf(this).headParts(headers, url);
}

function onHeadersComplete(
  this: NativeParser,
  major: number,
  minor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  _statusCode: unknown,
  _statusMessage: unknown,
  upgrade: boolean,
  keepAlive: boolean,
): number {
  const connection = connectionOf(this);
  try {
    return connection.headComplete(major, minor, headers, method, url, upgrade, keepAlive);
  } catch (err) {
    // Thrown into node's parser it would surface as an uncaught exception: a bug costs this connection only.
    connection.failed(err as Error);
    return 0;
  }
}

function onBody(this: NativeParser, chunk: Buffer): void {
  connectionOf(this).body(chunk);
}

function onMessageComplete(this: NativeParser): void {
  connectionOf(this).messageComplete();
}

function onExecute(this: NativeParser, ret: number | ParseError): void {
  connectionOf(this).executed(ret, undefined);
}

function onSocketData(this: Socket, data: Buffer): void {
  connectionOf(this).read(data);
}

function onSocketEnd(this: Socket): void {
  connectionOf(this).peerEnd();
}

function onSocketDrain(this: Socket): void {
  connectionOf(this).drained();
}

function onSocketError(this: Socket): void {
  this.destroy();
}

function onSocketClose(this: Socket): void {
  connectionOf(this).closed();
}

function startQueued(connection: Http1Connection, next: Pending): void {
  connection.startQueued(next);
}
