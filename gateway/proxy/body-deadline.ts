// A route's request-body deadline (VirtualService annotation gatehouse.io/request-body-timeout): the
// whole body must have arrived within it, counted from route selection (just after the headers).
// Only routes that set one pay for a timer; the listeners are module functions, not closures.
import { constants as h2, type Http2ServerRequest, type ServerHttp2Stream } from 'node:http2';
import type { DownstreamRequest, Exchange } from './exchange.js';

const kDeadline = Symbol('gatehouse.bodyDeadline');

interface Holder {
  [kDeadline]?: { timer: NodeJS.Timeout; exchange: Exchange };
}

export function armBodyDeadline(exchange: Exchange, req: DownstreamRequest, ms: number): void {
  if (req.complete) return;
  (req as unknown as Holder)[kDeadline] = { timer: setTimeout(onDeadline, ms, req), exchange };
  req.once('end', disarm);
  req.once('close', disarm);
}

function disarm(this: DownstreamRequest): void {
  const holder = this as unknown as Holder;
  const d = holder[kDeadline];
  if (!d) return;
  clearTimeout(d.timer);
  holder[kDeadline] = undefined;
}

function onDeadline(req: DownstreamRequest): void {
  const holder = req as unknown as Holder;
  const d = holder[kDeadline];
  holder[kDeadline] = undefined;
  if (!d || req.complete) return;
  d.exchange.requestBodyTimeout();
  if (req.httpVersionMajor === 2) stopUpload((req as Http2ServerRequest).stream);
}

/**
 * HTTP/2 has no connection to close for one request: once the 408 is complete, RST_STREAM(NO_ERROR)
 * tells the client to stop sending the body (RFC 9113 section 8.1).
 */
function stopUpload(stream: ServerHttp2Stream): void {
  if (stream.closed || stream.destroyed) return;
  if (stream.writableFinished) stream.close(h2.NGHTTP2_NO_ERROR);
  else stream.once('finish', closeNoError);
}

function closeNoError(this: ServerHttp2Stream): void {
  if (!this.closed && !this.destroyed) this.close(h2.NGHTTP2_NO_ERROR);
}
