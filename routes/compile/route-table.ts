// Route tables as Istio's buildGatewayHTTPRouteConfig builds them: for every server sharing the table
// name, every VirtualService bound to the server's Gateway contributes its routes to one virtual host per
// host the server and the VirtualService have in common; hosts merge across VirtualServices and Gateways
// (routes appended in VirtualService age order, catch-alls moved last); httpsRedirect marks vhosts.
import type { Route, RouteTable, VirtualHost, WildcardBucket } from '../../core/snapshot.js';
import type { ClusterBuilder } from './clusters.js';
import { deltaRouteTable } from './route-delta.js';
import type { Contribution, DeltaRecorder, RouteDiagnostics } from './route-delta.js';
import type { CompileContext } from './context.js';
import { intersectHosts } from './hosts.js';
import { buildHttpRoutes, isCatchAllRoute } from './http-routes.js';
import { hostsFor } from './servers.js';
import type { GatewayServer } from './servers.js';
import type { VirtualServiceIndex } from './virtual-services.js';
import type { VirtualServiceResource } from '../model/index.js';
import type { Located } from '../model/resource.js';

interface VirtualHostDraft {
  readonly host: string;
  /** Shared with the VirtualService's route list until a second one contributes (then copied). */
  routes: readonly Route[];
  owned: boolean;
  requireTls: boolean;
}

export function buildRouteTable(
  ctx: CompileContext,
  name: string,
  servers: readonly GatewayServer[],
  virtualServices: VirtualServiceIndex,
  clusters: ClusterBuilder,
): RouteTable {
  const recorder = ctx.routeMemo?.recorder;
  if (recorder?.delta) return deltaRouteTable(ctx, name, servers, ctx.routeMemo as NonNullable<typeof ctx.routeMemo>, recorder, clusters);
  const port = servers[0]?.port ?? 0;
  // What a later delta compile starts from (route-delta.ts): per host, who contributed, in merge order.
  const g0 = recorder ? recorder.nextServers(servers.length) : 0;
  const draft: TableDraft = {
    virtualHosts: new Map(),
    // Istio builds a VirtualService's routes once per Gateway within a route table.
    routeCache: new Map(),
    contributions: recorder ? new Map() : undefined,
    routeDiagnostics: [],
  };
  // The loops over every VirtualService and every host each sit in a function of their own: run once per
  // build, they are compiled while they run (on-stack replacement), and a compile of one long function
  // covering all of them was thrown away at each loop's end (code after the loop had never run) and
  // redone, three compiles per cold build at scale.
  for (let i = 0; i < servers.length; i++) addServer(ctx, draft, servers[i] as GatewayServer, g0 + i, virtualServices, clusters, recorder);
  const hosts = [...draft.virtualHosts.keys()].sort();
  const virtualHosts = virtualHostsOf(ctx, name, port, draft.virtualHosts, hosts);
  const table = indexVirtualHosts(name, virtualHosts);
  ctx.routeMemo?.recordTable(table);
  const contributions = draft.contributions;
  if (recorder && contributions) {
    // Hosts only a redirect server names have no contributions, but are virtual hosts all the same.
    for (let k = 0; k < hosts.length; k++) if (!contributions.has(hosts[k] as string)) contributions.set(hosts[k] as string, []);
    recorder.tables.set(name, { contributions, diagnostics: draft.routeDiagnostics, hosts, table });
  }
  return table;
}

/** A route table while its servers are added: virtual hosts by host, and what a delta compile needs. */
interface TableDraft {
  readonly virtualHosts: Map<string, VirtualHostDraft>;
  readonly routeCache: Map<string, Map<object, Route[]>>;
  readonly contributions: Map<string, Contribution[]> | undefined;
  readonly routeDiagnostics: RouteDiagnostics[];
}

/** Server `g` (numbered across the compile): every VirtualService bound to its Gateway, host by host. */
function addServer(
  ctx: CompileContext,
  t: TableDraft,
  server: GatewayServer,
  g: number,
  virtualServices: VirtualServiceIndex,
  clusters: ClusterBuilder,
  recorder: DeltaRecorder | undefined,
): void {
  const drafts = t.virtualHosts;
  const contributions = t.contributions;
  const isTls = server.kind === 'HTTPS';
  // Envoy's require_tls only redirects requests that did not arrive over TLS; on a terminating server
  // it never fires, so it is only recorded for plaintext servers.
  const redirect = !isTls && server.server.tls?.httpsRedirect === true;
  const scope = { port: server.port, gateway: server.gatewayKey, isTls };
  const scopeKey = `${server.gatewayKey}|${server.port}|${isTls ? 's' : 'p'}`;
  // Indexed loops here and below: a cold build runs this loop over every VirtualService before it is
  // optimized, and for-of in unoptimized code allocates an iterator result per element.
  const bound = virtualServices.forGateway(server.gatewayKey);
  for (let b = 0; b < bound.length; b++) {
    const vs = bound[b] as Located<VirtualServiceResource>;
    const ns = vs.object.metadata.namespace;
    const hosts = intersectHosts(hostsFor(server, ns), virtualServices.hosts(vs));
    if (hosts.length === 0) continue;
    let routes: readonly Route[] | undefined;
    if (ctx.routeMemo) {
      // The memo also builds each VirtualService once per scope within a compile.
      const before = ctx.diagnostics.length;
      const { entry, made } = ctx.routeMemo.routeEntry(ctx, vs, scope, scopeKey, clusters);
      routes = entry.routes;
      if (recorder) {
        if (made) recorder.made(entry, g);
        if (ctx.diagnostics.length > before) t.routeDiagnostics.push({ g, vs: vs.object, list: ctx.diagnostics.slice(before) });
      }
    } else {
      let byVs = t.routeCache.get(server.gatewayKey);
      if (!byVs) t.routeCache.set(server.gatewayKey, (byVs = new Map()));
      routes = byVs.get(vs);
      if (!routes) {
        routes = buildHttpRoutes(ctx, vs, scope, clusters);
        byVs.set(vs, routes as Route[]);
      }
    }
    // Istio omits VirtualServices that yield no route here, so they create no virtual host either.
    if (routes.length === 0) continue;
    virtualServices.markUsed(vs);
    for (let k = 0; k < hosts.length; k++) {
      const host = hosts[k] as string;
      if (contributions) {
        const c: Contribution = { g, vs: vs.object, routes };
        const list = contributions.get(host);
        if (list) list.push(c);
        else contributions.set(host, [c]);
      }
      const draft = drafts.get(host);
      if (draft) {
        if (!draft.owned) {
          draft.routes = draft.routes.slice();
          draft.owned = true;
        }
        for (let r = 0; r < routes.length; r++) (draft.routes as Route[]).push(routes[r] as Route);
        if (redirect) draft.requireTls = true;
      } else {
        drafts.set(host, { host, routes, owned: false, requireTls: redirect });
      }
    }
  }
  if (redirect) {
    for (const h of server.hosts) {
      const draft = drafts.get(h.host);
      if (draft) draft.requireTls = true;
      else drafts.set(h.host, { host: h.host, routes: [], owned: true, requireTls: true });
    }
  }
}

/** The table's virtual hosts, one per host (sorted), or the blackhole when no host has one. */
function virtualHostsOf(ctx: CompileContext, name: string, port: number, drafts: ReadonlyMap<string, VirtualHostDraft>, hosts: readonly string[]): VirtualHost[] {
  const virtualHosts: VirtualHost[] = [];
  if (drafts.size === 0) {
    virtualHosts.push({ name: `blackhole:${port}`, domains: ['*'], requireTls: false, routes: [] });
    return virtualHosts;
  }
  const memo = ctx.routeMemo;
  for (let k = 0; k < hosts.length; k++) {
    const host = hosts[k] as string;
    const d = drafts.get(host) as VirtualHostDraft;
    const vhName = `${host}:${port}`;
    const routes = sortCatchAllLast(d.routes);
    virtualHosts.push(
      memo?.reusableVirtualHost(name, vhName, host, d.requireTls, routes) ?? { name: vhName, domains: [host], requireTls: d.requireTls, routes },
    );
  }
  return virtualHosts;
}

/** Istio's SortVHostRoutes: catch-all routes move to the end, relative order otherwise kept. */
export function sortCatchAllLast(routes: readonly Route[]): readonly Route[] {
  // Usually already in order (a VirtualService's catch-all ends its own list): the list as it is (route
  // lists are never mutated once built; a draft copies before appending).
  let seenCatchAll = false;
  let ordered = true;
  for (let i = 0; i < routes.length; i++) {
    if (isCatchAllRoute(routes[i] as Route)) seenCatchAll = true;
    else if (seenCatchAll) {
      ordered = false;
      break;
    }
  }
  if (ordered) return routes;
  const head: Route[] = [];
  const tail: Route[] = [];
  for (const r of routes) (isCatchAllRoute(r) ? tail : head).push(r);
  return head.concat(tail);
}

/** The lookup structures of a RouteTable: exact map, wildcard buckets (longest suffix first), `*`. */
export function indexVirtualHosts(name: string, virtualHosts: VirtualHost[]): RouteTable {
  // Null-prototype maps: a request for host `constructor` or `__proto__` must find nothing, not Object's.
  const exactHosts: Record<string, number> = Object.create(null) as Record<string, number>;
  const buckets = new Map<number, Record<string, number>>();
  let catchAll = -1;
  for (let i = 0; i < virtualHosts.length; i++) {
    const domains = (virtualHosts[i] as VirtualHost).domains;
    for (let j = 0; j < domains.length; j++) {
      const d = (domains[j] as string).toLowerCase();
      if (d === '*') {
        if (catchAll < 0) catchAll = i;
      } else if (d.startsWith('*')) {
        const suffix = d.slice(1);
        let bucket = buckets.get(suffix.length);
        if (!bucket) {
          bucket = Object.create(null) as Record<string, number>;
          buckets.set(suffix.length, bucket);
        }
        if (!(suffix in bucket)) bucket[suffix] = i;
      } else if (!(d in exactHosts)) {
        exactHosts[d] = i;
      }
    }
  }
  const wildcardBuckets: WildcardBucket[] = [...buckets.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([suffixLength, suffixes]) => ({ suffixLength, suffixes }));
  return { name, virtualHosts, exactHosts, wildcardBuckets, catchAll };
}

