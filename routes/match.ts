// The hot path's view of compiled tables. The only module of routes/ that gateway/ imports.
// CONTRACT (owned by the compile/match helper; signatures fixed). No allocation-heavy work per call,
// no regex compiled here, hash lookups before any scan.
import type { IncomingHttpHeaders } from 'node:http';
import type {
  FilterChain,
  HeaderMatch,
  Listener,
  QueryParamMatch,
  Route,
  RouteMatch,
  RouteTable,
  StringMatch,
  TcpRoute,
  VirtualHost,
  WeightedCluster,
} from '../core/snapshot.js';

/** What the router needs to know of a request. Built once per request by the data plane. */
export interface RouteRequest {
  /** Lower-cased host without port or trailing dot. */
  readonly host: string;
  /** Path without the query string, as received (already normalised by the data plane). */
  readonly path: string;
  /** Raw query string without '?', or '' when none. */
  readonly query: string;
  readonly method: string;
  /** 'http' or 'https'. */
  readonly scheme: string;
  /** The Gateway server port the request arrived on (before --port-map). */
  readonly port: number;
  /** Lower-case header names (node's req.headers). */
  readonly headers: IncomingHttpHeaders;
}

/**
 * The filter chain for a TLS connection's SNI: exact name, then the longest `*.suffix` wildcard, then a
 * chain serving `*` or no names. Without SNI only such a catch-all chain applies: Istio gives every
 * HTTPS server an SNI filter-chain match, so Envoy refuses a client that sends no SNI unless some server
 * is for `*`. Plain HTTP listeners have one chain without names, which this returns for any SNI.
 */
export function selectFilterChain(listener: Listener, sni: string | undefined): FilterChain | undefined {
  const chains = listener.filterChains;
  let catchAll: FilterChain | undefined;
  let best: FilterChain | undefined;
  let bestLength = -1;
  const name = sni ? sni.toLowerCase() : undefined;
  for (let i = 0; i < chains.length; i++) {
    const chain = chains[i] as FilterChain;
    const names = chain.serverNames;
    if (names.length === 0) {
      catchAll ??= chain;
      continue;
    }
    for (let j = 0; j < names.length; j++) {
      const n = names[j] as string;
      if (n === '*') {
        catchAll ??= chain;
      } else if (name !== undefined) {
        if (n === name) return chain;
        if (n.charCodeAt(0) === 42 /* * */ && n.length - 1 > bestLength && wildcardCovers(n, name)) {
          best = chain;
          bestLength = n.length - 1;
        }
      }
    }
  }
  return best ?? catchAll;
}

/** Exact host, then wildcard buckets longest first, then `*`. */
export function findVirtualHost(table: RouteTable, host: string): VirtualHost | undefined {
  // typeof checks: tables from other producers may have ordinary prototypes (`constructor`, `__proto__`).
  const exact = table.exactHosts[host];
  if (typeof exact === 'number') return table.virtualHosts[exact];
  const buckets = table.wildcardBuckets;
  for (let i = 0; i < buckets.length; i++) {
    const bucket = buckets[i] as (typeof buckets)[number];
    const len = bucket.suffixLength;
    // Istio wildcards are `*.suffix`: every key starts with a dot, so only slice where the host has one.
    if (host.length <= len || host.charCodeAt(host.length - len) !== 46 /* . */) continue;
    const index = bucket.suffixes[host.slice(host.length - len)];
    if (typeof index === 'number') return table.virtualHosts[index];
  }
  return table.catchAll >= 0 ? table.virtualHosts[table.catchAll] : undefined;
}

/** First route whose match list matches (OR of blocks, AND inside a block). */
export function matchRoute(vhost: VirtualHost, request: RouteRequest): Route | undefined {
  const routes = vhost.routes;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i] as Route;
    const blocks = route.match;
    if (blocks.length === 0) return route;
    for (let j = 0; j < blocks.length; j++) {
      if (matchBlock(blocks[j] as RouteMatch, request)) return route;
    }
  }
  return undefined;
}

function matchBlock(m: RouteMatch, r: RouteRequest): boolean {
  if (m.port !== undefined && m.port !== r.port) return false;
  if (m.uri !== undefined && !(m.ignoreUriCase ? matchStringIgnoreCase(m.uri, r.path) : matchString(m.uri, r.path))) return false;
  if (m.method !== undefined && !matchString(m.method, r.method)) return false;
  if (m.scheme !== undefined && !matchString(m.scheme, r.scheme)) return false;
  if (m.authority !== undefined && !matchString(m.authority, r.host)) return false;
  const headers = m.headers;
  for (let i = 0; i < headers.length; i++) {
    if (!matchHeader(headers[i] as HeaderMatch, r.headers)) return false;
  }
  const params = m.queryParams;
  for (let i = 0; i < params.length; i++) {
    if (!matchQueryParam(params[i] as QueryParamMatch, r.query)) return false;
  }
  return true;
}

export function matchString(m: StringMatch, value: string): boolean {
  switch (m.kind) {
    case 'exact':
      return value === m.value;
    case 'prefix':
      return value.startsWith(m.value);
    case 'regex':
      return m.re.test(value);
  }
}

/** Compile lower-cases exact/prefix values when ignoreUriCase is set; regexes keep their own flags. */
function matchStringIgnoreCase(m: StringMatch, value: string): boolean {
  switch (m.kind) {
    case 'exact':
      return value.length === m.value.length && startsWithIgnoreCase(value, m.value);
    case 'prefix':
      return value.length >= m.value.length && startsWithIgnoreCase(value, m.value);
    case 'regex':
      return m.re.test(value);
  }
}

/** ASCII case-insensitive prefix test against an already lower-cased prefix, without allocating. */
function startsWithIgnoreCase(value: string, lowerPrefix: string): boolean {
  for (let i = 0; i < lowerPrefix.length; i++) {
    let c = value.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lowerPrefix.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Presence (`{name}`), value match (`{name, match}`), absence (`{name, absent}`), and Istio's
 * withoutHeaders with a value (`{name, match, absent}`): absent, or present with a value that does not
 * match, a missing header counting as the empty string (Envoy's treat_missing_header_as_empty).
 */
function matchHeader(h: HeaderMatch, headers: IncomingHttpHeaders): boolean {
  const raw = headers[h.name];
  const value = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw[0] : undefined;
  if (h.absent) {
    if (h.match === undefined) return value === undefined;
    return !matchString(h.match, value ?? '');
  }
  if (value === undefined) return false;
  return h.match === undefined || matchString(h.match, value);
}

/** The first `name=value` pair of the raw query string (values compared as sent, like Envoy). */
function matchQueryParam(q: QueryParamMatch, query: string): boolean {
  if (query.length === 0) return false;
  const name = q.name;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    const eq = query.indexOf('=', start);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (keyEnd - start === name.length && query.startsWith(name, start)) {
      if (q.match === undefined) return true;
      const value = keyEnd < end ? query.slice(keyEnd + 1, end) : '';
      return matchString(q.match, value);
    }
    start = end + 1;
  }
  return false;
}

/** Weighted pick; `random` in [0, 1). Destinations with weight 0 never appear in compiled actions. */
export function pickDestination(destinations: readonly WeightedCluster[], totalWeight: number, random: number): WeightedCluster {
  const n = destinations.length;
  if (n === 1 || totalWeight <= 0) return destinations[0] as WeightedCluster;
  let point = random * totalWeight;
  for (let i = 0; i < n; i++) {
    const d = destinations[i] as WeightedCluster;
    if (point < d.weight) return d;
    point -= d.weight;
  }
  return destinations[n - 1] as WeightedCluster;
}

/** For passthrough listeners: first TcpRoute whose sniHosts cover the SNI. */
export function matchTcpRoute(chain: FilterChain, sni: string | undefined): TcpRoute | undefined {
  const routes = chain.tcpRoutes;
  if (!routes) return undefined;
  const name = sni ? sni.toLowerCase() : undefined;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i] as TcpRoute;
    const hosts = route.sniHosts;
    if (hosts.length === 0) return route;
    if (name === undefined) continue;
    for (let j = 0; j < hosts.length; j++) {
      const h = hosts[j] as string;
      if (h === '*' || h === name) return route;
      if (h.charCodeAt(0) === 42 && wildcardCovers(h, name)) return route;
    }
  }
  return undefined;
}

/** `*.example.com` covers `a.example.com` (strictly longer, same suffix), compared without allocating. */
function wildcardCovers(pattern: string, name: string): boolean {
  const suffixLength = pattern.length - 1;
  if (name.length <= suffixLength) return false;
  const offset = name.length - suffixLength;
  for (let i = 0; i < suffixLength; i++) {
    if (name.charCodeAt(offset + i) !== pattern.charCodeAt(i + 1)) return false;
  }
  return true;
}
