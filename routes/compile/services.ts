// The service registry as a gateway sees it: ServiceEntries and Kubernetes Services by host name, each
// with its ports, visibility (exportTo) and where its endpoints come from.
import type { ServiceEntryResource, ServiceResource } from '../model/index.js';
import type { Located } from '../model/resource.js';
import { compareByAge, exportedTo } from './context.js';
import type { CompileContext } from './context.js';

export interface ServicePortInfo {
  readonly number: number;
  readonly name: string;
  readonly protocol: string;
  /** Kubernetes targetPort or ServiceEntry targetPort, when given. */
  readonly targetPort?: number | string;
  readonly appProtocol?: string;
}

export interface RegisteredService {
  readonly hostname: string;
  readonly namespace: string;
  readonly ports: readonly ServicePortInfo[];
  readonly source: Located<ServiceEntryResource> | Located<ServiceResource>;
  readonly kind: 'ServiceEntry' | 'Service';
}

export class ServiceRegistry {
  /** Lower-case host → services defining it, oldest first. */
  private readonly byHost = new Map<string, RegisteredService[]>();
  private readonly viewer: string;

  constructor(ctx: CompileContext) {
    this.viewer = ctx.options.identity.namespace;
    const domain = ctx.options.domainSuffix;
    const entries = [...ctx.index.serviceEntries].sort(compareByAge);
    for (const se of entries) {
      const spec = se.object.spec;
      if (!exportedTo(spec.exportTo, se.object.metadata.namespace, this.viewer)) continue;
      const ports: ServicePortInfo[] = (spec.ports ?? []).map((p) => ({
        number: p.number,
        name: p.name ?? '',
        protocol: (p.protocol ?? 'TCP').toUpperCase(),
        ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
      }));
      for (const h of spec.hosts ?? []) {
        this.add({ hostname: h.toLowerCase(), namespace: se.object.metadata.namespace, ports, source: se, kind: 'ServiceEntry' });
      }
    }
    const services = [...ctx.index.services].sort(compareByAge);
    for (const svc of services) {
      const meta = svc.object.metadata;
      const exportAnnotation = meta.annotations?.['networking.istio.io/exportTo'];
      const exportTo = exportAnnotation ? exportAnnotation.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
      if (!exportedTo(exportTo, meta.namespace, this.viewer)) continue;
      const ports: ServicePortInfo[] = (svc.object.spec?.ports ?? []).map((p) => ({
        number: p.port,
        name: p.name ?? '',
        protocol: (p.protocol ?? 'TCP').toUpperCase(),
        ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      }));
      const hostname = domain ? `${meta.name}.${meta.namespace}.svc.${domain}` : `${meta.name}.${meta.namespace}`;
      this.add({ hostname: hostname.toLowerCase(), namespace: meta.namespace, ports, source: svc, kind: 'Service' });
    }
  }

  private add(s: RegisteredService): void {
    const list = this.byHost.get(s.hostname);
    if (list) list.push(s);
    else this.byHost.set(s.hostname, [s]);
  }

  /**
   * The service for a host as Istio's gateway picks it: the one in the referring resource's namespace,
   * else the oldest visible one.
   */
  lookup(hostname: string, preferNamespace: string): RegisteredService | undefined {
    const list = this.byHost.get(hostname);
    if (!list || list.length === 0) return undefined;
    for (const s of list) if (s.namespace === preferNamespace) return s;
    return list[0];
  }
}

/** Istio's protocol sniffing by port protocol, appProtocol and name prefix: does the upstream speak h2? */
export function isHttp2Port(p: ServicePortInfo | undefined): boolean {
  if (!p) return false;
  const proto = (p.appProtocol ?? p.protocol).toUpperCase();
  if (proto === 'HTTP2' || proto === 'GRPC' || proto === 'GRPC-WEB' || proto === 'KUBERNETES.IO/H2C') return true;
  const prefix = p.name.split('-')[0]?.toLowerCase();
  return (p.protocol === 'TCP' || p.protocol === '') && (prefix === 'http2' || prefix === 'grpc');
}
