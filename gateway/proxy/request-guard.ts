// Requests node's parser accepts but an edge must not forward: ambiguity between what the gateway and
// an upstream would understand (Host, framing, header names) and sizes beyond the edge's limits.
// Refusals close the connection, as Envoy does after a downstream protocol error: bytes that follow an
// ambiguous request cannot be trusted to start the next one.
import { ResponseFlag } from '../../core/response-flags.js';
import type { EdgePolicy } from '../edge-policy.js';
import { selectFilterChain } from '../../routes/match.js';
import { kConnection, type ConnectionInfo, type ListenerContext } from '../plane-state.js';
import type { DownstreamRequest, Exchange } from './exchange.js';
import { normalizeHost } from './host.js';

export interface Refusal {
  readonly status: number;
  readonly flag: string;
  /** Envoy-style response code details for the access log. */
  readonly details: string;
  readonly body: string;
}

const refusal = (status: number, details: string, body: string): Refusal =>
  Object.freeze({ status, flag: ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR, details, body });

const HTTP09 = refusal(400, 'http1.codec_error', 'HTTP/0.9 is not supported');
const TE_ON_HTTP10 = refusal(400, 'http1.transfer_encoding_not_allowed', 'transfer-encoding on HTTP/1.0');
const TE_UNKNOWN = refusal(501, 'http1.invalid_transfer_encoding', 'unsupported transfer-encoding');
const URI_TOO_LONG = refusal(414, 'http1.uri_too_long', 'uri too long');
const TOO_MANY_HEADERS = refusal(431, 'http1.too_many_headers', 'too many headers');
const HEADERS_TOO_LARGE = refusal(431, 'http1.headers_too_large', 'headers too large');
const DUPLICATE_HOST = refusal(400, 'http1.duplicate_host', 'more than one host header');
const AUTHORITY_MISMATCH = refusal(400, 'http1.authority_mismatch', 'request target authority differs from host');
const UNDERSCORE = refusal(400, 'http1.unexpected_underscore', 'header name with underscore');

/**
 * The reason to refuse `req`, or undefined. With underscore headers set to 'drop' it removes them from
 * `req.headers` (what the upstream headers are built from). One pass over the raw header names.
 */
export function refuseRequest(req: DownstreamRequest, policy: EdgePolicy): Refusal | undefined {
  const url = req.url ?? '';
  if (url.length > policy.maxUriBytes) return URI_TOO_LONG;
  const raw = req.rawHeaders;
  if (raw.length > policy.maxRequestHeaders * 2) return TOO_MANY_HEADERS;
  const major = req.httpVersionMajor;
  if (major === 2) return checkHeaderNames(req, raw, policy, false);
  if (major < 1) return HTTP09;
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    if (req.httpVersionMinor === 0) return TE_ON_HTTP10;
    // llhttp has already refused codings that do not end in chunked; anything besides chunked alone is
    // a coding the gateway would have to apply and does not (RFC 9112 §6.1: 501).
    if (te.length !== 7 || te.toLowerCase() !== 'chunked') return TE_UNKNOWN;
  }
  const denied = checkHeaderNames(req, raw, policy, true);
  if (denied) return denied;
  if (url.charCodeAt(0) !== 0x2f /* / */ && url !== '*' && !authorityMatchesHost(url, req.headers.host)) return AUTHORITY_MISMATCH;
  return undefined;
}

function checkHeaderNames(req: DownstreamRequest, raw: string[], policy: EdgePolicy, http1: boolean): Refusal | undefined {
  let hosts = 0;
  let bytes = 0;
  let underscored: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    bytes += name.length + (raw[i + 1] as string).length + 4;
    if (http1 && name.length === 4 && name.toLowerCase() === 'host') hosts++;
    if (name.indexOf('_') >= 0) (underscored ??= []).push(name);
  }
  if (hosts > 1) return DUPLICATE_HOST;
  // HTTP/1 sizes are enforced by the parser; HPACK-compressed h2 headers are counted here.
  if (!http1 && bytes > policy.maxRequestHeaderBytes) return HEADERS_TOO_LARGE;
  if (underscored && policy.underscoreHeaders !== 'allow') {
    if (policy.underscoreHeaders === 'reject') return UNDERSCORE;
    for (const name of underscored) delete req.headers[name.toLowerCase()];
  }
  return undefined;
}

/** An absolute-form target (`http://a.example/x`) must name the host its Host header names (RFC 9112 §3.2.2). */
function authorityMatchesHost(url: string, host: string | undefined): boolean {
  const start = url.indexOf('://');
  if (start < 0) return false;
  let end = url.length;
  for (let i = start + 3; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  const authority = url.slice(start + 3, end);
  if (authority.indexOf('@') >= 0) return false;
  const a = normalizeHost(authority);
  return a !== undefined && a === normalizeHost(host) && portOf(authority, url) === portOf(host ?? '', url);
}

function portOf(authority: string, url: string): string {
  const start = authority.charCodeAt(0) === 0x5b ? authority.indexOf(']') + 1 : 0;
  const colon = authority.indexOf(':', start);
  if (colon >= 0) return authority.slice(colon + 1);
  return url.startsWith('https:') ? '443' : '80';
}

/** Answers a refused request and closes its HTTP/1 connection; true when refused. The request-handler hook. */
export function refusedAtEdge(ex: Exchange, req: DownstreamRequest, ctx: ListenerContext): boolean {
  const plane = ctx.plane;
  if (plane.overloaded) {
    ex.localReply(503, ResponseFlag.OVERLOAD_MANAGER, 'overload_manager', 'envoy overloaded', req.httpVersionMajor === 2 ? undefined : CLOSE);
    return true;
  }
  const policy = plane.edge;
  const socket = req.socket as unknown as Record<symbol, Refusal | undefined>;
  // Node dispatches pipelined requests before the refusal's response is written and the connection
  // closed: anything after a refused request on its connection is refused with it and never sent.
  let r = req.httpVersionMajor === 2 ? undefined : socket[kRefused];
  r ??= refuseRequest(req, policy);
  if (r === undefined) return ctx.scheme === 'https' && misdirected(ex, req, ctx);
  if (req.httpVersionMajor !== 2) socket[kRefused] = r;
  ex.localReply(r.status, r.flag, r.details, r.body, req.httpVersionMajor === 2 ? undefined : CLOSE);
  return true;
}

/**
 * 421 (RFC 9110 §15.5.20) for a request whose host another chain of this listener would have served
 * with a different certificate: the client reused a connection (h2 coalescing, or a lying SNI) for a
 * name its TLS handshake did not establish. Single-chain listeners skip the check.
 */
function misdirected(ex: Exchange, req: DownstreamRequest, ctx: ListenerContext): boolean {
  const listener = ctx.plane.current?.listeners.get(ctx.port);
  if (!listener || listener.filterChains.length < 2) return false;
  const connection = (req.socket as unknown as Record<symbol, ConnectionInfo | undefined>)[kConnection];
  const host = normalizeHost(ex.authority);
  if (!connection || host === undefined) return false;
  const forHost = selectFilterChain(listener, host);
  if (!forHost || forHost === connection.chain || forHost.tls?.secret === connection.chain.tls?.secret) return false;
  ex.localReply(421, ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR, 'misdirected_request', 'misdirected request', req.httpVersionMajor === 2 ? undefined : CLOSE);
  return true;
}


const kRefused = Symbol('gatehouse.refused');
const CLOSE = Object.freeze({ connection: 'close' });
