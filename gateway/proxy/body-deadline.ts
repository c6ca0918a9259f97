// A route's request-body deadline (VirtualService annotation gatehouse.io/request-body-timeout): the
// whole body must have arrived within it, counted from route selection (just after the headers).
// Only routes that set one pay for a timer; the listeners are module functions, not closures.
import type { EventEmitter } from 'node:events';
import { constants as h2, type Http2ServerRequest, type ServerHttp2Stream } from 'node:http2';
import { Http1Request } from '../http1/request.js';
import type { DownstreamRequest, Exchange } from './exchange.js';

const kDeadline = Symbol('gatehouse.bodyDeadline');

/** What emits the body's 'end' and 'close': node's request stream itself, or Gatehouse's HTTP/1 body. */
interface Holder extends EventEmitter {
  [kDeadline]?: { timer: NodeJS.Timeout; exchange: Exchange; req: DownstreamRequest };
}

export function armBodyDeadline(exchange: Exchange, req: DownstreamRequest, ms: number): void {
  if (req.complete) return;
  const holder = (req instanceof Http1Request ? req.body : req) as Holder | null;
  if (holder === null) return;
  holder[kDeadline] = { timer: setTimeout(onDeadline, ms, holder), exchange, req };
  holder.once('end', disarm);
  holder.once('close', disarm);
}

function disarm(this: Holder): void {
  const d = this[kDeadline];
  if (!d) return;
  clearTimeout(d.timer);
  this[kDeadline] = undefined;
}

function onDeadline(holder: Holder): void {
  const d = holder[kDeadline];
  holder[kDeadline] = undefined;
  if (!d || d.req.complete) return;
  d.exchange.requestBodyTimeout();
  if (d.req.httpVersionMajor === 2) stopUpload((d.req as Http2ServerRequest).stream);
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
