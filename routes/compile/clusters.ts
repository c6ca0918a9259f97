// Clusters: one per (service host, port, subset) that some route names, keyed as Istio keys them
// (`outbound|<port>|<subset>|<fqdn>`), with endpoints from ServiceEntries or Services + EndpointSlices,
// and the DestinationRule policy the gateway would apply (load balancer, connect timeout, upstream TLS).
import type { Cluster, Endpoint, LoadBalancerPolicy, UpstreamTls } from '../../core/snapshot.js';
import type { ClientTLSSettings, DestinationRuleResource, ServiceEntryResource, ServiceResource, Subset, TrafficPolicy } from '../model/index.js';
import type { Located } from '../model/resource.js';
import type { CfgCodeValue } from '../../core/codes.js';
import { CfgCode, compareByAge, exportedTo, parseDurationMs } from './context.js';
import type { CompileContext } from './context.js';
import { hostSubsetOf, isWildcard, resolveShortname } from './hosts.js';
import { DEFAULT_TRUST_DOMAIN, MESH_IDENTITY_SECRET, istioMutualSni, spiffeUri } from './mesh-identity.js';
import { PeerAuthentications } from './peer-authentication.js';
import { caBundleProblem, servingMaterial, type SecretStore } from './secrets.js';
import { tlsFileText } from './tls-files.js';
import { isHttp2Port } from './services.js';
import type { RegisteredService, ServicePortInfo, ServiceRegistry } from './services.js';

/** istiod's default root namespace: its DestinationRules apply mesh-wide. */
const ROOT_NAMESPACE = 'istio-system';
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Istio's sidecar injector labels every injected pod with this (value `istio`); auto mTLS reads it. */
const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

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

/** A destination host as resolved in one namespace, with the cluster names made for it per (port, subset). */
interface ResolvedHost {
  readonly fqdn: string;
  readonly service: RegisteredService | undefined;
  readonly names: Map<number, Map<string, string>>;
  lastPort: number;
  lastSubset: string;
  lastName: string;
}

export function clusterName(port: number, subset: string, fqdn: string): string {
  return `outbound|${port}|${subset}|${fqdn}`;
}

export class ClusterBuilder {
  private readonly refs = new Map<string, ClusterRef>();
  private readonly resolved = new Map<string, Map<string, ResolvedHost>>();
  private readonly ctx: CompileContext;
  private readonly registry: ServiceRegistry;
  private readonly secrets: SecretStore;
  /** DestinationRules by namespace, oldest first, hosts resolved in their own namespace: exact hosts by name. */
  private readonly exactRules = new Map<string, Map<string, Located<DestinationRuleResource>[]>>();
  private readonly wildcardRules = new Map<string, Array<{ host: string; rule: Located<DestinationRuleResource> }>>();
  private readonly peers: PeerAuthentications;
  private readonly trustDomain: string;
  private meshIdentityMissingReported = false;

  constructor(ctx: CompileContext, registry: ServiceRegistry, secrets: SecretStore) {
    this.ctx = ctx;
    this.registry = registry;
    this.secrets = secrets;
    this.peers = new PeerAuthentications(ctx.index.peerAuthentications);
    this.trustDomain = ctx.options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
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
    return this.resolve(dest, namespace, listenerPort, referrer, field);
  }

  /** The cluster name a destination resolves to, without recording a reference (a delta compile records its own). */
  nameOf(dest: DestinationRef, namespace: string, listenerPort: number): string {
    return this.resolve(dest, namespace, listenerPort, undefined, '');
  }

  private resolve(dest: DestinationRef, namespace: string, listenerPort: number, referrer: Located | undefined, field: string): string {
    // Resolution is cached per (namespace, host): at 50,000 routes the same few hundred services recur.
    let byHost = this.resolved.get(namespace);
    if (!byHost) this.resolved.set(namespace, (byHost = new Map()));
    let r = byHost.get(dest.host);
    if (!r) {
      const fqdn = resolveShortname(dest.host, namespace, this.ctx.options.domainSuffix);
      const service = this.registry.lookup(fqdn, namespace);
      r = { fqdn, service, names: new Map(), lastPort: -1, lastSubset: '', lastName: '' };
      byHost.set(dest.host, r);
    }
    let port = listenerPort;
    if (dest.port?.number) port = dest.port.number;
    else if (r.service && r.service.ports.length === 1 && r.service.ports[0]) port = r.service.ports[0].number;
    const subset = dest.subset ?? '';
    let name: string | undefined;
    // The host's last (port, subset): nearly every destination of a host names the same one.
    if (r.lastPort === port && r.lastSubset === subset) name = r.lastName;
    else {
      let bySubset = r.names.get(port);
      if (!bySubset) r.names.set(port, (bySubset = new Map()));
      name = bySubset.get(subset);
      if (name === undefined) {
        name = clusterName(port, subset, r.fqdn);
        bySubset.set(subset, name);
      }
      r.lastPort = port;
      r.lastSubset = subset;
      r.lastName = name;
    }
    if (referrer && !this.refs.has(name)) this.refs.set(name, { name, fqdn: r.fqdn, port, subset, service: r.service, referrer, field });
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
    const discovered: DiscoveredEndpoints =
      service && servicePort ? this.endpoints(service, servicePort) : { discovery: 'STATIC', endpoints: [], identities: [] };
    let endpoints = discovered.endpoints;
    const labels = subset?.labels;
    if (labels && Object.keys(labels).length > 0) {
      endpoints = endpoints.filter((e) => Object.entries(labels).every(([k, v]) => e.labels[k] === v));
    }
    let tls: UpstreamTls | undefined;
    if (policy.tls) tls = this.explicitTls(policy.tls, rule?.rule ?? ref.referrer, ref, discovered.identities);
    else ({ tls, endpoints } = this.autoMutualTls(ref, service, endpoints, discovered.identities));
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

  private endpoints(service: RegisteredService, port: ServicePortInfo): DiscoveredEndpoints {
    if (service.kind === 'ServiceEntry') return seEndpoints(service.source as Located<ServiceEntryResource>, service.hostname, port, this.trustDomain);
    return this.kubeEndpoints(service.source as Located<ServiceResource>, port);
  }

  private kubeEndpoints(svc: Located<ServiceResource>, port: ServicePortInfo): DiscoveredEndpoints {
    const spec = svc.object.spec ?? {};
    const meta = svc.object.metadata;
    if (spec.type === 'ExternalName' && spec.externalName) {
      return { discovery: 'DNS', endpoints: [{ address: spec.externalName, port: port.number, weight: 1, labels: {} }], identities: [] };
    }
    const out: Endpoint[] = [];
    const identities = new Set<string>();
    const seen = new Set<string>();
    const pods = this.ctx.index.pods;
    const push = (address: string, p: number, ref: { kind?: string; name?: string; namespace?: string } | undefined): void => {
      const k = `${address}|${p}`;
      if (seen.has(k)) return;
      seen.add(k);
      // Subsets select by pod labels, and the pod's service account is the identity it presents:
      // find the pod by the endpoint's targetRef, else by its IP.
      const pod =
        (ref?.kind === 'Pod' && ref.name ? pods.get(`${ref.namespace ?? meta.namespace}/${ref.name}`) : undefined) ??
        pods.get(`${meta.namespace}|${address}`);
      const account = pod?.object.spec?.serviceAccountName;
      if (pod && typeof account === 'string' && account !== '') identities.add(spiffeUri(this.trustDomain, pod.object.metadata.namespace, account));
      out.push({ address, port: p, weight: 1, labels: { ...(pod?.object.metadata.labels ?? {}) } });
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
      return { discovery: 'STATIC', endpoints: out, identities: [...identities].sort() };
    }
    const legacy = this.ctx.index.endpoints.get(`${meta.namespace}/${meta.name}`);
    for (const subset of legacy?.object.subsets ?? []) {
      const p = (subset.ports ?? []).find((sp) => (sp.name ?? '') === port.name);
      if (!p) continue;
      for (const a of subset.addresses ?? []) if (a.ip) push(a.ip, p.port, a.targetRef);
    }
    return { discovery: 'STATIC', endpoints: out, identities: [...identities].sort() };
  }

  /** DestinationRule `tls` (after port-level and subset merging): the user said what to do, even DISABLE. */
  private explicitTls(tls: ClientTLSSettings, rule: Located, ref: ClusterRef, identities: readonly string[]): UpstreamTls | undefined {
    if (!tls.mode || tls.mode === 'DISABLE') return undefined;
    const base = {
      ...(tls.sni ? { sni: tls.sni } : {}),
      subjectAltNames: [...(tls.subjectAltNames ?? [])],
      insecureSkipVerify: tls.insecureSkipVerify === true,
    };
    if (tls.mode === 'ISTIO_MUTUAL') {
      return this.istioMutual(ref, tls.sni, tls.subjectAltNames, identities, { resource: rule, field: 'spec.trafficPolicy.tls.mode' });
    }
    const hasFiles = Boolean(tls.caCertificates || tls.clientCertificate || tls.privateKey || tls.caCrl);
    if (hasFiles && !tls.credentialName) return this.fileTls(tls, tls.mode, rule, base);
    if (hasFiles) {
      this.ctx.warn(CfgCode.CONFLICT, 'credentialName is set: the file paths in this tls block are ignored (Istio does the same)', rule, 'spec.trafficPolicy.tls.credentialName');
    }
    const ns = this.ctx.options.identity.namespace;
    const use = { resource: rule, field: 'spec.trafficPolicy.tls.credentialName' };
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

  /**
   * SIMPLE/MUTUAL from files in the gateway pod (caCertificates, clientCertificate + privateKey, caCrl),
   * read by the control plane into reserved Secrets. Anything missing or broken is a warning at the
   * rule's field and makes the cluster `unavailable`: its connections fail (503 UF) rather than trusting
   * the system roots or connecting without the client certificate the user asked for.
   */
  private fileTls(
    tls: ClientTLSSettings,
    mode: 'SIMPLE' | 'MUTUAL',
    rule: Located,
    base: { sni?: string; subjectAltNames: string[]; insecureSkipVerify: boolean },
  ): UpstreamTls {
    const problems: string[] = [];
    const fail = (field: string, path: string, why: string, code: CfgCodeValue = CfgCode.SECRET_INVALID): void => {
      problems.push(`${field} ${path}: ${why}`);
      this.ctx.warn(code, `DestinationRule tls.${field} ${path} cannot be used: ${why}; connections to this destination fail (503 UF)`, rule, `spec.trafficPolicy.tls.${field}`);
    };
    const read = (field: string, path: string): string | undefined => {
      const file = tlsFileText(this.ctx, path);
      if (file.ok) return file.text;
      fail(field, path, file.why, CfgCode.SECRET_NOT_FOUND);
      return undefined;
    };
    let caPem: string | undefined;
    if (tls.caCertificates && !tls.insecureSkipVerify) {
      const text = read('caCertificates', tls.caCertificates);
      const problem = text === undefined ? undefined : (caBundleProblem({ 'ca.crt': text }) ?? (text.includes('-----BEGIN CERTIFICATE-----') ? undefined : 'no PEM certificate'));
      if (problem) fail('caCertificates', tls.caCertificates, problem);
      else caPem = text;
    }
    let crlPem: string | undefined;
    if (tls.caCrl) {
      const text = read('caCrl', tls.caCrl);
      if (text !== undefined && !text.includes('-----BEGIN X509 CRL-----')) fail('caCrl', tls.caCrl, 'no PEM CRL (-----BEGIN X509 CRL-----)');
      else crlPem = text;
    }
    let secret: string | undefined;
    if (mode === 'MUTUAL' && tls.clientCertificate && tls.privateKey) {
      const certPem = read('clientCertificate', tls.clientCertificate);
      const keyPem = read('privateKey', tls.privateKey);
      if (certPem !== undefined && keyPem !== undefined) {
        const material = servingMaterial({ 'tls.crt': certPem, 'tls.key': keyPem }, this.ctx.now);
        if (!material.ok) fail('clientCertificate', tls.clientCertificate, material.why);
        else {
          secret = `file:${tls.clientCertificate}`;
          this.secrets.secrets[secret] = {
            name: secret,
            certPem: material.certPem,
            keyPem: material.keyPem,
            notAfter: new Date(material.leaf.validTo).toISOString(),
            subjectAltNames: (material.leaf.subjectAltName ?? '').split(', ').filter((e) => e.includes(':')).map((e) => e.slice(e.indexOf(':') + 1)),
          };
        }
      }
    }
    return {
      mode,
      ...base,
      ...(secret ? { secret } : {}),
      ...(caPem ? { caPem } : {}),
      ...(crlPem ? { crlPem } : {}),
      ...(problems.length > 0 ? { unavailable: problems.join('; ') } : {}),
    };
  }

  /**
   * Auto mTLS, decided per endpoint as istiod's mtlsChecker does: an endpoint whose workload runs a
   * sidecar (label `security.istio.io/tlsMode: istio`) gets Istio mutual TLS unless PeerAuthentication
   * DISABLEs it for that workload and port; one without gets plaintext. Gatehouse adds one case: an
   * endpoint PeerAuthentication makes STRICT gets mutual TLS even without the label, since plaintext is
   * certain to be refused there (workloads that terminate mTLS themselves carry no sidecar label). When
   * some endpoints get mutual TLS, the cluster carries the ISTIO_MUTUAL settings and the others are marked
   * `plaintext` (Envoy's transport socket match). No endpoints known: the namespace's STRICT decides.
   * Mesh-external ServiceEntries never get it.
   */
  private autoMutualTls(
    ref: ClusterRef,
    service: RegisteredService | undefined,
    endpoints: Endpoint[],
    identities: readonly string[],
  ): { tls: UpstreamTls | undefined; endpoints: Endpoint[] } {
    const none = { tls: undefined, endpoints };
    if (!service) return none;
    let namespace = service.namespace;
    if (service.kind === 'ServiceEntry') {
      const se = service.source as Located<ServiceEntryResource>;
      if (se.object.spec.location !== 'MESH_INTERNAL') return none;
      namespace = se.object.metadata.namespace;
    }
    if (!namespace) return none;
    if (endpoints.length === 0) {
      if (this.peers.empty || this.peers.modeFor(namespace, {}, ref.port) !== 'STRICT') return none;
      return { tls: this.istioMutual(ref, undefined, undefined, identities, { resource: ref.referrer, field: ref.field }), endpoints };
    }
    const mutual = endpoints.map((e) => {
      const sidecar = e.labels[TLS_MODE_LABEL] === 'istio';
      if (!sidecar && this.peers.empty) return false;
      const mode = this.peers.empty ? 'PERMISSIVE' : this.peers.modeFor(namespace, e.labels, e.port);
      return mode === 'STRICT' || (sidecar && mode !== 'DISABLE');
    });
    if (!mutual.includes(true)) return none;
    const tls = this.istioMutual(ref, undefined, undefined, identities, { resource: ref.referrer, field: ref.field });
    if (!mutual.includes(false)) return { tls, endpoints };
    return { tls, endpoints: endpoints.map((e, i) => (mutual[i] ? e : { ...e, plaintext: true })) };
  }

  /**
   * ISTIO_MUTUAL: the gateway's own SPIFFE certificate, the mesh root as the only trust anchor, Istio's
   * `outbound_.` SNI, and as expected peer identities the DestinationRule's subjectAltNames, else the
   * service's own (ServiceEntry subjectAltNames and the endpoints' service accounts). With none known,
   * any workload the mesh root signed is accepted, as Istio does.
   */
  private istioMutual(
    ref: ClusterRef,
    sni: string | undefined,
    ruleSans: readonly string[] | undefined,
    identities: readonly string[],
    use: { resource: Located; field: string },
  ): UpstreamTls {
    const ns = this.ctx.options.identity.namespace;
    let secret: string | undefined;
    if (this.ctx.index.secrets.has(`${ns}/${MESH_IDENTITY_SECRET}`)) {
      secret = this.secrets.serverCertificate(ns, MESH_IDENTITY_SECRET, use);
    } else if (!this.meshIdentityMissingReported) {
      this.meshIdentityMissingReported = true;
      this.ctx.warn(
        CfgCode.MESH_IDENTITY,
        `the gateway has no mesh identity (Secret ${ns}/${MESH_IDENTITY_SECRET}); requests to Istio mutual TLS destinations such as ${ref.fqdn} fail with 503 UF`,
        use.resource,
        use.field,
      );
    }
    return {
      mode: 'ISTIO_MUTUAL',
      sni: sni ?? istioMutualSni(ref.port, ref.subset, ref.fqdn),
      ...(secret ? { secret } : {}),
      subjectAltNames: ruleSans && ruleSans.length > 0 ? [...ruleSans] : [...identities],
      insecureSkipVerify: false,
    };
  }
}

interface DiscoveredEndpoints {
  readonly discovery: 'STATIC' | 'DNS';
  readonly endpoints: Endpoint[];
  /** SPIFFE IDs (or other SANs) the service's workloads present, sorted: ISTIO_MUTUAL's default expected SANs. */
  readonly identities: readonly string[];
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

function seEndpoints(se: Located<ServiceEntryResource>, hostname: string, port: ServicePortInfo, trustDomain: string): DiscoveredEndpoints {
  const spec = se.object.spec;
  const identities = new Set<string>(spec.subjectAltNames ?? []);
  for (const ep of spec.endpoints ?? []) {
    if (ep.serviceAccount) identities.add(spiffeUri(trustDomain, se.object.metadata.namespace, ep.serviceAccount));
  }
  const resolution = spec.resolution ?? 'NONE';
  const defaultPort = typeof port.targetPort === 'number' ? port.targetPort : port.number;
  const endpoints: Endpoint[] = [];
  for (const ep of spec.endpoints ?? []) {
    if (!ep.address) continue;
    const p = ep.ports?.[port.name] ?? defaultPort;
    endpoints.push({ address: ep.address, port: p, weight: ep.weight ?? 1, labels: { ...(ep.labels ?? {}) } });
  }
  const sorted = [...identities].sort();
  if (resolution === 'STATIC') return { discovery: 'STATIC', endpoints, identities: sorted };
  // DNS (and NONE, which at an edge gateway can only mean "resolve the host"): the host itself when no endpoints.
  if (endpoints.length === 0 && !isWildcard(hostname)) endpoints.push({ address: hostname, port: defaultPort, weight: 1, labels: {} });
  return { discovery: 'DNS', endpoints, identities: sorted };
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
