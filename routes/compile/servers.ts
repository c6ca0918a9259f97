// Gateway selection and merging (Istio's MergeGateways): the Gateways whose selector matches this
// workload, their servers grouped per port, conflicting protocols on a port resolved in favour of the
// first Gateway in Istio's order (creation time, then name), the loser reported.
import type { GatewayResource, Server } from '../model/index.js';
import type { Located } from '../model/resource.js';
import { CfgCode, compareGateways } from './context.js';
import type { CompileContext } from './context.js';
import { HostSet, parseServerHost } from './hosts.js';
import type { ServerHost } from './hosts.js';

/** How a server is served: plaintext HTTP, TLS terminated then HTTP, or TLS passed through by SNI. */
export type ServerKind = 'HTTP' | 'HTTPS' | 'TLS' | 'TCP';

export interface GatewayServer {
  readonly gateway: Located<GatewayResource>;
  /** `namespace/name`. */
  readonly gatewayKey: string;
  readonly server: Server;
  readonly index: number;
  /** `spec.servers[i]`, for diagnostics. */
  readonly field: string;
  readonly kind: ServerKind;
  readonly port: number;
  readonly hosts: readonly ServerHost[];
  /** Route table (HTTP/HTTPS) or filter chain (TLS) name, Istio's RDS naming. */
  readonly routeName: string;
  /** Hosts open to VirtualServices of any namespace. */
  readonly anyNamespaceHosts: HostSet;
  /** Hosts open only to one namespace's VirtualServices. */
  readonly namespaceHosts: ReadonlyMap<string, HostSet>;
}

export interface PortServers {
  readonly port: number;
  readonly kind: ServerKind;
  readonly servers: GatewayServer[];
}

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY']);

/** Selected Gateways' servers, grouped per port, sorted by port. */
export function mergeGateways(ctx: CompileContext): PortServers[] {
  const labels = ctx.options.identity.labels;
  const gateways = ctx.index.gateways
    .filter((g) => Object.entries(g.object.spec?.selector ?? {}).every(([k, v]) => labels[k] === v))
    .sort(compareGateways);
  const byPort = new Map<number, PortServers>();
  for (const gw of gateways) {
    const meta = gw.object.metadata;
    const gatewayKey = `${meta.namespace}/${meta.name}`;
    const servers = gw.object.spec?.servers ?? [];
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i] as Server;
      const field = `spec.servers[${i}]`;
      const kind = classify(ctx, gw, server, field);
      if (!kind) continue;
      const port = server.port.number;
      const existing = byPort.get(port);
      const protocol = (server.port.protocol ?? '').toUpperCase();
      // Istio merges plaintext servers on a port only when their protocols are the same.
      const firstProtocol = (existing?.servers[0]?.server.port.protocol ?? '').toUpperCase();
      if (existing && (existing.kind !== kind || ((kind === 'HTTP' || kind === 'TCP') && firstProtocol !== protocol))) {
        ctx.warn(
          CfgCode.CONFLICT,
          `port ${port} is already ${firstProtocol || existing.kind} (Gateway ${existing.servers[0]?.gatewayKey ?? '?'}); this ${protocol || kind} server is ignored`,
          gw,
          `${field}.port`,
        );
        continue;
      }
      const portName = server.port.name ?? '';
      const routeName =
        kind === 'HTTP' ? `http.${port}` : `${kind.toLowerCase()}.${port}.${portName}.${meta.name}.${meta.namespace}`;
      const hosts = (server.hosts ?? []).map((h) => parseServerHost(h, meta.namespace));
      const anyNamespaceHosts = new HostSet();
      const namespaceHosts = new Map<string, HostSet>();
      for (const h of hosts) {
        if (h.namespace === '*') anyNamespaceHosts.add(h.host);
        else {
          let set = namespaceHosts.get(h.namespace);
          if (!set) namespaceHosts.set(h.namespace, (set = new HostSet()));
          set.add(h.host);
        }
      }
      const gs: GatewayServer = {
        gateway: gw,
        gatewayKey,
        server,
        index: i,
        field,
        kind,
        port,
        hosts,
        routeName,
        anyNamespaceHosts,
        namespaceHosts,
      };
      if (existing) existing.servers.push(gs);
      else byPort.set(port, { port, kind, servers: [gs] });
    }
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}

/**
 * Undefined (with a diagnostic) for servers that cannot be served at all. TCP-like servers are 'TCP': they
 * claim their port as in Istio (so an HTTP server losing to them is reported) but get no listener.
 */
function classify(ctx: CompileContext, gw: Located, server: Server, field: string): ServerKind | undefined {
  const protocol = (server.port?.protocol ?? '').toUpperCase();
  const mode = server.tls?.mode;
  if (HTTP_PROTOCOLS.has(protocol)) return 'HTTP';
  if (protocol === 'HTTPS' || protocol === 'TLS') {
    if (mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') {
      if (mode === 'AUTO_PASSTHROUGH') ctx.warn(CfgCode.UNSUPPORTED, 'AUTO_PASSTHROUGH is served as PASSTHROUGH', gw, `${field}.tls.mode`);
      return 'TLS';
    }
    if (protocol === 'TLS') {
      ctx.warn(CfgCode.UNSUPPORTED, 'TLS servers that terminate TLS (TCP routes) are not supported; server ignored', gw, `${field}.tls.mode`);
      return undefined;
    }
    if (!server.tls) {
      ctx.warn(CfgCode.REQUIRED, 'an HTTPS server needs tls settings; server ignored', gw, `${field}.tls`);
      return undefined;
    }
    if (mode === 'ISTIO_MUTUAL') {
      ctx.warn(CfgCode.UNSUPPORTED, 'ISTIO_MUTUAL servers are not supported; server ignored', gw, `${field}.tls.mode`);
      return undefined;
    }
    return 'HTTPS';
  }
  ctx.warn(CfgCode.UNSUPPORTED, `protocol ${protocol || '(none)'} is not served by Gatehouse; nothing listens for this server`, gw, `${field}.port.protocol`);
  return 'TCP';
}

/** The server's hosts a VirtualService in `namespace` may bind to (Istio's NamesForNamespace). */
export function hostsFor(server: GatewayServer, namespace: string): readonly HostSet[] {
  const own = server.namespaceHosts.get(namespace);
  return own ? [server.anyNamespaceHosts, own] : [server.anyNamespaceHosts];
}
