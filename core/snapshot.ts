// The Snapshot: everything the data plane needs to serve, compiled once by the control plane.
//
// Contract:
// - Built only by control/build (via routes/compile), then deep-frozen. The data plane reads it, never
//   writes it. Swapping configurations is one assignment of a new Snapshot.
// - Plain data: JSON-dumpable for /config_dump (see dumpSnapshot), golden-testable. The only non-JSON
//   values are precompiled RegExps (dumped as their source) and private keys (dumped redacted).
// - Names follow Envoy (Listener, FilterChain, RouteTable, VirtualHost, Route, Cluster, Endpoint);
//   cluster names follow Istio: `outbound|<port>|<subset>|<fqdn>`.
// - Routes name clusters; a cluster missing from `clusters` is a 503 NC at request time, not a crash.
import type { Diagnostic } from './diagnostics.js';

export interface Snapshot {
  /** Generation number, increasing by one per published snapshot in this process. */
  readonly version: number;
  /** Hash of the normalised input resources; equal hashes mean identical config. */
  readonly hash: string;
  /** ISO time of the build. */
  readonly builtAt: string;
  /** One per distinct Gateway server port, sorted by port. */
  readonly listeners: readonly Listener[];
  readonly routeTables: Readonly<Record<string, RouteTable>>;
  readonly clusters: Readonly<Record<string, Cluster>>;
  /** TLS material by `namespace/name` of the Secret it came from. */
  readonly secrets: Readonly<Record<string, TlsSecret>>;
  /** Warnings that did not block this snapshot. */
  readonly diagnostics: readonly Diagnostic[];
}

// ---------------------------------------------------------------------------------------------------
// Listeners

export type ListenerProtocol = 'HTTP' | 'HTTPS' | 'TLS';

export interface Listener {
  /** `0.0.0.0_<port>`, as Envoy names gateway listeners. */
  readonly name: string;
  /** The Gateway server port number, before any --port-map. */
  readonly port: number;
  /** HTTP: plaintext; HTTPS: TLS terminated here; TLS: passthrough by SNI (no termination). */
  readonly protocol: ListenerProtocol;
  /**
   * Chosen per connection. Plain HTTP listeners have exactly one chain with no `serverNames` and no
   * `tls`. TLS listeners choose by SNI: exact name first, then the longest matching `*.suffix`, then a
   * chain with `*`/no names; no match refuses the handshake.
   */
  readonly filterChains: readonly FilterChain[];
}

export interface FilterChain {
  /** Stable name for logs and metrics, e.g. `https.443.https-a.gw-a.istio-system`. */
  readonly name: string;
  /** SNI names this chain serves: exact names, `*.suffix` wildcards, or `*`. Empty means any. */
  readonly serverNames: readonly string[];
  /** Present when the chain terminates TLS. */
  readonly tls?: DownstreamTls;
  /** The HTTP route table for requests arriving on this chain (HTTP and HTTPS listeners). */
  readonly routeTable?: string;
  /** Passthrough routes, for TLS (passthrough) listeners: SNI → cluster. First match wins. */
  readonly tcpRoutes?: readonly TcpRoute[];
}

export type DownstreamTlsMode = 'SIMPLE' | 'MUTUAL' | 'OPTIONAL_MUTUAL';
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface DownstreamTls {
  readonly mode: DownstreamTlsMode;
  /**
   * Key into Snapshot.secrets of the server certificate. Undefined when the Secret is missing or
   * invalid: the handshake for this chain is then refused (what Istio's gateway does), and a
   * diagnostic explains why.
   */
  readonly secret?: string;
  /** Key into Snapshot.secrets whose `ca` validates client certificates (MUTUAL, OPTIONAL_MUTUAL). */
  readonly clientCaSecret?: string;
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  /** OpenSSL cipher list for TLS 1.2, when the Gateway sets cipherSuites. */
  readonly cipherSuites?: readonly string[];
  /** Client certificate SANs accepted (MUTUAL); empty accepts any certificate the CA signed. */
  readonly subjectAltNames: readonly string[];
  /**
   * Client certificate pins (Gateway verifyCertificateSpki / verifyCertificateHash), normalised at compile
   * time: base64 SHA-256 of the SubjectPublicKeyInfo, and lower-case hex SHA-256 of the DER certificate
   * without colons. When either list is non-empty a presented certificate must match an entry of either.
   */
  readonly verifyCertificateSpki?: readonly string[];
  readonly verifyCertificateHash?: readonly string[];
  /** ALPN protocols offered, in preference order. */
  readonly alpn: readonly string[];
}

export interface TcpRoute {
  readonly name: string;
  /** SNI names matched (exact or `*.suffix`); empty matches any. */
  readonly sniHosts: readonly string[];
  readonly destinations: readonly WeightedCluster[];
  readonly totalWeight: number;
}

// ---------------------------------------------------------------------------------------------------
// Route tables: host lookup by hash, then first-match routes

export interface RouteTable {
  /** Istio's route config name, e.g. `http.80` or `https.443.https.gw.istio-system`. */
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
  /** Lower-case exact host (no port) → index into virtualHosts. */
  readonly exactHosts: Readonly<Record<string, number>>;
  /**
   * `*.suffix` hosts bucketed by suffix length, longest first. A host matches a bucket when it is longer
   * than the suffix and ends with it (suffix includes the leading dot, e.g. `.example.com`).
   */
  readonly wildcardBuckets: readonly WildcardBucket[];
  /** Index of the `*` virtual host, or -1. */
  readonly catchAll: number;
}

export interface WildcardBucket {
  readonly suffixLength: number;
  /** Lower-case suffix with its leading dot → index into virtualHosts. */
  readonly suffixes: Readonly<Record<string, number>>;
}

export interface VirtualHost {
  /** `<host>:<port>` as Istio names gateway vhosts. */
  readonly name: string;
  readonly domains: readonly string[];
  /** Requests arriving without TLS are redirected to https (Gateway httpsRedirect). */
  readonly requireTls: boolean;
  readonly routes: readonly Route[];
}

export interface Route {
  /** The VirtualService route `name` when given, else `<vs namespace>.<vs name>.<index>`. */
  readonly name: string;
  /** The VirtualService this route came from, as `namespace/name`; empty for generated routes. */
  readonly virtualService: string;
  /** OR across entries; an empty list matches every request. */
  readonly match: readonly RouteMatch[];
  readonly action: RouteAction;
  /** Header operations on the request forwarded upstream. */
  readonly requestHeaders?: HeaderOps;
  /** Header operations on the response returned downstream. */
  readonly responseHeaders?: HeaderOps;
  /** Route timeout in ms; 0 means none (Istio's default for HTTP routes). */
  readonly timeoutMs: number;
  /**
   * Time allowed to receive the whole request body, in ms, from the VirtualService annotation
   * `gatehouse.io/request-body-timeout`; absent means none beyond the edge's --request-timeout.
   */
  readonly requestBodyTimeoutMs?: number;
}

export type StringMatch =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  /** Full anchored match (RE2 semantics as far as JS allows); `re` is compiled once at build time. */
  | { readonly kind: 'regex'; readonly value: string; readonly re: RegExp };

export interface HeaderMatch {
  /** Lower-case header name. Pseudo-names `:authority`, `:method`, `:scheme`, `:path` are not used here. */
  readonly name: string;
  /** Present: the header must exist; with `match`, its value must match. */
  readonly match?: StringMatch;
  /** When true the header must be absent (Istio's withoutHeaders, or `headers.x: {}` presence false). */
  readonly absent?: boolean;
}

export interface QueryParamMatch {
  readonly name: string;
  /** Only exact and regex are allowed by Istio for query params; undefined means presence only. */
  readonly match?: StringMatch;
}

export interface RouteMatch {
  /** Matched against the path without the query string. */
  readonly uri?: StringMatch;
  readonly ignoreUriCase: boolean;
  readonly scheme?: StringMatch;
  readonly method?: StringMatch;
  /** Matched against the Host/:authority with its port stripped, lower-cased. */
  readonly authority?: StringMatch;
  readonly headers: readonly HeaderMatch[];
  readonly queryParams: readonly QueryParamMatch[];
  /** The listener port (Gateway server port) the request arrived on. */
  readonly port?: number;
}

export type RouteAction = ForwardAction | RedirectAction | DirectResponseAction;

export interface ForwardAction {
  readonly type: 'forward';
  /** Weighted destinations; entries with weight 0 are dropped at compile time. */
  readonly destinations: readonly WeightedCluster[];
  readonly totalWeight: number;
  readonly rewrite?: {
    /** Replaces the matched prefix (prefix match) or the whole path (other matches). */
    readonly uri?: string;
    readonly authority?: string;
  };
}

export interface WeightedCluster {
  /** Cluster name: `outbound|<port>|<subset>|<fqdn>`. */
  readonly cluster: string;
  readonly weight: number;
  readonly requestHeaders?: HeaderOps;
  readonly responseHeaders?: HeaderOps;
}

export interface RedirectAction {
  readonly type: 'redirect';
  /** Replaces the whole path when set. */
  readonly uri?: string;
  readonly authority?: string;
  readonly scheme?: string;
  /** Port for the Location; 'FROM_PROTOCOL_DEFAULT' and 'FROM_REQUEST_PORT' as Istio's derivePort. */
  readonly port?: number | 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  readonly code: number;
}

export interface DirectResponseAction {
  readonly type: 'direct';
  readonly status: number;
  readonly body?: string;
}

export interface HeaderOps {
  /** Lower-case name → value; replaces any existing value. */
  readonly set: Readonly<Record<string, string>>;
  /** Lower-case name → value; appended to existing values. */
  readonly add: Readonly<Record<string, string>>;
  /** Lower-case names. */
  readonly remove: readonly string[];
}

// ---------------------------------------------------------------------------------------------------
// Clusters and endpoints

export type LoadBalancerPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH';

export interface Cluster {
  /** `outbound|<port>|<subset>|<fqdn>`. */
  readonly name: string;
  /** FQDN of the service, e.g. `reviews.default.svc.cluster.local`. */
  readonly serviceHost: string;
  readonly port: number;
  readonly subset?: string;
  /** STATIC: fixed endpoints; DNS: endpoints are host names, resolved by the data plane with TTL. */
  readonly discovery: 'STATIC' | 'DNS';
  readonly endpoints: readonly Endpoint[];
  readonly loadBalancer: LoadBalancerPolicy;
  readonly connectTimeoutMs: number;
  /** Present when the gateway originates TLS to the upstream (DestinationRule trafficPolicy.tls). */
  readonly tls?: UpstreamTls;
  /** Upstream protocol; HTTP2/GRPC use h2 to the upstream. */
  readonly protocol: 'HTTP' | 'HTTP2';
}

export interface Endpoint {
  /** IP address (STATIC) or host name (DNS). */
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Auto mTLS decided per endpoint (Istio's transport socket match): this endpoint is reached in plaintext
   * although the cluster has `tls`. Absent: the endpoint uses the cluster's `tls`, if any.
   */
  readonly plaintext?: boolean;
}

export type UpstreamTlsMode = 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

export interface UpstreamTls {
  readonly mode: UpstreamTlsMode;
  readonly sni?: string;
  /** Key into Snapshot.secrets for the CA (`ca`) and, for MUTUAL, the client certificate. */
  readonly secret?: string;
  /** Inline CA PEM (caCertificates given as a file the control plane read). */
  readonly caPem?: string;
  /** Inline CRL PEM (DestinationRule caCrl, a file the control plane read): revoked peers are refused. */
  readonly crlPem?: string;
  /**
   * Set when TLS material this cluster needs could not be loaded (a missing or broken file): every
   * connection attempt fails at once (503 UF), as Envoy fails handshakes on a bad SDS secret, instead of
   * falling back to weaker trust. The text says why.
   */
  readonly unavailable?: string;
  readonly subjectAltNames: readonly string[];
  readonly insecureSkipVerify: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Secrets

export interface TlsSecret {
  /** `namespace/name` of the Kubernetes Secret. */
  readonly name: string;
  /** PEM certificate chain (leaf first), when the Secret holds one. */
  readonly certPem?: string;
  /** PEM private key. Never dumped: see dumpSnapshot. */
  readonly keyPem?: string;
  /** PEM CA bundle for verifying peers (ca.crt / cacert), when present. */
  readonly caPem?: string;
  /** Leaf certificate facts, for /certs and expiry metrics. */
  readonly notAfter?: string;
  readonly subjectAltNames?: readonly string[];
  /** Base64 DER OCSP response (the Secret's `tls.ocsp-staple`), checked at compile time; stapled when asked. */
  readonly ocspStaple?: string;
}

// ---------------------------------------------------------------------------------------------------

/** JSON for /config_dump and goldens: RegExps as their source, private keys redacted. */
export function dumpSnapshot(snapshot: unknown, space: number = 2): string {
  return JSON.stringify(
    snapshot,
    (key, value) => {
      if (value instanceof RegExp) return value.source;
      if (key === 'keyPem' && typeof value === 'string') return '[redacted]';
      return value;
    },
    space,
  );
}
