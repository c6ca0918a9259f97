// The edge's protective limits and header policy, fixed for the life of a data plane. The defaults are
// Envoy's edge recommendations (docs "Configuring Envoy as an edge proxy") where Envoy has one, else
// the nginx/Node values users already know; every one of them is a `gatehouse serve` flag.

/** What happens to a request header whose name contains an underscore (Envoy: headers_with_underscores_action). */
export type UnderscoreHeaderAction = 'reject' | 'drop' | 'allow';

/** Istio's meshConfig.pathNormalization values. */
export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

export interface EdgePolicy {
  /** Bytes of request line plus headers before 431 (Envoy max_request_headers_kb: 60). */
  readonly maxRequestHeaderBytes: number;
  /** Request header fields before 431 (Envoy max_headers_count: 100). */
  readonly maxRequestHeaders: number;
  /** Request target length before 414 (nginx large_client_header_buffers: 8 KiB; Envoy has no separate cap). */
  readonly maxUriBytes: number;
  /** Time a client may take to send the request line and headers (Envoy request_headers_timeout 10 s). */
  readonly headersTimeoutMs: number;
  /** Time from the first byte to the end of the request body (Node requestTimeout; 0 disables). */
  readonly requestTimeoutMs: number;
  /**
   * Time from accepting a TLS connection to the end of its handshake (node's handshakeTimeout, 120 s;
   * nginx's ssl_handshake_timeout is 60 s). Counted from the accept, not from the last byte.
   */
  readonly tlsHandshakeTimeoutMs: number;
  /** Keep-alive idle time between requests on a client connection (Envoy idle_timeout is 1 h; nginx 75 s). */
  readonly idleTimeoutMs: number;
  /** Open client connections per listener; further ones are closed on accept. */
  readonly maxConnectionsPerListener: number;
  /** Open client connections across all listeners. */
  readonly maxConnections: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS (Envoy edge: 100). */
  readonly maxConcurrentStreams: number;
  /** Client-reset h2 streams per session per second before the session is closed (CVE-2023-44487). */
  readonly maxStreamResetsPerSecond: number;
  readonly underscoreHeaders: UnderscoreHeaderAction;
  /** Proxies in front of the gateway whose X-Forwarded-For entries are trusted (Istio numTrustedProxies). */
  readonly trustedHops: number;
  readonly pathNormalization: PathNormalization;
  /** Used heap / heap limit at which the overload guard stops accepting work. */
  readonly overloadHeapRatio: number;
  /** Event-loop delay at which the overload guard stops accepting work. */
  readonly overloadEventLoopLagMs: number;
  /**
   * Strict-Transport-Security value added to responses on TLS-terminating listeners that carry none
   * (RFC 6797: never over plain HTTP). Undefined: not added.
   */
  readonly hsts?: string;
}

export const DEFAULT_EDGE_POLICY: EdgePolicy = Object.freeze({
  maxRequestHeaderBytes: 60 * 1024,
  maxRequestHeaders: 100,
  maxUriBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 60_000,
  tlsHandshakeTimeoutMs: 120_000,
  maxConnectionsPerListener: 10_000,
  maxConnections: 20_000,
  maxConcurrentStreams: 100,
  maxStreamResetsPerSecond: 200,
  underscoreHeaders: 'reject',
  trustedHops: 0,
  pathNormalization: 'BASE',
  overloadHeapRatio: 0.95,
  overloadEventLoopLagMs: 1000,
});

export function edgePolicy(overrides: Partial<EdgePolicy> | undefined): EdgePolicy {
  return Object.freeze({ ...DEFAULT_EDGE_POLICY, ...overrides });
}
