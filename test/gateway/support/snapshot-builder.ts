// Hand-built Snapshots for data-plane tests: the same shapes control/build produces, written small.
import type {
  Cluster,
  DownstreamTls,
  FilterChain,
  HeaderOps,
  Listener,
  Route,
  RouteAction,
  RouteMatch,
  RouteTable,
  Snapshot,
  TcpRoute,
  TlsSecret,
  VirtualHost,
  WeightedCluster,
} from '../../../core/snapshot.js';

let version = 0;

export function snapshot(parts: {
  listeners: Listener[];
  routeTables?: RouteTable[];
  clusters?: Cluster[];
  secrets?: TlsSecret[];
}): Snapshot {
  version++;
  return {
    version,
    hash: `test-${version}`,
    builtAt: new Date().toISOString(),
    listeners: parts.listeners,
    routeTables: Object.fromEntries((parts.routeTables ?? []).map((t) => [t.name, t])),
    clusters: Object.fromEntries((parts.clusters ?? []).map((c) => [c.name, c])),
    secrets: Object.fromEntries((parts.secrets ?? []).map((s) => [s.name, s])),
    diagnostics: [],
  };
}

export function httpListener(port: number, routeTable: string): Listener {
  return { name: `0.0.0.0_${port}`, port, protocol: 'HTTP', filterChains: [{ name: `http.${port}`, serverNames: [], routeTable }] };
}

export function httpsListener(port: number, chains: FilterChain[]): Listener {
  return { name: `0.0.0.0_${port}`, port, protocol: 'HTTPS', filterChains: chains };
}

export function tlsChain(name: string, serverNames: string[], routeTable: string, tls: Partial<DownstreamTls>): FilterChain {
  return {
    name,
    serverNames,
    routeTable,
    tls: { mode: 'SIMPLE', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', subjectAltNames: [], alpn: ['h2', 'http/1.1'], ...tls },
  };
}

export function passthroughListener(port: number, routes: TcpRoute[]): Listener {
  return { name: `0.0.0.0_${port}`, port, protocol: 'TLS', filterChains: [{ name: `tls.${port}`, serverNames: [], tcpRoutes: routes }] };
}

export function tcpRoute(name: string, sniHosts: string[], cluster: string): TcpRoute {
  return { name, sniHosts, destinations: [{ cluster, weight: 100 }], totalWeight: 100 };
}

export function routeTable(name: string, virtualHosts: VirtualHost[]): RouteTable {
  const exactHosts: Record<string, number> = {};
  const buckets = new Map<number, Record<string, number>>();
  let catchAll = -1;
  virtualHosts.forEach((vh, i) => {
    for (const d of vh.domains) {
      if (d === '*') catchAll = i;
      else if (d.startsWith('*.')) {
        const suffix = d.slice(1);
        const b = buckets.get(suffix.length) ?? {};
        b[suffix] = i;
        buckets.set(suffix.length, b);
      } else exactHosts[d] = i;
    }
  });
  const wildcardBuckets = [...buckets.entries()].sort((a, b) => b[0] - a[0]).map(([suffixLength, suffixes]) => ({ suffixLength, suffixes }));
  return { name, virtualHosts, exactHosts, wildcardBuckets, catchAll };
}

export function vhost(domains: string[], routes: Route[], requireTls = false): VirtualHost {
  return { name: `${domains[0]}:80`, domains, requireTls, routes };
}

export function route(name: string, action: RouteAction, opts: { match?: RouteMatch[]; timeoutMs?: number; requestHeaders?: HeaderOps; responseHeaders?: HeaderOps } = {}): Route {
  return {
    name,
    virtualService: 'default/test',
    match: opts.match ?? [],
    action,
    timeoutMs: opts.timeoutMs ?? 0,
    ...(opts.requestHeaders ? { requestHeaders: opts.requestHeaders } : {}),
    ...(opts.responseHeaders ? { responseHeaders: opts.responseHeaders } : {}),
  };
}

export function prefix(value: string): RouteMatch {
  return { uri: { kind: 'prefix', value }, ignoreUriCase: false, headers: [], queryParams: [] };
}

export function forward(destinations: (string | WeightedCluster)[], rewrite?: { uri?: string; authority?: string }): RouteAction {
  const ds = destinations.map((d) => (typeof d === 'string' ? { cluster: d, weight: Math.floor(100 / destinations.length) } : d));
  return { type: 'forward', destinations: ds, totalWeight: ds.reduce((s, d) => s + d.weight, 0), ...(rewrite ? { rewrite } : {}) };
}

export function ops(o: Partial<HeaderOps>): HeaderOps {
  return { set: o.set ?? {}, add: o.add ?? {}, remove: o.remove ?? [] };
}

export function cluster(host: string, endpoints: { address?: string; port: number }[], opts: Partial<Cluster> = {}): Cluster {
  const port = opts.port ?? 80;
  return {
    name: `outbound|${port}||${host}`,
    serviceHost: host,
    port,
    discovery: 'STATIC',
    endpoints: endpoints.map((e) => ({ address: e.address ?? '127.0.0.1', port: e.port, weight: 1, labels: { app: host.split('.')[0] ?? host, version: 'v1' } })),
    loadBalancer: 'ROUND_ROBIN',
    connectTimeoutMs: 2_000,
    protocol: 'HTTP',
    ...opts,
  };
}
