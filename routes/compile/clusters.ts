// Clusters: one per (service host, port, subset) that some route names, keyed as Istio keys them
// (`outbound|<port>|<subset>|<fqdn>`), with endpoints from ServiceEntries or Services + EndpointSlices,
// and the DestinationRule policy the gateway would apply (load balancer, connect timeout, upstream TLS).
import type { Cluster, Endpoint, LoadBalancerPolicy, UpstreamTls } from '../../core/snapshot.js';
import type { DestinationRuleResource, ServiceEntryResource, ServiceResource, Subset, TrafficPolicy } from '../model/index.js';
import type { Located } from '../model/resource.js';
import { CfgCode, compareByAge, exportedTo, parseDurationMs } from './context.js';
import type { CompileContext } from './context.js';
import { hostSubsetOf, isWildcard, resolveShortname } from './hosts.js';
import type { SecretStore } from './secrets.js';
import { isHttp2Port } from './services.js';
import type { RegisteredService, ServicePortInfo, ServiceRegistry } from './services.js';

/** istiod's default root namespace: its DestinationRules apply mesh-wide. */
const ROOT_NAMESPACE = 'istio-system';
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface DestinationRef {
  readonly host: string;
  readonly subset?: string;
  readonly port?: { readonly number: number };
}

interface ClusterRef {
  readonly name: string;
  readonly fqdn: string;
  readonly port: number;
  readonly subset: string;
  readonly service: RegisteredService | undefined;
  readonly referrer: Located;
  readonly field: string;
}

export function clusterName(port: number, subset: string, fqdn: string): string {
  return `outbound|${port}|${subset}|${fqdn}`;
}

export class ClusterBuilder {
  private readonly refs = new Map<string, ClusterRef>();
  private readonly resolved = new Map<string, Map<string, { fqdn: string; service: RegisteredService | undefined; names: Map<number, Map<string, string>> }>>();
  private readonly ctx: CompileContext;
  private readonly registry: ServiceRegistry;
  private readonly secrets: SecretStore;
  /** DestinationRules by namespace, oldest first, hosts resolved in their own namespace: exact hosts by name. */
  private readonly exactRules = new Map<string, Map<string, Located<DestinationRuleResource>[]>>();
  private readonly wildcardRules = new Map<string, Array<{ host: string; rule: Located<DestinationRuleResource> }>>();

  constructor(ctx: CompileContext, registry: ServiceRegistry, secrets: SecretStore) {
    this.ctx = ctx;
    this.registry = registry;
    this.secrets = secrets;
    for (const dr of [...ctx.index.destinationRules].sort(compareByAge)) {
      // Rules for particular workloads (sidecars) never apply to this gateway.
      if (dr.object.spec.workloadSelector) continue;
      const ns = dr.object.metadata.namespace;
      const host = resolveShortname(dr.object.spec.host ?? '', ns, ctx.options.domainSuffix);
      if (isWildcard(host)) {
        let list = this.wildcardRules.get(ns);
        if (!list) this.wildcardRules.set(ns, (list = []));
        list.push({ host, rule: dr });
      } else {
        let byHost = this.exactRules.get(ns);
        if (!byHost) this.exactRules.set(ns, (byHost = new Map()));
        const list = byHost.get(host);
        if (list) list.push(dr);
        else byHost.set(host, [dr]);
      }
    }
  }

  /**
   * The cluster a route destination names (Istio's GetDestinationCluster): the destination's port, else
   * the service's only port, else the listener port. Records the reference so the cluster gets built.
   */
  reference(dest: DestinationRef, namespace: string, listenerPort: number, referrer: Located, field: string): string {
    // Resolution is cached per (namespace, host): at 50,000 routes the same few hundred services recur.
    let byHost = this.resolved.get(namespace);
    if (!byHost) this.resolved.set(namespace, (byHost = new Map()));
    let r = byHost.get(dest.host);
    if (!r) {
      const fqdn = resolveShortname(dest.host, namespace, this.ctx.options.domainSuffix);
      const service = this.registry.lookup(fqdn, namespace);
      r = { fqdn, service, names: new Map() };
      byHost.set(dest.host, r);
    }
    let port = listenerPort;
    if (dest.port?.number) port = dest.port.number;
    else if (r.service && r.service.ports.length === 1 && r.service.ports[0]) port = r.service.ports[0].number;
    const subset = dest.subset ?? '';
    let bySubset = r.names.get(port);
    if (!bySubset) r.names.set(port, (bySubset = new Map()));
    let name = bySubset.get(subset);
    if (name === undefined) {
      name = clusterName(port, subset, r.fqdn);
      bySubset.set(subset, name);
      if (!this.refs.has(name)) this.refs.set(name, { name, fqdn: r.fqdn, port, subset, service: r.service, referrer, field });
    }
    return name;
  }

  build(): Record<string, Cluster> {
    const out: Record<string, Cluster> = {};
    const missingHosts = new Set<string>();
    const names = [...this.refs.keys()].sort();
    for (const name of names) {
      const ref = this.refs.get(name) as ClusterRef;
      const cluster = this.buildOne(ref, missingHosts);
      if (cluster) out[name] = cluster;
    }
    return out;
  }

  private buildOne(ref: ClusterRef, missingHosts: Set<string>): Cluster | undefined {
    const { service } = ref;
    if (!service && !missingHosts.has(ref.fqdn)) {
      missingHosts.add(ref.fqdn);
      this.ctx.warn(CfgCode.HOST_NOT_FOUND, `no ServiceEntry or Service defines ${ref.fqdn}; requests to it get 503 UH`, ref.referrer, ref.field);
    }
    const servicePort = service?.ports.find((p) => p.number === ref.port);
    if (service && !servicePort) {
      this.ctx.warn(CfgCode.HOST_NOT_FOUND, `${ref.fqdn} has no port ${ref.port}; requests to it get 503 UH`, ref.referrer, ref.field);
    }
    const rule = this.destinationRule(ref.fqdn, service?.namespace ?? namespaceOfHost(ref.fqdn));
    let subset: Subset | undefined;
    if (ref.subset) {
      subset = rule?.subsets.find((s) => s.name === ref.subset);
      if (!subset) {
        // A subset no rule defines at all is validate's finding; here only rules the gateway cannot see.
        if (this.definedAnywhere(ref.fqdn, ref.subset)) {
          this.ctx.warn(CfgCode.SUBSET_NOT_FOUND, `subset ${ref.subset} of ${ref.fqdn} is defined only by DestinationRules not visible to the gateway (exportTo, namespace); requests to it get 503 NC`, ref.referrer, ref.field);
        }
        return undefined;
      }
    }
    const policy = effectivePolicy(rule?.trafficPolicy, subset?.trafficPolicy, ref.port);
    const discovered = service && servicePort ? this.endpoints(service, servicePort) : { discovery: 'STATIC' as const, endpoints: [] };
    let endpoints = discovered.endpoints;
    const labels = subset?.labels;
    if (labels && Object.keys(labels).length > 0) {
      endpoints = endpoints.filter((e) => Object.entries(labels).every(([k, v]) => e.labels[k] === v));
    }
    const tls = rule ? this.upstreamTls(policy, rule.rule) : undefined;
    const cluster: Cluster = {
      name: ref.name,
      serviceHost: ref.fqdn,
      port: ref.port,
      ...(ref.subset ? { subset: ref.subset } : {}),
      discovery: discovered.discovery,
      endpoints,
      loadBalancer: loadBalancerPolicy(policy),
      connectTimeoutMs: connectTimeoutMs(policy),
      ...(tls ? { tls } : {}),
      protocol: isHttp2Port(servicePort) ? 'HTTP2' : 'HTTP',
    };
    return cluster;
  }

  /**
   * Istio's DestinationRule lookup for a gateway proxy: rules in the gateway's namespace, then the
   * service's namespace (if exported to the gateway), then the root namespace. Within a namespace an exact
   * host wins over the most specific wildcard; several rules for one exact host merge as Istio merges
   * them: subsets appended (first name wins), the oldest traffic policy kept.
   */
  private destinationRule(fqdn: string, serviceNamespace: string | undefined): EffectiveRule | undefined {
    const viewer = this.ctx.options.identity.namespace;
    const order = [viewer];
    if (serviceNamespace && !order.includes(serviceNamespace)) order.push(serviceNamespace);
    if (!order.includes(ROOT_NAMESPACE)) order.push(ROOT_NAMESPACE);
    const visible = (r: Located<DestinationRuleResource>, ns: string): boolean => ns === viewer || exportedTo(r.object.spec.exportTo, ns, viewer);
    for (const ns of order) {
      const exact = this.exactRules.get(ns)?.get(fqdn)?.filter((r) => visible(r, ns));
      if (exact && exact.length > 0) return mergeRules(exact);
      let best: { host: string; rule: Located<DestinationRuleResource> } | undefined;
      for (const r of this.wildcardRules.get(ns) ?? []) {
        if (!visible(r.rule, ns)) continue;
        if (hostSubsetOf(fqdn, r.host) && (!best || r.host.length > best.host.length)) best = r;
      }
      if (best) return mergeRules([best.rule]);
    }
    return undefined;
  }

  private definedAnywhere(fqdn: string, subset: string): boolean {
    for (const byHost of this.exactRules.values()) {
      for (const r of byHost.get(fqdn) ?? []) if (r.object.spec.subsets?.some((s) => s.name === subset)) return true;
    }
    for (const list of this.wildcardRules.values()) {
      for (const r of list) if (hostSubsetOf(fqdn, r.host) && r.rule.object.spec.subsets?.some((s) => s.name === subset)) return true;
    }
    return false;
  }

  private endpoints(service: RegisteredService, port: ServicePortInfo): { discovery: 'STATIC' | 'DNS'; endpoints: Endpoint[] } {
    if (service.kind === 'ServiceEntry') return seEndpoints(service.source as Located<ServiceEntryResource>, service.hostname, port);
    return this.kubeEndpoints(service.source as Located<ServiceResource>, port);
  }

  private kubeEndpoints(svc: Located<ServiceResource>, port: ServicePortInfo): { discovery: 'STATIC' | 'DNS'; endpoints: Endpoint[] } {
    const spec = svc.object.spec ?? {};
    const meta = svc.object.metadata;
    if (spec.type === 'ExternalName' && spec.externalName) {
      return { discovery: 'DNS', endpoints: [{ address: spec.externalName, port: port.number, weight: 1, labels: {} }] };
    }
    const out: Endpoint[] = [];
    const seen = new Set<string>();
    const pods = this.ctx.index.pods;
    // Subsets select by pod labels: find the pod by the endpoint's targetRef, else by its IP.
    const podLabels = (address: string, ref: { kind?: string; name?: string; namespace?: string } | undefined) => {
      const pod =
        (ref?.kind === 'Pod' && ref.name ? pods.get(`${ref.namespace ?? meta.namespace}/${ref.name}`) : undefined) ??
        pods.get(`${meta.namespace}|${address}`);
      return { ...(pod?.object.metadata.labels ?? {}) };
    };
    const push = (address: string, p: number, ref: { kind?: string; name?: string; namespace?: string } | undefined): void => {
      const k = `${address}|${p}`;
      if (seen.has(k)) return;
      seen.add(k);
      out.push({ address, port: p, weight: 1, labels: podLabels(address, ref) });
    };
    const slices = this.ctx.index.endpointSlices.get(`${meta.namespace}/${meta.name}`);
    if (slices && slices.length > 0) {
      for (const slice of [...slices].sort(compareByAge)) {
        const slicePort = (slice.object.ports ?? []).find((p) => (p.name ?? '') === port.name);
        if (!slicePort || typeof slicePort.port !== 'number') continue;
        for (const ep of slice.object.endpoints ?? []) {
          // Kubernetes: an unset `ready` means unknown, which consumers treat as ready.
          if (ep.conditions?.ready === false) continue;
          const address = ep.addresses?.[0];
          if (address) push(address, slicePort.port, ep.targetRef);
        }
      }
      return { discovery: 'STATIC', endpoints: out };
    }
    const legacy = this.ctx.index.endpoints.get(`${meta.namespace}/${meta.name}`);
    for (const subset of legacy?.object.subsets ?? []) {
      const p = (subset.ports ?? []).find((sp) => (sp.name ?? '') === port.name);
      if (!p) continue;
      for (const a of subset.addresses ?? []) if (a.ip) push(a.ip, p.port, a.targetRef);
    }
    return { discovery: 'STATIC', endpoints: out };
  }

  private upstreamTls(policy: TrafficPolicy, rule: Located<DestinationRuleResource>): UpstreamTls | undefined {
    const tls = policy.tls;
    if (!tls || !tls.mode || tls.mode === 'DISABLE') return undefined;
    const base = {
      ...(tls.sni ? { sni: tls.sni } : {}),
      subjectAltNames: [...(tls.subjectAltNames ?? [])],
      insecureSkipVerify: tls.insecureSkipVerify === true,
    };
    if (tls.mode === 'ISTIO_MUTUAL') {
      this.ctx.warn(CfgCode.UNSUPPORTED, 'ISTIO_MUTUAL upstream TLS is recorded but not originated by Gatehouse yet', rule, 'spec.trafficPolicy.tls.mode');
      return { mode: 'ISTIO_MUTUAL', ...base };
    }
    if (tls.caCertificates || tls.clientCertificate || tls.privateKey) {
      this.ctx.warn(CfgCode.UNSUPPORTED, 'file paths in DestinationRule tls are not read; use credentialName', rule, 'spec.trafficPolicy.tls');
    }
    const ns = this.ctx.options.identity.namespace;
    const use = { resource: rule as Located, field: 'spec.trafficPolicy.tls.credentialName' };
    if (!tls.credentialName) return { mode: tls.mode, ...base };
    if (tls.mode === 'MUTUAL') {
      const secret = this.secrets.serverCertificate(ns, tls.credentialName, use);
      const caKey = tls.insecureSkipVerify ? undefined : this.secrets.caBundle(ns, tls.credentialName, use);
      const caPem = caKey && caKey !== secret ? this.secrets.secrets[caKey]?.caPem : undefined;
      return { mode: 'MUTUAL', ...base, ...(secret ? { secret } : {}), ...(caPem ? { caPem } : {}) };
    }
    const caKey = this.secrets.caBundle(ns, tls.credentialName, use);
    return { mode: 'SIMPLE', ...base, ...(caKey ? { secret: caKey } : {}) };
  }
}

interface EffectiveRule {
  /** The oldest rule: where diagnostics about the policy point. */
  readonly rule: Located<DestinationRuleResource>;
  readonly trafficPolicy: TrafficPolicy | undefined;
  readonly subsets: readonly Subset[];
}

function mergeRules(rules: readonly Located<DestinationRuleResource>[]): EffectiveRule {
  const first = rules[0] as Located<DestinationRuleResource>;
  let trafficPolicy: TrafficPolicy | undefined;
  const subsets: Subset[] = [];
  const names = new Set<string>();
  for (const r of rules) {
    trafficPolicy ??= r.object.spec.trafficPolicy;
    for (const s of r.object.spec.subsets ?? []) {
      if (names.has(s.name)) continue;
      names.add(s.name);
      subsets.push(s);
    }
  }
  return { rule: first, trafficPolicy, subsets };
}

function seEndpoints(se: Located<ServiceEntryResource>, hostname: string, port: ServicePortInfo): { discovery: 'STATIC' | 'DNS'; endpoints: Endpoint[] } {
  const spec = se.object.spec;
  const resolution = spec.resolution ?? 'NONE';
  const defaultPort = typeof port.targetPort === 'number' ? port.targetPort : port.number;
  const endpoints: Endpoint[] = [];
  for (const ep of spec.endpoints ?? []) {
    if (!ep.address) continue;
    const p = ep.ports?.[port.name] ?? defaultPort;
    endpoints.push({ address: ep.address, port: p, weight: ep.weight ?? 1, labels: { ...(ep.labels ?? {}) } });
  }
  if (resolution === 'STATIC') return { discovery: 'STATIC', endpoints };
  // DNS (and NONE, which at an edge gateway can only mean "resolve the host"): the host itself when no endpoints.
  if (endpoints.length === 0 && !isWildcard(hostname)) endpoints.push({ address: hostname, port: defaultPort, weight: 1, labels: {} });
  return { discovery: 'DNS', endpoints };
}

/**
 * Istio's MergeTrafficPolicy: top-level policy, overridden field by field by its portLevelSettings for
 * this port, then by the subset's policy and the subset's own port-level settings.
 */
export function effectivePolicy(top: TrafficPolicy | undefined, subset: TrafficPolicy | undefined, port: number): TrafficPolicy {
  let merged: TrafficPolicy = {};
  const apply = (p: TrafficPolicy | undefined): void => {
    if (!p) return;
    const { portLevelSettings, ...rest } = p;
    merged = { ...merged, ...definedOnly(rest) };
    const pl = portLevelSettings?.find((s) => s.port?.number === port);
    if (pl) {
      const { port: _ignored, ...plRest } = pl;
      merged = { ...merged, ...definedOnly(plRest) };
    }
  };
  apply(top);
  apply(subset);
  return merged;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function loadBalancerPolicy(policy: TrafficPolicy): LoadBalancerPolicy {
  switch (policy.loadBalancer?.simple) {
    case 'ROUND_ROBIN':
      return 'ROUND_ROBIN';
    case 'RANDOM':
      return 'RANDOM';
    case 'PASSTHROUGH':
      return 'PASSTHROUGH';
    default:
      return 'LEAST_REQUEST';
  }
}

function connectTimeoutMs(policy: TrafficPolicy): number {
  const pool = policy.connectionPool as { tcp?: { connectTimeout?: string } } | undefined;
  const ms = parseDurationMs(pool?.tcp?.connectTimeout);
  return ms !== undefined && ms > 0 ? ms : DEFAULT_CONNECT_TIMEOUT_MS;
}

/** `name.ns.svc.<domain>` → `ns`; anything else has no namespace of its own. */
function namespaceOfHost(fqdn: string): string | undefined {
  const parts = fqdn.split('.');
  return parts.length >= 3 && parts[2] === 'svc' ? parts[1] : undefined;
}
