// Header handling at the edge: upstream request headers are built, not copied, and responses lose
// their hop-by-hop headers before header operations apply.
import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderOps } from '../../core/snapshot.js';
import { checkHeaderField } from '../http1/response.js';

/** Connection-scoped headers (RFC 9110 §7.6.1) plus the ones HTTP/2 forbids; never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'http2-settings',
  // Expect: 100-continue is answered by this hop (node does it); undici refuses to send it.
  'expect',
]);

/**
 * Claims about the client or the path a request took that only the gateway may make; whatever the
 * client sent is dropped (X-Forwarded-For and -Proto are rebuilt below, not dropped).
 */
const EDGE_ASSERTED = new Set([
  'x-forwarded-client-cert',
  'forwarded',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  // Credentials for a proxy are this hop's business, never the upstream's.
  'proxy-authorization',
]);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/** Header names listed in a Connection header value, lower-cased; undefined when none. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  // The common cases name no other headers: skip the split.
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  let tokens: Set<string> | undefined;
  for (const raw of text.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t && t !== 'close' && t !== 'keep-alive') (tokens ??= new Set()).add(t);
  }
  return tokens;
}

export interface ForwardFacts {
  readonly clientIp: string;
  /** x-forwarded-client-cert for a verified client certificate on this connection, else undefined. */
  readonly clientCert: string | undefined;
  readonly scheme: string;
  readonly requestId: string;
  /** Host header to send upstream (rewritten authority or the original). */
  readonly authority: string;
  /**
   * Proxies in front of the gateway whose X-Forwarded-For entries are trusted (Envoy
   * xff_num_trusted_hops). 0: the peer is the client. Default 0.
   */
  readonly trustedHops?: number;
}

/**
 * The headers sent upstream, as a flat `[name, value, …]` list (undici takes it without the key walk an
 * object costs): client headers minus hop-by-hop and pseudo-headers, plus the edge's own headers.
 */
export function buildUpstreamHeaders(incoming: IncomingHttpHeaders, facts: ForwardFacts): HeaderList {
  const named = connectionTokens(incoming.connection);
  // Host first, as RFC 9112 asks of a client.
  const out: HeaderList = ['host', facts.authority];
  for (const name in incoming) {
    if (name.charCodeAt(0) === 0x3a /* ':' pseudo-header */ || HOP_BY_HOP.has(name)) continue;
    // At the edge, Envoy's and Gatehouse's own control headers from outside are not trusted.
    if (EDGE_ASSERTED.has(name) || name.startsWith('x-envoy-') || name.startsWith('x-gatehouse-')) continue;
    // Rebuilt below.
    if (name === 'host' || name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'x-request-id') continue;
    if (named?.has(name)) continue;
    const value = incoming[name];
    if (typeof value === 'string') out.push(name, value);
    else if (value !== undefined) for (const v of value) out.push(name, v);
  }
  // As Envoy with use_remote_address: the peer is appended; the client's own entries stay for the
  // record but are believed only as far as trustedHops reaches.
  const xff = incoming['x-forwarded-for'];
  const prior = xff ? (Array.isArray(xff) ? xff.join(', ') : xff) : undefined;
  const hops = facts.trustedHops ?? 0;
  out.push(
    'x-forwarded-for',
    prior ? `${prior}, ${facts.clientIp}` : facts.clientIp,
    'x-forwarded-proto',
    facts.scheme,
    'x-envoy-external-address',
    hops > 0 && prior ? trustedClientAddress(prior, hops) ?? facts.clientIp : facts.clientIp,
    'x-request-id',
    facts.requestId,
  );
  // TE is hop-by-hop, but `trailers` states what the client accepts end to end (gRPC requires it).
  const te = incoming.te;
  if (typeof te === 'string' && te.toLowerCase().includes('trailers')) out.push('te', 'trailers');
  if (facts.clientCert !== undefined) out.push('x-forwarded-client-cert', facts.clientCert);
  return out;
}

/** The `hops`-th address from the right of a client's X-Forwarded-For (Envoy's trusted client address). */
function trustedClientAddress(xff: string, hops: number): string | undefined {
  const entries = xff.split(',');
  const entry = entries[entries.length - hops]?.trim();
  return entry ? entry : undefined;
}

/** Applies set/add/remove to a header object in place (names are lower-case in both). */
export function applyHeaderOps(headers: Record<string, string | string[] | number | undefined>, ops: HeaderOps | undefined): void {
  if (!ops) return;
  for (const name in ops.set) headers[name] = ops.set[name];
  for (const name in ops.add) {
    const value = ops.add[name] as string;
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) headers[name] = [...existing, value];
    else headers[name] = [String(existing), value];
  }
  for (const name of ops.remove) delete headers[name];
}

/** A header list: `[name, value, name, value, …]`, names lower-case (the upstream request's). */
export type HeaderList = string[];

/**
 * A response header list, as HeaderList, whose values are strings (the gateway's own) or the upstream's
 * raw bytes: Gatehouse's HTTP/1 response copies those bytes into its head as they came, so a value is
 * made a string only where something reads it (listValue, HTTP/2, node's own server).
 */
export type ResponseHeaderList = (string | Buffer)[];

/**
 * Upstream raw response headers (name/value Buffer pairs) → the downstream list: hop-by-hop headers
 * and those the upstream's Connection header names are removed, and `server` and
 * `x-envoy-upstream-service-time` are left out because the gateway sets its own (as Envoy does).
 */
export function responseHeaderList(raw: readonly Buffer[]): ResponseHeaderList {
  const out: ResponseHeaderList = [];
  let named: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = responseHeaderName(raw[i] as Buffer);
    if (name === 'connection') {
      named = connectionTokens((raw[i + 1] as Buffer).toString('latin1'));
      continue;
    }
    if (HOP_BY_HOP.has(name) || name.charCodeAt(0) === 0x3a || name === 'server' || name === 'x-envoy-upstream-service-time') continue;
    out.push(name, raw[i + 1] as Buffer);
  }
  if (named) for (const name of named) removeFromList(out, name);
  return out;
}

/**
 * The response header names upstreams send most, by length. A name off the wire that is one of these
 * (ASCII letters in any case) is matched byte by byte and given as the lower-case string here, which
 * costs less than making a string of its bytes and lower-casing that; any other name is converted.
 */
const COMMON_RESPONSE_HEADERS = [
  'accept-ranges', 'access-control-allow-origin', 'age', 'cache-control', 'connection', 'content-encoding', 'content-length',
  'content-security-policy', 'content-type', 'date', 'etag', 'expires', 'grpc-message', 'grpc-status', 'keep-alive', 'last-modified',
  'location', 'pragma', 'proxy-connection', 'server', 'set-cookie', 'strict-transport-security', 'te', 'trailer', 'transfer-encoding',
  'upgrade', 'vary', 'x-content-type-options', 'x-envoy-upstream-service-time', 'x-frame-options', 'x-powered-by', 'x-request-id',
];

interface CommonName {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const COMMON_BY_LENGTH: (readonly CommonName[] | undefined)[] = [];
for (const name of COMMON_RESPONSE_HEADERS) {
  (COMMON_BY_LENGTH[name.length] ??= []);
  (COMMON_BY_LENGTH[name.length] as CommonName[]).push({ name, bytes: Buffer.from(name, 'latin1') });
}

export function responseHeaderName(raw: Buffer): string {
  const candidates = COMMON_BY_LENGTH[raw.length];
  if (candidates !== undefined) {
    for (let c = 0; c < candidates.length; c++) {
      const common = candidates[c] as CommonName;
      const bytes = common.bytes;
      let i = 0;
      for (; i < bytes.length; i++) {
        let b = raw[i] as number;
        if (b >= 0x41 && b <= 0x5a) b |= 0x20;
        if (b !== bytes[i]) break;
      }
      if (i === bytes.length) return common.name;
    }
  }
  return raw.toString('latin1').toLowerCase();
}

/** The first value of `name` in a list, or undefined. */
export function listValue(list: readonly (string | Buffer)[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === name) {
      const value = list[i + 1] as string | Buffer;
      return typeof value === 'string' ? value : value.toString('latin1');
    }
  }
  return undefined;
}

/** A response list with every value a string, for node's own response objects. */
export function listWithStrings(list: ResponseHeaderList): HeaderList {
  const out: HeaderList = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as string | Buffer;
    out[i] = typeof item === 'string' ? item : item.toString('latin1');
  }
  return out;
}

function removeFromList(list: (string | Buffer)[], name: string): void {
  for (let i = list.length - 2; i >= 0; i -= 2) if (list[i] === name) list.splice(i, 2);
}

/** applyHeaderOps for a header list: set replaces every value, add appends, remove drops every value. */
export function applyHeaderOpsToList(list: (string | Buffer)[], ops: HeaderOps | undefined): void {
  if (!ops) return;
  for (const name in ops.set) {
    removeFromList(list, name);
    list.push(name, ops.set[name] as string);
  }
  for (const name in ops.add) list.push(name, ops.add[name] as string);
  for (const name of ops.remove) removeFromList(list, name);
}

/**
 * Throws for a header operation an HTTP/1 response could not carry. Config validation refuses them
 * (routes/validate/common.ts), so this never fires for a snapshot built from manifests; it keeps any
 * other snapshot from splitting a response. Only routes that set headers pay for it.
 */
export function checkHeaderOps(ops: HeaderOps | undefined): void {
  if (!ops) return;
  for (const name in ops.set) checkHeaderField(name, ops.set[name] as string);
  for (const name in ops.add) checkHeaderField(name, ops.add[name] as string);
}

/** A list as a header object (repeated names become arrays), for the HTTP/2 compatibility API. */
export function headerListToObject(list: ResponseHeaderList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i] as string;
    const raw = list[i + 1] as string | Buffer;
    const value = typeof raw === 'string' ? raw : raw.toString('latin1');
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  }
  return out;
}

/** Strict-Transport-Security from the edge policy, on TLS listeners only, unless the response has one. */
export function addHsts(headers: Record<string, unknown>, hsts: string | undefined): void {
  if (hsts !== undefined && headers['strict-transport-security'] === undefined) headers['strict-transport-security'] = hsts;
}

/** addHsts for a response header list. */
export function addHstsToList(list: ResponseHeaderList, hsts: string | undefined): void {
  if (hsts !== undefined && listValue(list, 'strict-transport-security') === undefined) list.push('strict-transport-security', hsts);
}
