// Listeners and filter chains per port: plaintext HTTP ports get one chain and one route table
// (`http.<port>`); HTTPS servers each get a chain chosen by SNI with their own TLS settings and route
// table; PASSTHROUGH servers each get a chain carrying SNI → cluster routes.
import type { DownstreamTls, DownstreamTlsMode, FilterChain, Listener, RouteTable, TlsVersion } from '../../core/snapshot.js';
import type { TLSProtocol } from '../model/index.js';
import type { ClusterBuilder } from './clusters.js';
import { CfgCode } from './context.js';
import type { CompileContext } from './context.js';
import { buildRouteTable } from './route-table.js';
import type { SecretStore } from './secrets.js';
import type { GatewayServer, PortServers } from './servers.js';
import { buildTcpRoutes } from './tls-routes.js';
import type { VirtualServiceIndex } from './virtual-services.js';

export interface ListenerOutput {
  readonly listeners: Listener[];
  readonly routeTables: Record<string, RouteTable>;
}

export function buildListeners(
  ctx: CompileContext,
  ports: readonly PortServers[],
  virtualServices: VirtualServiceIndex,
  clusters: ClusterBuilder,
  secrets: SecretStore,
): ListenerOutput {
  const listeners: Listener[] = [];
  const routeTables: Record<string, RouteTable> = {};
  for (const p of ports) {
    const name = `0.0.0.0_${p.port}`;
    if (p.kind === 'TCP') continue;
    if (p.kind === 'HTTP') {
      const table = buildRouteTable(ctx, `http.${p.port}`, p.servers, virtualServices, clusters);
      routeTables[table.name] = table;
      listeners.push({ name, port: p.port, protocol: 'HTTP', filterChains: [{ name: table.name, serverNames: [], routeTable: table.name }] });
      continue;
    }
    const chains: FilterChain[] = [];
    const claimed = new Map<string, GatewayServer>();
    const chainNames = new Set<string>();
    // Servers sharing one route name (same Gateway, same port name) share one route table, as in Istio.
    const byRouteName = new Map<string, GatewayServer[]>();
    for (const s of p.servers) {
      const list = byRouteName.get(s.routeName);
      if (list) list.push(s);
      else byRouteName.set(s.routeName, [s]);
    }
    for (const s of p.servers) {
      const serverNames = claimServerNames(ctx, s, claimed);
      if (serverNames.length === 0) continue;
      let chainName = s.routeName;
      if (chainNames.has(chainName)) chainName = `${s.routeName}.${s.index}`;
      chainNames.add(chainName);
      if (p.kind === 'HTTPS') {
        if (!routeTables[s.routeName]) {
          routeTables[s.routeName] = buildRouteTable(ctx, s.routeName, byRouteName.get(s.routeName) ?? [s], virtualServices, clusters);
        }
        chains.push({ name: chainName, serverNames, tls: downstreamTls(ctx, s, secrets), routeTable: s.routeName });
      } else {
        chains.push({ name: chainName, serverNames, tcpRoutes: buildTcpRoutes(ctx, s, virtualServices, clusters) });
      }
    }
    if (chains.length > 0) listeners.push({ name, port: p.port, protocol: p.kind, filterChains: chains });
  }
  return { listeners, routeTables };
}

/**
 * SNI names of a TLS server (its hosts without namespace). As in Istio's MergeGateways, a server repeating
 * a host an earlier TLS server on the port already has is skipped whole (Envoy cannot have two filter
 * chains match one SNI), and the loser is named.
 */
function claimServerNames(ctx: CompileContext, s: GatewayServer, claimed: Map<string, GatewayServer>): string[] {
  const out: string[] = [];
  for (const h of s.hosts) if (!out.includes(h.host)) out.push(h.host);
  const taken = out.filter((h) => claimed.has(h));
  if (taken.length > 0) {
    const owner = claimed.get(taken[0] as string) as GatewayServer;
    ctx.warn(
      CfgCode.CONFLICT,
      `${taken.join(', ')} on port ${s.port} already served by Gateway ${owner.gatewayKey} ${owner.field}; this server is ignored`,
      s.gateway,
      `${s.field}.hosts`,
    );
    return [];
  }
  for (const h of out) claimed.set(h, s);
  return out;
}

function downstreamTls(ctx: CompileContext, s: GatewayServer, secrets: SecretStore): DownstreamTls {
  const tls = s.server.tls ?? {};
  const field = `${s.field}.tls`;
  const mode: DownstreamTlsMode = tls.mode === 'MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL' ? tls.mode : 'SIMPLE';
  const ns = ctx.options.identity.namespace;
  const credentialName = stripSdsPrefix(tls.credentialName ?? tls.credentialNames?.[0]);
  let secret: string | undefined;
  let clientCaSecret: string | undefined;
  if (!credentialName) {
    const why = tls.serverCertificate ? 'certificate file paths are not read; use credentialName' : 'no credentialName';
    ctx.warn(tls.serverCertificate ? CfgCode.UNSUPPORTED : CfgCode.REQUIRED, `${why}; this server refuses TLS handshakes`, s.gateway, field);
  } else {
    const use = { resource: s.gateway, field: `${field}.credentialName` };
    secret = secrets.serverCertificate(ns, credentialName, use);
    if (secret && mode !== 'SIMPLE') {
      const caName = tls.caCertCredentialName ?? credentialName;
      clientCaSecret = secrets.caBundle(ns, caName, tls.caCertCredentialName ? { resource: s.gateway, field: `${field}.caCertCredentialName` } : use);
      // Client verification without a CA cannot be done safely: the whole chain refuses handshakes.
      if (!clientCaSecret) secret = undefined;
    }
  }
  return {
    mode,
    ...(secret ? { secret } : {}),
    ...(clientCaSecret && secret ? { clientCaSecret } : {}),
    minVersion: tlsVersion(ctx, s, tls.minProtocolVersion, 'TLSv1.2', `${field}.minProtocolVersion`),
    maxVersion: tlsVersion(ctx, s, tls.maxProtocolVersion, 'TLSv1.3', `${field}.maxProtocolVersion`),
    ...(tls.cipherSuites && tls.cipherSuites.length > 0 ? { cipherSuites: [...tls.cipherSuites] } : {}),
    subjectAltNames: [...(tls.subjectAltNames ?? [])],
    ...pins(ctx, s, tls.verifyCertificateSpki, tls.verifyCertificateHash, field),
    alpn: ['h2', 'http/1.1'],
  };
}

/**
 * Envoy's spellings normalised once: hashes as lower-case hex without colons, SPKI pins as base64 of 32
 * bytes. A malformed pin is reported and kept as written: it then matches nothing, so a typo fails closed
 * instead of silently dropping the pin.
 */
function pins(
  ctx: CompileContext,
  s: GatewayServer,
  spki: readonly string[] | undefined,
  hash: readonly string[] | undefined,
  field: string,
): { verifyCertificateSpki?: string[]; verifyCertificateHash?: string[] } {
  const out: { verifyCertificateSpki?: string[]; verifyCertificateHash?: string[] } = {};
  if (hash && hash.length > 0) {
    out.verifyCertificateHash = hash.map((h, i) => {
      const hex = h.replaceAll(':', '').toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(hex)) ctx.warn(CfgCode.VALUE, `not a SHA-256 certificate hash (64 hex digits, colons allowed): ${JSON.stringify(h)}; it matches no certificate`, s.gateway, `${field}.verifyCertificateHash[${i}]`);
      return hex;
    });
  }
  if (spki && spki.length > 0) {
    out.verifyCertificateSpki = spki.map((p, i) => {
      if (!/^[A-Za-z0-9+/]{43}=$/.test(p)) ctx.warn(CfgCode.VALUE, `not a base64 SHA-256 SPKI pin (44 characters): ${JSON.stringify(p)}; it matches no certificate`, s.gateway, `${field}.verifyCertificateSpki[${i}]`);
      return p;
    });
  }
  return out;
}

function tlsVersion(ctx: CompileContext, s: GatewayServer, v: TLSProtocol | undefined, fallback: TlsVersion, field: string): TlsVersion {
  if (v === 'TLSV1_2') return 'TLSv1.2';
  if (v === 'TLSV1_3') return 'TLSv1.3';
  if (v === 'TLSV1_0' || v === 'TLSV1_1') {
    ctx.warn(CfgCode.UNSUPPORTED, `${v} is not offered; TLS 1.2 is the minimum`, s.gateway, field);
    return 'TLSv1.2';
  }
  return fallback;
}

/** `kubernetes://name` is the SDS spelling of a plain credentialName. */
export function stripSdsPrefix(name: string | undefined): string | undefined {
  return name?.startsWith('kubernetes://') ? name.slice('kubernetes://'.length) : name;
}
