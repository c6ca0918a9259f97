// PASSTHROUGH servers: the VirtualService `tls:` routes bound to the server's Gateway become SNI → cluster
// routes on the server's filter chain (Istio's buildGatewayNetworkFiltersFromTLSRoutes). A route's SNI
// names are its sniHosts narrowed to the server's hosts; blocks for other gateways or ports are dropped.
import type { TcpRoute, WeightedCluster } from '../../core/snapshot.js';
import type { TLSMatchAttributes, TLSRoute } from '../model/index.js';
import type { ClusterBuilder } from './clusters.js';
import type { CompileContext } from './context.js';
import { intersectHosts } from './hosts.js';
import { resolveGatewayName } from './http-routes.js';
import { hostsFor } from './servers.js';
import type { GatewayServer } from './servers.js';
import type { VirtualServiceIndex } from './virtual-services.js';

export function buildTcpRoutes(
  ctx: CompileContext,
  server: GatewayServer,
  virtualServices: VirtualServiceIndex,
  clusters: ClusterBuilder,
): TcpRoute[] {
  const out: TcpRoute[] = [];
  const seen = new Set<string>();
  for (const vs of virtualServices.forGateway(server.gatewayKey)) {
    const meta = vs.object.metadata;
    const ns = meta.namespace;
    const serverHosts = hostsFor(server, ns);
    if (intersectHosts(serverHosts, virtualServices.hosts(vs)).length === 0) continue;
    const tls = vs.object.spec.tls ?? [];
    for (let i = 0; i < tls.length; i++) {
      const route = tls[i] as TLSRoute;
      const field = `spec.tls[${i}]`;
      const sni: string[] = [];
      const sniSeen = new Set<string>();
      for (const m of route.match ?? []) {
        if (!tlsBlockApplies(ctx, m, server, ns)) continue;
        for (const h of intersectHosts(serverHosts, (m.sniHosts ?? []).map((s) => s.toLowerCase()))) {
          if (!sniSeen.has(h)) {
            sniSeen.add(h);
            sni.push(h);
          }
        }
      }
      if (sni.length === 0) continue;
      // Two identical routes (same SNI names) can only ever serve through the first.
      const dedupKey = sni.slice().sort().join(',');
      if (seen.has(dedupKey)) continue;
      seen.add(dedupKey);
      const destinations: WeightedCluster[] = [];
      const dests = route.route ?? [];
      for (let d = 0; d < dests.length; d++) {
        const dest = dests[d];
        if (!dest) continue;
        const weight = dests.length === 1 ? 100 : dest.weight ?? 0;
        if (weight <= 0) continue;
        destinations.push({ cluster: clusters.reference(dest.destination, ns, server.port, vs, `${field}.route[${d}].destination`), weight });
      }
      if (destinations.length === 0) continue;
      let totalWeight = 0;
      for (const d of destinations) totalWeight += d.weight;
      out.push({ name: `${ns}.${meta.name}.tls.${i}`, sniHosts: sni, destinations, totalWeight });
      virtualServices.markUsed(vs);
    }
  }
  return out;
}

function tlsBlockApplies(ctx: CompileContext, m: TLSMatchAttributes, server: GatewayServer, vsNamespace: string): boolean {
  if (m.port && m.port !== server.port) return false;
  if (m.gateways && m.gateways.length > 0) return m.gateways.some((g) => resolveGatewayName(g, vsNamespace) === server.gatewayKey);
  const labels = ctx.options.identity.labels;
  for (const [k, v] of Object.entries(m.sourceLabels ?? {})) if (labels[k] !== v) return false;
  return !m.sourceNamespace || m.sourceNamespace === ctx.options.identity.namespace;
}
