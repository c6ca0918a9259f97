// Shared by the compile, golden and simulation tests: manifests → compiled snapshot body, certificates
// made at test time with the openssl CLI, and a described request → the outcome the gateway would give.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileSnapshot } from '../../routes/compile/index.js';
import type { CompileOptions, CompileResult } from '../../routes/compile/index.js';
import { findVirtualHost, matchRoute, matchTcpRoute, pickDestination, selectFilterChain } from '../../routes/match.js';
import type { RouteRequest } from '../../routes/match.js';
import { parseManifests } from '../../routes/parse.js';
import type { Route } from '../../core/snapshot.js';

export const DEFAULT_OPTIONS: CompileOptions = {
  identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' },
  domainSuffix: 'cluster.local',
};

export function compileYaml(text: string, options: Partial<CompileOptions> = {}, defaultNamespace = 'default'): CompileResult {
  const parsed = parseManifests([{ path: 'input.yaml', text }], { defaultNamespace });
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(`parse errors: ${JSON.stringify(errors)}`);
  return compileSnapshot(parsed.resources, { ...DEFAULT_OPTIONS, ...options });
}

// ----- certificates ---------------------------------------------------------------------------------

export interface Pem {
  readonly keyPem: string;
  readonly crtPem: string;
}
export interface CertAuthority extends Pem {
  readonly keyFile: string;
  readonly crtFile: string;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function makeCa(dir: string, name: string): CertAuthority {
  const keyFile = path.join(dir, `${name}-key.pem`);
  const crtFile = path.join(dir, `${name}-cert.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile,
    '-out', crtFile, '-days', '30', '-subj', `/O=gatehouse-test/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
  return { keyFile, crtFile, keyPem: fs.readFileSync(keyFile, 'utf8'), crtPem: fs.readFileSync(crtFile, 'utf8') };
}

/** A leaf for `hosts` signed by `ca`; `days` may be negative-free only, so expiry is tested via `now`. */
export function issueCert(dir: string, ca: CertAuthority, name: string, hosts: readonly string[], days = 10): Pem {
  const base = path.join(dir, name.replace(/[^\w.-]/g, '_'));
  fs.writeFileSync(`${base}.ext`, `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}-key.pem`,
    '-out', `${base}.csr`, '-subj', `/O=gatehouse-test/CN=${hosts[0] ?? name}`], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', ca.crtFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-out', `${base}-cert.pem`, '-days', String(days), '-extfile', `${base}.ext`], { stdio: 'ignore' });
  return { keyPem: fs.readFileSync(`${base}-key.pem`, 'utf8'), crtPem: fs.readFileSync(`${base}-cert.pem`, 'utf8') };
}

export function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

export function secretYaml(name: string, namespace: string, type: string, data: Record<string, string>): string {
  const lines = Object.entries(data).map(([k, v]) => `  ${k}: ${v === '' ? '""' : b64(v)}`);
  return `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ntype: ${type}\ndata:\n${lines.join('\n')}\n`;
}

/** True when `cert` was signed by the CA bundle `caPem` (first certificate). */
export function signedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

// ----- simulation -----------------------------------------------------------------------------------

export type Outcome =
  | { readonly kind: 'cluster'; readonly cluster: string; readonly route: Route }
  | { readonly kind: 'status'; readonly status: number; readonly why: string }
  | { readonly kind: 'redirect'; readonly status: number }
  | { readonly kind: 'tlsError'; readonly why: string }
  | { readonly kind: 'refused' };

export interface SimCall {
  readonly port: number;
  readonly host: string;
  readonly path: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly tls?: boolean;
  readonly sni?: string | null;
  /** PEM of the client certificate presented, if any. */
  readonly clientCertPem?: string;
}

/** What the gateway would do with a request, decided only through compile output and routes/match. */
export function simulate(result: CompileResult, call: SimCall, random = 0): Outcome {
  const body = result.body;
  const listener = body.listeners.find((l) => l.port === call.port);
  if (!listener) return { kind: 'refused' };
  const hostNoPort = call.host.replace(/:\d+$/, '').toLowerCase();
  const sni = call.tls ? (call.sni ?? hostNoPort) : undefined;
  if (call.tls && listener.protocol === 'HTTP') return { kind: 'tlsError', why: 'plaintext listener' };
  if (!call.tls && listener.protocol !== 'HTTP') return { kind: 'tlsError', why: 'TLS listener got plaintext' };
  const chain = selectFilterChain(listener, sni);
  if (!chain) return { kind: 'tlsError', why: `no filter chain for SNI ${sni}` };
  if (listener.protocol === 'TLS') {
    const tcp = matchTcpRoute(chain, sni);
    if (!tcp) return { kind: 'tlsError', why: 'no tcp route' };
    const d = pickDestination(tcp.destinations, tcp.totalWeight, random);
    return { kind: 'cluster', cluster: d.cluster, route: { name: tcp.name, virtualService: '', match: [], action: { type: 'forward', destinations: tcp.destinations, totalWeight: tcp.totalWeight }, timeoutMs: 0 } };
  }
  if (chain.tls) {
    if (!chain.tls.secret) return { kind: 'tlsError', why: 'no usable server certificate' };
    if (chain.tls.mode !== 'SIMPLE') {
      const ca = chain.tls.clientCaSecret ? body.secrets[chain.tls.clientCaSecret]?.caPem : undefined;
      if (!ca) return { kind: 'tlsError', why: 'no client CA' };
      if (call.clientCertPem && !signedBy(call.clientCertPem, ca)) return { kind: 'tlsError', why: 'client certificate not signed by the CA' };
      if (!call.clientCertPem && chain.tls.mode === 'MUTUAL') return { kind: 'tlsError', why: 'client certificate required' };
    }
  }
  const table = chain.routeTable ? body.routeTables[chain.routeTable] : undefined;
  if (!table) return { kind: 'status', status: 404, why: 'no route table' };
  const vhost = findVirtualHost(table, hostNoPort);
  if (!vhost) return { kind: 'status', status: 404, why: 'no virtual host' };
  const scheme = call.tls ? 'https' : 'http';
  if (vhost.requireTls && scheme === 'http') return { kind: 'redirect', status: 301 };
  const request: RouteRequest = {
    host: hostNoPort,
    path: call.path.split('?')[0] ?? '/',
    query: call.path.includes('?') ? call.path.slice(call.path.indexOf('?') + 1) : '',
    method: call.method ?? 'GET',
    scheme,
    port: call.port,
    headers: Object.fromEntries(Object.entries(call.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const route = matchRoute(vhost, request);
  if (!route) return { kind: 'status', status: 404, why: `no route in vhost ${vhost.name}` };
  const action = route.action;
  if (action.type === 'redirect') return { kind: 'redirect', status: action.code };
  if (action.type === 'direct') return { kind: 'status', status: action.status, why: 'direct response' };
  const d = pickDestination(action.destinations, action.totalWeight, random);
  return { kind: 'cluster', cluster: d.cluster, route };
}

/** Request headers a route (and its chosen destination) sets or adds upstream. */
export function upstreamHeaders(route: Route, cluster: string): Record<string, string> {
  const out: Record<string, string> = {};
  const apply = (ops: { set: Readonly<Record<string, string>>; add: Readonly<Record<string, string>> } | undefined): void => {
    if (!ops) return;
    Object.assign(out, ops.add, ops.set);
  };
  apply(route.requestHeaders);
  if (route.action.type === 'forward') apply(route.action.destinations.find((d) => d.cluster === cluster)?.requestHeaders);
  return out;
}

/** The smallest Gateway the compile tests bind to: `istio-system/gw`, HTTP on 80, every host. */
export const HTTP_GATEWAY_YAML = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`;
