// VirtualServices indexed by the Gateway they bind to, visible to the gateway workload (exportTo), in
// Istio's merge order, with their hosts resolved once.
import type { VirtualServiceResource } from '../model/index.js';
import type { Located } from '../model/resource.js';
import { CfgCode, exportedTo, sortByAge } from './context.js';
import type { CompileContext } from './context.js';
import { resolveShortname } from './hosts.js';
import { resolveGatewayName } from './http-routes.js';

export class VirtualServiceIndex {
  private readonly byGateway = new Map<string, Located<VirtualServiceResource>[]>();
  private readonly resolvedHosts = new Map<Located<VirtualServiceResource>, string[]>();
  /** VirtualServices that contributed a virtual host or passthrough route somewhere. */
  private readonly used = new Set<Located<VirtualServiceResource>>();

  constructor(ctx: CompileContext) {
    const viewer = ctx.options.identity.namespace;
    const sorted = sortByAge(ctx.index.virtualServices);
    for (const vs of sorted) {
      const ns = vs.object.metadata.namespace;
      const spec = vs.object.spec ?? {};
      if (!exportedTo(spec.exportTo, ns, viewer)) continue;
      this.resolvedHosts.set(
        vs,
        (spec.hosts ?? []).map((h) => resolveShortname(h, ns, ctx.options.domainSuffix)),
      );
      const seen = new Set<string>();
      // No `gateways` means `mesh` only: sidecars, never this gateway.
      for (const g of spec.gateways ?? []) {
        const key = resolveGatewayName(g, ns);
        if (key === 'mesh' || seen.has(key)) continue;
        seen.add(key);
        const list = this.byGateway.get(key);
        if (list) list.push(vs);
        else this.byGateway.set(key, [vs]);
      }
    }
  }

  forGateway(gatewayKey: string): readonly Located<VirtualServiceResource>[] {
    return this.byGateway.get(gatewayKey) ?? [];
  }

  hosts(vs: Located<VirtualServiceResource>): readonly string[] {
    return this.resolvedHosts.get(vs) ?? [];
  }

  markUsed(vs: Located<VirtualServiceResource>): void {
    this.used.add(vs);
  }

  /**
   * A VirtualService bound to a Gateway this workload serves that routes nothing (no host in common with
   * the servers, or only routes for other ports/gateways) is almost always a mistake worth a warning.
   */
  reportUnused(ctx: CompileContext, servedGateways: ReadonlySet<string>): void {
    const reported = new Set<Located<VirtualServiceResource>>();
    for (const gateway of [...servedGateways].sort()) {
      for (const vs of this.forGateway(gateway)) {
        if (this.used.has(vs) || reported.has(vs)) continue;
        reported.add(vs);
        ctx.warn(CfgCode.UNUSED, `binds to Gateway ${gateway} but routes nothing there: no host in common with its servers, or no route for their ports`, vs, 'spec.hosts');
      }
    }
  }
}
