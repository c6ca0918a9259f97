// The hot path's view of compiled tables. The only module of routes/ that gateway/ imports.
// CONTRACT (owned by the compile/match helper; signatures fixed). No allocation-heavy work per call,
// no regex compiled here, hash lookups before any scan.
import type { IncomingHttpHeaders } from 'node:http';
import type { FilterChain, Listener, Route, RouteTable, TcpRoute, VirtualHost, WeightedCluster } from '../core/snapshot.js';

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

/** The filter chain for a TLS connection's SNI (undefined SNI: the catch-all chain, if any). */
export declare function selectFilterChain(listener: Listener, sni: string | undefined): FilterChain | undefined;

/** Exact host, then wildcard buckets longest first, then `*`. */
export declare function findVirtualHost(table: RouteTable, host: string): VirtualHost | undefined;

/** First route whose match list matches (OR of blocks, AND inside a block). */
export declare function matchRoute(vhost: VirtualHost, request: RouteRequest): Route | undefined;

/** Weighted pick; `random` in [0, 1). Destinations with weight 0 never appear in compiled actions. */
export declare function pickDestination(destinations: readonly WeightedCluster[], totalWeight: number, random: number): WeightedCluster;

/** For passthrough listeners: first TcpRoute whose sniHosts cover the SNI. */
export declare function matchTcpRoute(chain: FilterChain, sni: string | undefined): TcpRoute | undefined;
