// VirtualServices indexed by the Gateway they bind to, visible to the gateway workload (exportTo), in
// Istio's merge order, with their hosts resolved once. Built on first use: a delta compile
// (route-delta.ts) visits only the changed VirtualServices and never needs the whole index.
import type { VirtualServiceResource } from '../model/index.js';
import type { Located } from '../model/resource.js';
import { CfgCode, exportedTo, sortByAge } from './context.js';
import type { CompileContext } from './context.js';
import { resolveShortname } from './hosts.js';
import { resolveGatewayName } from './http-routes.js';

/** Whether the gateway workload sees this VirtualService at all (exportTo). */
export function visibleToGateway(ctx: CompileContext, vs: VirtualServiceResource): boolean {
  const ns = vs.metadata.namespace;
  return exportedTo((vs.spec ?? {}).exportTo, ns, ctx.options.identity.namespace);
}

/** The VirtualService's hosts with short names resolved in its namespace. */
export function resolvedHostsOf(ctx: CompileContext, vs: VirtualServiceResource): string[] {
  const ns = vs.metadata.namespace;
  return ((vs.spec ?? {}).hosts ?? []).map((h) => resolveShortname(h, ns, ctx.options.domainSuffix));
}

/** The Gateways (`namespace/name`) it binds to, without `mesh`, each once, in the order written. */
export function gatewayKeysOf(vs: VirtualServiceResource): string[] {
  const ns = vs.metadata.namespace;
  const keys: string[] = [];
  // No `gateways` means `mesh` only: sidecars, never this gateway.
  for (const g of (vs.spec ?? {}).gateways ?? []) {
    const key = resolveGatewayName(g, ns);
    if (key === 'mesh' || keys.includes(key)) continue;
    keys.push(key);
  }
  return keys;
}

export class VirtualServiceIndex {
  private readonly byGateway = new Map<string, Located<VirtualServiceResource>[]>();
  private readonly resolvedHosts = new Map<Located<VirtualServiceResource>, string[]>();
  /** VirtualServices that contributed a virtual host or passthrough route somewhere. */
  private readonly used = new Set<Located<VirtualServiceResource>>();
  #built = false;

  constructor(private readonly ctx: CompileContext) {}

  private build(): void {
    if (this.#built) return;
    this.#built = true;
    const ctx = this.ctx;
    for (const vs of sortByAge(ctx.index.virtualServices)) {
      if (!visibleToGateway(ctx, vs.object)) continue;
      this.resolvedHosts.set(vs, resolvedHostsOf(ctx, vs.object));
      for (const key of gatewayKeysOf(vs.object)) {
        const list = this.byGateway.get(key);
        if (list) list.push(vs);
        else this.byGateway.set(key, [vs]);
      }
    }
  }

  forGateway(gatewayKey: string): readonly Located<VirtualServiceResource>[] {
    this.build();
    return this.byGateway.get(gatewayKey) ?? [];
  }

  hosts(vs: Located<VirtualServiceResource>): readonly string[] {
    this.build();
    return this.resolvedHosts.get(vs) ?? [];
  }

  markUsed(vs: Located<VirtualServiceResource>): void {
    this.used.add(vs);
  }

  /**
   * A VirtualService bound to a Gateway this workload serves that routes nothing (no host in common with
   * the servers, or only routes for other ports/gateways) is almost always a mistake worth a warning.
   * `reportedInto` collects the objects reported (a delta compile starts from them).
   */
  reportUnused(ctx: CompileContext, servedGateways: ReadonlySet<string>, reportedInto?: Set<object>): void {
    const reported = new Set<Located<VirtualServiceResource>>();
    for (const gateway of [...servedGateways].sort()) {
      for (const vs of this.forGateway(gateway)) {
        if (this.used.has(vs) || reported.has(vs)) continue;
        reported.add(vs);
        reportedInto?.add(vs.object);
        warnUnused(ctx, gateway, vs);
      }
    }
  }
}

export function warnUnused(ctx: CompileContext, gateway: string, vs: Located<VirtualServiceResource>): void {
  ctx.warn(CfgCode.UNUSED, `binds to Gateway ${gateway} but routes nothing there: no host in common with its servers, or no route for their ports`, vs, 'spec.hosts');
}
