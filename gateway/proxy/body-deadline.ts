// A route's request-body deadline (VirtualService annotation gatehouse.io/request-body-timeout): the
// whole body must have arrived within it, counted from route selection (just after the headers).
// Only routes that set one pay for a timer; the listeners are module functions, not closures.
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
}
