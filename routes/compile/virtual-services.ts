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
  const hosts = (vs.spec ?? {}).hosts ?? [];
  const out = new Array<string>(hosts.length);
  for (let i = 0; i < hosts.length; i++) out[i] = resolveShortname(hosts[i] as string, ns, ctx.options.domainSuffix);
  return out;
}

/** The Gateways (`namespace/name`) it binds to, without `mesh`, each once, in the order written. */
export function gatewayKeysOf(vs: VirtualServiceResource): string[] {
  const ns = vs.metadata.namespace;
  const keys: string[] = [];
  // No `gateways` means `mesh` only: sidecars, never this gateway.
  const gateways = (vs.spec ?? {}).gateways ?? [];
  for (let i = 0; i < gateways.length; i++) {
    const key = resolveGatewayName(gateways[i] as string, ns);
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
    // Indexed loops: this runs once per compile over every VirtualService, mostly before it is optimised
    // (for-of there allocates an iterator result per element).
    const sorted = sortByAge(ctx.index.virtualServices);
    for (let i = 0; i < sorted.length; i++) {
      const vs = sorted[i] as Located<VirtualServiceResource>;
      if (!visibleToGateway(ctx, vs.object)) continue;
      this.resolvedHosts.set(vs, resolvedHostsOf(ctx, vs.object));
      const keys = gatewayKeysOf(vs.object);
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k] as string;
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
      const bound = this.forGateway(gateway);
      for (let i = 0; i < bound.length; i++) {
        const vs = bound[i] as Located<VirtualServiceResource>;
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
