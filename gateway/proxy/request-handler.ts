// The proxy core: one plain handler on node's request/response objects, mounted on whichever server
// a listener uses (raw node:http, fastify, the h2 secure server). Routing decisions come from
// routes/match.ts over the generation read once at the start of the request.
import { randomUUID } from 'node:crypto';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FilterChain, Route, RouteMatch } from '../../core/snapshot.js';
import { ResponseFlag } from '../../core/response-flags.js';
import { findVirtualHost, matchRoute, pickDestination, type RouteRequest } from '../../routes/match.js';
import { kConnection, type ConnectionInfo, type ListenerContext } from '../plane-state.js';
import { Http1Request, announcesBody } from '../http1/request.js';
import { armBodyDeadline } from './body-deadline.js';
import { Exchange, type DownstreamRequest, type DownstreamResponse } from './exchange.js';
import { applyHeaderOpsToList, buildUpstreamHeaders, listValue } from './headers.js';
import { redirectLocation, tlsRedirectLocation } from './redirect.js';
import { refusedAtEdge } from './request-guard.js';
import { normalizeRequestPath } from './path.js';

export type RequestHandler = (req: DownstreamRequest, res: DownstreamResponse) => void;

export function createRequestHandler(ctx: ListenerContext): RequestHandler {
  return function handleRequest(req, res) {
    const plane = ctx.plane;
    plane.inFlight++;
    const exchange = new Exchange(ctx, plane.current, req, res);
    try {
      route(ctx, exchange, req);
    } catch (err) {
      // A bug must cost one request, never the process.
      plane.log('error', `request handling failed: ${(err as Error).stack ?? String(err)}`);
      exchange.localReply(500, ResponseFlag.NONE, 'internal_error', 'internal error');
    }
  };
}

function route(ctx: ListenerContext, ex: Exchange, req: DownstreamRequest): void {
  if (refusedAtEdge(ex, req, ctx)) return;
  const gen = ex.gen;
  const headers = req.headers;
  const authority = ex.authority;
  const host = ex.memo.host(authority);
  if (host === undefined || authority === undefined) {
    ex.localReply(400, ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR, 'invalid_authority', 'invalid host header');
    return;
  }
  const chain = gen ? chainFor(ctx, req, gen.listeners.get(ctx.port)?.filterChains) : undefined;
  if (ctx.scheme === 'https') ex.requestedServerName = ((req.socket as unknown as Record<symbol, ConnectionInfo | undefined>)[kConnection])?.sni;
  const table = chain?.routeTable !== undefined ? gen?.snapshot.routeTables[chain.routeTable] : undefined;
  const vhost = table ? findVirtualHost(table, host) : undefined;
  if (!gen || !vhost) {
    ex.localReply(404, ResponseFlag.NO_ROUTE, 'route_not_found', '');
    return;
  }
  const url = ex.path;
  if (vhost.requireTls && ctx.scheme === 'http') {
    ex.localReply(301, ResponseFlag.NONE, 'direct_response', '', { location: tlsRedirectLocation(authority, url) });
    return;
  }

  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const path = normalizeRequestPath(rawPath, ctx.plane.edge.pathNormalization);
  if (path === undefined) {
    ex.localReply(400, ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR, 'invalid_path', 'invalid path');
    return;
  }
  // The asterisk form (`OPTIONS *`) names no resource to route: Envoy answers it 404 before routing.
  if (path === '*') {
    ex.localReply(404, ResponseFlag.NONE, 'absolute_path_rejected', '');
    return;
  }
  const routeRequest: RouteRequest = { host, path, query, method: ex.method, scheme: ctx.scheme, port: ctx.port, headers };
  const matched = matchRoute(vhost, routeRequest);
  if (!matched) {
    ex.localReply(404, ResponseFlag.NO_ROUTE, 'route_not_found', '');
    return;
  }
  ex.setRoute(matched);
  const action = matched.action;
  switch (action.type) {
    case 'redirect':
      ex.localReply(action.code, ResponseFlag.DIRECT_RESPONSE, 'direct_response', '', {
        location: redirectLocation(action, ctx.scheme, authority, path, query),
      }, matched.responseHeaders);
      return;
    case 'direct':
      ex.localReply(action.status, ResponseFlag.DIRECT_RESPONSE, 'direct_response', action.body ?? '', undefined, matched.responseHeaders);
      return;
    case 'forward':
      break;
  }

  const destination = pickDestination(action.destinations, action.totalWeight, Math.random());
  const runtime = gen.clusters.get(destination.cluster);
  if (!runtime) {
    ex.upstreamCluster = destination.cluster;
    ex.localReply(503, ResponseFlag.NO_CLUSTER, 'cluster_not_found', '');
    return;
  }
  const endpoint = runtime.balancer.pick();
  if (!endpoint) {
    ex.upstreamCluster = destination.cluster;
    ex.localReply(503, ResponseFlag.NO_HEALTHY_UPSTREAM, 'no_healthy_upstream', 'no healthy upstream');
    return;
  }

  const clientIp = ex.memo.clientIp;
  const connection = ctx.scheme === 'https' ? (req.socket as unknown as Record<symbol, ConnectionInfo | undefined>)[kConnection] : undefined;
  const clientRequestId = headers['x-request-id'];
  const requestId = typeof clientRequestId === 'string' && clientRequestId !== '' ? clientRequestId : randomUUID();
  ex.requestId = requestId;
  const upstreamHeaders = buildUpstreamHeaders(headers, {
    clientIp,
    clientCert: connection?.clientCert,
    scheme: ctx.scheme,
    requestId,
    authority: action.rewrite?.authority ?? authority,
    trustedHops: ctx.plane.edge.trustedHops,
  });
  ex.xForwardedFor = listValue(upstreamHeaders, 'x-forwarded-for');
  applyHeaderOpsToList(upstreamHeaders, matched.requestHeaders);
  applyHeaderOpsToList(upstreamHeaders, destination.requestHeaders);

  let upstreamPath = path === rawPath ? url : query ? `${path}?${query}` : path;
  const rewriteUri = action.rewrite?.uri;
  if (rewriteUri !== undefined) {
    const rewritten = rewritePath(matched, path, rewriteUri);
    upstreamPath = query ? `${rewritten}?${query}` : rewritten;
  }
  // A WebSocket handshake is a GET without a body (RFC 6455 §4.1): one with a body is served as a plain request.
  if (isWebSocketUpgrade(req) && !(req instanceof Http1Request && req.body !== null)) ex.upgrade = 'websocket';
  const body = ex.upgrade ? false : hasBody(req);
  ex.forward(matched, destination, runtime.cluster, endpoint, upstreamPath, upstreamHeaders, body);
  if (body && matched.requestBodyTimeoutMs !== undefined) armBodyDeadline(ex, req, matched.requestBodyTimeoutMs);
}

function chainFor(ctx: ListenerContext, req: DownstreamRequest, chains: readonly FilterChain[] | undefined): FilterChain | undefined {
  if (ctx.scheme === 'https') {
    return ((req.socket as unknown as Record<symbol, ConnectionInfo | undefined>)[kConnection])?.chain;
  }
  return chains?.[0];
}

function isWebSocketUpgrade(req: DownstreamRequest): boolean {
  const upgrade = req.headers.upgrade;
  return req.httpVersionMajor === 1 && typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

/**
 * Node hands HTTP/1.1 Upgrade requests to 'upgrade' listeners with the bare socket. Wrapping them in a
 * ServerResponse lets the one proxy core route them (local replies included); a WebSocket that the
 * upstream accepts becomes a tunnel. Other upgrade tokens (h2c) are served as plain requests.
 */
export function createUpgradeHandler(handler: RequestHandler): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return function handleUpgrade(req, socket, head) {
    if (head.length > 0) socket.unshift(head);
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    // The HTTP parser has let go of this socket: once a non-upgraded response is written, close it.
    res.on('finish', () => (socket as Socket).end());
    handler(req, res);
  };
}

function hasBody(req: DownstreamRequest): boolean {
  if (req instanceof Http1Request) return req.body !== null;
  if (req.httpVersionMajor === 2) return !(req as Http2ServerRequest).stream.endAfterHeaders;
  return announcesBody(req.headers);
}

/** Prefix rewrite replaces the matched prefix; any other match has its whole path replaced. */
function rewritePath(route: Route, path: string, replacement: string): string {
  for (const m of route.match) {
    const prefix = matchedPrefix(m, path);
    if (prefix !== undefined) return replacement + path.slice(prefix.length);
  }
  return replacement;
}

function matchedPrefix(m: RouteMatch, path: string): string | undefined {
  const uri = m.uri;
  if (!uri || uri.kind !== 'prefix') return undefined;
  const head = path.slice(0, uri.value.length);
  if (m.ignoreUriCase ? head.toLowerCase() === uri.value.toLowerCase() : head === uri.value) return uri.value;
  return undefined;
}
