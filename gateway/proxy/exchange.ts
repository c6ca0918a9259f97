// One request's journey through the gateway. The Exchange is both the per-request state and the
// undici dispatch handler, so forwarding allocates one object instead of a set of closures; it also
// is the access-log entry, so logging reads fields rather than building a record.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Cluster, HeaderOps, Route, WeightedCluster } from '../../core/snapshot.js';
import { ResponseFlag } from '../../core/response-flags.js';
import type { Generation } from '../generation.js';
import type { ListenerContext } from '../plane-state.js';
import type { AccessLogEntry, TextTail } from '../telemetry/access-log.js';
import { formatAccessLog, writeTextLine } from '../telemetry/access-log.js';
import type { EndpointPool } from '../upstream/endpoint-pool.js';
import { addHsts, addHstsToList, applyHeaderOps, applyHeaderOpsToList, checkHeaderOps, headerListToObject, listValue, listWithStrings, responseHeaderList, type HeaderList } from './headers.js';
import { connectionMemo, type ConnectionMemo } from './connection-memo.js';
import { spliceTunnel } from './tunnel.js';
import { classifyUpstreamFailure, errorText } from './upstream-failure.js';
import { Http1Request } from '../http1/request.js';
import { Http1Response } from '../http1/response.js';

/** HTTP/1 from Gatehouse's own server (gateway/http1) or node's, HTTP/2 from node's compatibility API. */
export type DownstreamRequest = Http1Request | IncomingMessage | Http2ServerRequest;
export type DownstreamResponse = Http1Response | ServerResponse | Http2ServerResponse;

const kExchange = Symbol('gatehouse.exchange');
const kExchangeReq = Symbol('gatehouse.exchange.request');

/** Error used to abort an upstream request; its flag says why. */
class AbortReason extends Error {
  constructor(readonly flag: string) {
    super(`aborted: ${flag}`);
  }
}

export class Exchange implements AccessLogEntry, Dispatcher.DispatchHandler {
  // --- access-log fields (AccessLogEntry) ---
  readonly startTime: number;
  readonly method: string;
  readonly path: string;
  readonly protocol: string;
  responseCode = 0;
  responseFlags: string = ResponseFlag.NONE;
  responseCodeDetails = '';
  connectionTerminationDetails: string | undefined = undefined;
  upstreamTransportFailureReason: string | undefined = undefined;
  bytesReceived = 0;
  bytesSent = 0;
  durationMs = 0;
  upstreamServiceTimeMs: number | undefined = undefined;
  xForwardedFor: string | undefined = undefined;
  readonly userAgent: string | undefined;
  requestId: string | undefined;
  readonly authority: string | undefined;
  upstreamHost: string | undefined = undefined;
  upstreamCluster: string | undefined = undefined;
  readonly upstreamLocalAddress: string | undefined = undefined;
  downstreamLocalAddress: string | undefined = undefined;
  downstreamRemoteAddress: string | undefined = undefined;
  requestedServerName: string | undefined = undefined;
  routeName: string | undefined = undefined;
  readonly textTail: TextTail | undefined = undefined;

  // --- forwarding state ---
  readonly ctx: ListenerContext;
  /** Strict-Transport-Security to add (TLS listeners with --hsts), else undefined. */
  private readonly hsts: string | undefined;
  readonly gen: Generation | undefined;
  readonly req: DownstreamRequest;
  readonly res: DownstreamResponse;
  /** What this request's connection remembers across its requests (Host, log line ends). */
  readonly memo: ConnectionMemo;
  /** performance.now() at the start: a double, where hrtime.bigint() allocates a BigInt per call. */
  private readonly startMonotonic: number;
  private cluster: Cluster | undefined = undefined;
  private route: Route | undefined = undefined;
  private destination: WeightedCluster | undefined = undefined;
  private endpoint: EndpointPool | undefined = undefined;
  private dispatchedAt = 0;
  private abortUpstream: ((err?: Error) => void) | undefined = undefined;
  private resumeUpstream: (() => void) | undefined = undefined;
  private pendingAbort: Error | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** The response (local or upstream) is settled: later upstream callbacks are ignored. */
  private settled = false;
  private connected = false;
  /** A body without Content-Length is counted as it streams; set in forward, cleared once listening. */
  private countBody = false;
  /** Gatehouse's HTTP/1 request counts its own body bytes: read at the end. */
  private countedBy: Http1Request | undefined = undefined;
  /** The WebSocket upgrade asked for (HTTP/1.1 only), forwarded as a tunnel once the upstream agrees. */
  upgrade: string | undefined = undefined;
  private tunnelled = false;
  /** grpc-status from the response headers (trailers-only) or trailers; '' when not gRPC. */
  private grpcStatus = '';
  /** We ended the response (local reply or upstream completion). */
  private ended = false;
  /** Response body bytes the upstream declared (Content-Length) and has not sent yet; -1 when undeclared. */
  private bodyRemaining = -1;
  /**
   * The body's last chunk, held from onData until onComplete, which undici calls straight after it in the
   * same parse: `end(chunk)` writes it with the response's end in one corked pass, where `write` + `end`
   * also corks, schedules an uncork tick and writes twice.
   */
  private lastChunk: Buffer | undefined = undefined;
  private finished = false;

  constructor(ctx: ListenerContext, gen: Generation | undefined, req: DownstreamRequest, res: DownstreamResponse) {
    this.startTime = Date.now();
    this.startMonotonic = performance.now();
    this.ctx = ctx;
    this.hsts = ctx.scheme === 'https' ? ctx.plane.edge.hsts : undefined;
    this.gen = gen;
    this.req = req;
    this.res = res;
    this.method = req.method ?? 'GET';
    this.path = req.url ?? '/';
    this.protocol = protocolName(req);
    const headers = req.headers;
    this.userAgent = headers['user-agent'];
    this.authority = (headers[':authority'] as string | undefined) ?? headers.host;
    const memo = connectionMemo(req.socket);
    this.memo = memo;
    if (ctx.plane.accessLogFormat !== 'off') {
      // Only the access log needs these strings, and the socket may be gone when it is written.
      this.downstreamLocalAddress = memo.local;
      this.downstreamRemoteAddress = memo.remote;
      this.textTail = memo.textTail;
    }
    if (res instanceof Http1Response) res.observer = this;
    else {
      (res as unknown as Record<symbol, Exchange>)[kExchange] = this;
      (req as unknown as Record<symbol, Exchange>)[kExchangeReq] = this;
      res.on('close', onResponseClose);
    }
  }

  // --- local replies ---

  /** Answers from the gateway itself (404 NR, 503 UH, redirects, direct responses). */
  localReply(status: number, flag: string, details: string, body: string, extraHeaders?: OutgoingHttpHeaders, ops?: HeaderOps): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimer();
    this.responseCode = status;
    if (this.responseFlags === ResponseFlag.NONE) this.responseFlags = flag;
    this.responseCodeDetails = details;
    const res = this.res;
    if (this.finished || res.headersSent || res.destroyed) {
      this.abortDownstream();
      return;
    }
    const headers: Record<string, string | string[] | number | undefined> = { ...extraHeaders };
    if (body) {
      headers['content-type'] = 'text/plain';
      headers['content-length'] = Buffer.byteLength(body);
    } else if (status !== 304 && status !== 204) headers['content-length'] = 0;
    headers.server = 'istio-envoy';
    applyHeaderOps(headers, ops);
    addHsts(headers, this.hsts);
    this.applyDrain(headers);
    this.bytesSent = body ? Buffer.byteLength(body) : 0;
    try {
      (res as ServerResponse).writeHead(status, headers as OutgoingHttpHeaders);
      this.ended = true;
      if (this.method === 'HEAD' || !body) (res as ServerResponse).end();
      else (res as ServerResponse).end(body);
    } catch (err) {
      // The stream closed under us (h2 compat throws rather than emitting): nothing left to answer.
      this.ctx.plane.log('debug', `local reply not sent: ${(err as Error).message}`);
      this.abortDownstream();
    }
  }

  // --- forwarding ---

  forward(
    route: Route,
    destination: WeightedCluster,
    cluster: Cluster,
    endpoint: EndpointPool,
    path: string,
    headers: HeaderList,
    hasBody: boolean,
  ): void {
    this.route = route;
    this.destination = destination;
    this.cluster = cluster;
    this.endpoint = endpoint;
    this.upstreamHost = endpoint.hostPort;
    endpoint.inFlight++;
    const contentLength = this.req.headers['content-length'];
    if (contentLength !== undefined) this.bytesReceived = Number(contentLength) || 0;
    // A 'data' listener switches the request stream to flowing mode, which costs a bodiless request
    // several stream ticks for nothing: only a streamed body of unknown length is counted as it goes.
    else if (hasBody && this.req instanceof Http1Request) this.countedBy = this.req;
    else this.countBody = hasBody;
    if (route.timeoutMs > 0) this.timer = setTimeout(onRouteTimeout, route.timeoutMs, this);
    this.dispatchedAt = Date.now();
    try {
      // One object literal of one shape (no spreads): undici reads it once, V8 keeps the access monomorphic.
      const options: Dispatcher.DispatchOptions & { servername?: string } = {
        path,
        method: this.method as Dispatcher.HttpMethod,
        headers,
        body: hasBody ? requestBody(this.req) : null,
        // Keep upstream connections alive whatever the client asked for.
        reset: false,
      };
      if (endpoint.servername) options.servername = endpoint.servername;
      if (this.upgrade) options.upgrade = this.upgrade;
      endpoint.pool.dispatch(options, this);
    } catch (err) {
      this.onError(err as Error);
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    this.connected = true;
    this.abortUpstream = abort;
    if (this.pendingAbort) {
      abort(this.pendingAbort);
      return;
    }
    // Count streamed request bodies as they leave; a declared Content-Length is already counted.
    if (this.countBody) {
      this.countBody = false;
      (this.req as IncomingMessage).on('data', onRequestData);
    }
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.settled) return true;
    if (statusCode < 200) return true; // 1xx informational: wait for the final response
    this.settled = true;
    this.resumeUpstream = resume;
    this.upstreamServiceTimeMs = Date.now() - this.dispatchedAt;
    this.responseCode = statusCode;
    this.responseCodeDetails = 'via_upstream';
    const headers = responseHeaderList(rawHeaders);
    const declared = listValue(headers, 'content-length');
    if (declared !== undefined) this.bodyRemaining = Number(declared);
    const grpcStatus = listValue(headers, 'grpc-status');
    if (grpcStatus !== undefined) this.grpcStatus = grpcStatus;
    headers.push('x-envoy-upstream-service-time', String(this.upstreamServiceTimeMs), 'server', 'istio-envoy');
    applyHeaderOpsToList(headers, this.route?.responseHeaders);
    applyHeaderOpsToList(headers, this.destination?.responseHeaders);
    addHstsToList(headers, this.hsts);
    if (this.closesForDrain()) headers.push('connection', 'close');
    const res = this.res;
    if (this.finished || res.destroyed) return false;
    try {
      if (this.req.httpVersionMajor === 2) (res as Http2ServerResponse).writeHead(statusCode, headerListToObject(headers));
      else if (res instanceof Http1Response) {
        checkHeaderOps(this.route?.responseHeaders);
        checkHeaderOps(this.destination?.responseHeaders);
        res.writeHead(statusCode, headers);
      } else (res as ServerResponse).writeHead(statusCode, listWithStrings(headers));
    } catch (err) {
      // A header value node refuses to send downstream: the upstream response is unusable here.
      this.ctx.plane.log('warn', `upstream response headers rejected: ${(err as Error).message}`);
      this.responseFlags = ResponseFlag.UPSTREAM_PROTOCOL_ERROR;
      this.settled = false;
      this.abortUpstream?.(new AbortReason(ResponseFlag.UPSTREAM_PROTOCOL_ERROR));
      this.localReply(502, ResponseFlag.UPSTREAM_PROTOCOL_ERROR, 'upstream_response_headers_invalid', 'upstream response headers invalid');
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.finished) return false;
    this.bytesSent += chunk.length;
    if (this.bodyRemaining >= 0) {
      this.bodyRemaining -= chunk.length;
      if (this.bodyRemaining === 0 && this.lastChunk === undefined) {
        this.lastChunk = chunk;
        return true;
      }
    }
    const res = this.res;
    const ok = (res as ServerResponse).write(chunk);
    // Gatehouse's HTTP/1 response tells its observer (resume) itself.
    if (!ok && !(res instanceof Http1Response)) res.once('drain', onResponseDrain);
    return ok;
  }

  onComplete(trailers: string[] | Buffer[] | Record<string, string | string[] | undefined> | null): void {
    this.clearTimer();
    if (this.finished) return;
    const res = this.res;
    // h1 upstreams give raw name/value pairs, h2 upstreams a headers object.
    if (trailers && this.req.httpVersionMajor === 2) {
      const t: Record<string, string> = {};
      let any = false;
      if (Array.isArray(trailers)) {
        for (let i = 0; i + 1 < trailers.length; i += 2) {
          t[String(trailers[i]).toLowerCase()] = String(trailers[i + 1]);
          any = true;
        }
      } else {
        for (const name in trailers) {
          const value = trailers[name];
          if (name.charCodeAt(0) === 0x3a || value === undefined) continue;
          t[name] = Array.isArray(value) ? value.join(', ') : value;
          any = true;
        }
      }
      if (any) {
        (res as Http2ServerResponse).addTrailers(t);
        const grpcStatus = t['grpc-status'];
        if (grpcStatus !== undefined) this.grpcStatus = grpcStatus;
      }
    }
    this.ended = true;
    const last = this.lastChunk;
    if (last !== undefined) {
      this.lastChunk = undefined;
      (res as ServerResponse).end(last);
    } else (res as ServerResponse).end();
  }

  onError(err: Error): void {
    this.clearTimer();
    if (this.finished) return;
    const reason = err instanceof AbortReason ? err : undefined;
    if (this.settled) {
      // The response has started (or a local reply went out): all that is left is to cut the client off.
      if (!reason) {
        this.responseFlags = this.responseFlags === ResponseFlag.NONE ? ResponseFlag.UPSTREAM_CONNECTION_TERMINATION : this.responseFlags;
        this.connectionTerminationDetails = 'upstream_reset_after_response_started';
        this.upstreamTransportFailureReason = errorText(err);
      }
      if (!this.res.writableEnded || !reason) this.abortDownstream();
      return;
    }
    if (reason) return; // our own abort; its reply is already decided
    this.upstreamTransportFailureReason = errorText(err);
    const failure = classifyUpstreamFailure(err, this.connected, this.upstreamTransportFailureReason);
    this.localReply(failure.status, failure.flag, failure.details, failure.body);
  }

  onBodySent(): void {}

  /** The upstream switched protocols: answer the client with its 101 and splice the two sockets. */
  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex): void {
    this.clearTimer();
    const client = this.req.socket as Socket;
    if (this.finished || this.settled || client.destroyed) {
      upstream.destroy();
      return;
    }
    this.settled = true;
    this.tunnelled = true;
    this.responseCode = statusCode;
    this.responseCodeDetails = 'via_upstream';
    this.upstreamServiceTimeMs = Date.now() - this.dispatchedAt;
    let head = `HTTP/1.1 ${statusCode} Switching Protocols\r\n`;
    const raw = rawHeaders ?? [];
    for (let i = 0; i + 1 < raw.length; i += 2) head += `${String(raw[i])}: ${String(raw[i + 1])}\r\n`;
    client.write(`${head}\r\n`);
    spliceTunnel(client, upstream, this);
  }

  // --- abort paths ---

  routeTimeout(): void {
    this.timer = undefined;
    if (this.finished) return;
    this.responseFlags = ResponseFlag.UPSTREAM_REQUEST_TIMEOUT;
    this.cancelUpstream(new AbortReason(ResponseFlag.UPSTREAM_REQUEST_TIMEOUT));
    if (this.settled) this.abortDownstream();
    else this.localReply(504, ResponseFlag.UPSTREAM_REQUEST_TIMEOUT, 'response_timeout', 'upstream request timeout');
  }

  /**
   * The route's request-body deadline passed before the body was whole: the upstream request is
   * aborted (it must never see a complete body), the client gets 408 if nothing was sent yet, and the
   * connection closes (the rest of the body would otherwise be read as the next request).
   */
  requestBodyTimeout(): void {
    if (this.finished) return;
    const reason = new AbortReason(ResponseFlag.NONE);
    if (this.settled) {
      this.cancelUpstream(reason);
      this.abortDownstream();
      return;
    }
    // The 408 is written before the upstream is cut: aborting it destroys the request body stream.
    if (this.req.httpVersionMajor === 1) (this.res as ServerResponse).shouldKeepAlive = false;
    this.localReply(408, ResponseFlag.NONE, 'request_body_timeout', 'request body timeout', this.req.httpVersionMajor === 1 ? { connection: 'close' } : undefined);
    this.cancelUpstream(reason);
  }

  /** The client went away before the response completed. */
  downstreamClosed(): void {
    if (this.completed()) return;
    if (this.responseFlags === ResponseFlag.NONE) this.responseFlags = ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION;
    if (!this.settled) this.responseCodeDetails = 'downstream_remote_disconnect';
    if (!this.settled) this.responseCode = 0;
    this.settled = true;
    this.cancelUpstream(new AbortReason(ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION));
  }

  resume(): void {
    this.resumeUpstream?.();
  }

  private cancelUpstream(reason: AbortReason): void {
    if (!this.endpoint) return;
    if (this.abortUpstream) this.abortUpstream(reason);
    else this.pendingAbort = reason;
  }

  /** Never end a broken response cleanly: the client must see it was cut short. */
  private abortDownstream(): void {
    const res = this.res;
    if (res.destroyed) return;
    if (this.req.httpVersionMajor === 2) {
      const stream = (res as Http2ServerResponse).stream;
      if (!stream.closed && !stream.destroyed) stream.close(0x2 /* INTERNAL_ERROR */);
    } else (res as ServerResponse).destroy();
  }

  private applyDrain(headers: Record<string, unknown>): void {
    if (this.closesForDrain()) headers.connection = 'close';
  }

  /** While draining, an HTTP/1 connection closes after this response. */
  private closesForDrain(): boolean {
    if (!this.ctx.plane.draining || this.req.httpVersionMajor !== 1) return false;
    (this.res as ServerResponse).shouldKeepAlive = false;
    return true;
  }

  /**
   * Whether the response was delivered whole. HTTP/1: node says so (writableFinished). The h2
   * compatibility response reports finished once its stream closes, even on RST_STREAM, so there
   * our own end() and the stream's reset code decide.
   */
  private completed(): boolean {
    if (this.tunnelled) return true;
    if (this.req.httpVersionMajor !== 2) return this.res.writableFinished;
    const rst = (this.res as Http2ServerResponse).stream.rstCode;
    return this.ended && (rst === undefined || rst === 0);
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Runs once, when the downstream response closes: telemetry and bookkeeping. */
  finish(): void {
    if (this.finished) return;
    this.clearTimer();
    if (!this.completed()) this.downstreamClosed();
    this.finished = true;
    if (this.endpoint) this.endpoint.inFlight--;
    this.durationMs = performance.now() - this.startMonotonic;
    if (this.countedBy !== undefined) this.bytesReceived = this.countedBy.bodyBytes;
    this.upstreamCluster = this.cluster?.name ?? this.destination?.cluster;
    this.routeName = this.route?.name ?? this.routeName;
    const headers = this.req.headers;
    this.xForwardedFor ??= headers['x-forwarded-for'] as string | undefined;
    // Envoy gives every request an id, local replies included.
    this.requestId ??= (headers['x-request-id'] as string | undefined) ?? (this.ctx.plane.accessLogFormat === 'off' ? undefined : randomUUID());
    const plane = this.ctx.plane;
    const contentType = headers['content-type'];
    const grpc = contentType !== undefined && contentType.startsWith('application/grpc');
    try {
      plane.metrics.recordRequest(
        this.cluster,
        this.responseCode,
        this.responseFlags,
        grpc ? 'grpc' : 'http',
        grpc ? this.grpcStatus : '',
        this.durationMs,
        this.bytesReceived,
        this.bytesSent,
      );
      const format = plane.accessLogFormat;
      if (format === 'text' && plane.accessLogBytes !== undefined) writeTextLine(this, plane.accessLogBytes);
      else if (format !== 'off') plane.accessLog.write(formatAccessLog(format, this));
    } catch (err) {
      plane.log('error', `telemetry failed: ${(err as Error).message}`);
    }
    plane.inFlight--;
    if (plane.inFlight === 0) plane.onIdle?.();
  }

  setRoute(route: Route): void {
    this.route = route;
    this.routeName = route.name;
  }
}

/** The stream undici sends upstream as the request body. */
function requestBody(req: DownstreamRequest): Readable | null {
  if (req instanceof Http1Request) return req.body;
  return req as NodeJS.ReadableStream as Readable;
}

function protocolName(req: DownstreamRequest): string {
  if (req.httpVersionMajor === 2) return 'HTTP/2';
  const version = req.httpVersion;
  return version === '1.1' ? 'HTTP/1.1' : version === '1.0' ? 'HTTP/1.0' : `HTTP/${version}`;
}

// Module-level listeners read the Exchange from the emitter, so no closure is made per request.
function onResponseClose(this: DownstreamResponse): void {
  (this as unknown as Record<symbol, Exchange>)[kExchange]?.finish();
}

function onResponseDrain(this: DownstreamResponse): void {
  (this as unknown as Record<symbol, Exchange>)[kExchange]?.resume();
}

function onRouteTimeout(exchange: Exchange): void {
  exchange.routeTimeout();
}

function onRequestData(this: DownstreamRequest, chunk: Buffer): void {
  const ex = (this as unknown as Record<symbol, Exchange | undefined>)[kExchangeReq];
  if (ex) ex.bytesReceived += chunk.length;
}

