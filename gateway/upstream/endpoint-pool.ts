// One undici Pool per endpoint origin. The pool's connect options (CA, client identity, SNI, expected
// SAN) are fixed when the pool is created, so a request never builds TLS options. Under auto mTLS one
// cluster can mix endpoints with and without TLS (Endpoint.plaintext): each pool has its own fixed transport.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { buildConnector as BuildConnector } from 'undici';
import { buildConnector, Pool } from './undici-pool.js';
import type { Cluster, Endpoint, TlsSecret, UpstreamTls } from '../../core/snapshot.js';

export class EndpointPool {
  readonly endpoint: Endpoint;
  /** `address:port`, for access logs (UPSTREAM_HOST). */
  readonly hostPort: string;
  readonly pool: Pool;
  /**
   * SNI for TLS clusters, passed on every dispatch: undici otherwise derives it from each request's
   * Host header (and reconnects when it changes), but the cluster's SNI is fixed.
   */
  readonly servername: string | undefined;
  /** Requests dispatched and not yet finished; LEAST_REQUEST reads it. */
  inFlight = 0;

  constructor(cluster: Cluster, endpoint: Endpoint, secrets: Readonly<Record<string, TlsSecret>>) {
    this.endpoint = endpoint;
    const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
    this.hostPort = `${host}:${endpoint.port}`;
    const tls = endpoint.plaintext ? undefined : cluster.tls;
    const scheme = tls ? 'https' : 'http';
    this.servername = tls ? serverName(cluster, tls) : undefined;
    const unavailable = tls?.unavailable;
    this.pool = new Pool(`${scheme}://${this.hostPort}`, {
      // Plaintext HTTP2/GRPC clusters speak h2 with prior knowledge (h2c), as Envoy does. Pool builds
      // its own connector without undici's useH2c, so the connector is built here.
      connect: unavailable
        ? refuseConnections(unavailable)
        : cluster.protocol === 'HTTP2' && !tls
          ? buildConnector({ ...(connectOptions(cluster, tls, secrets) as BuildConnector.BuildOptions), allowH2: true, useH2c: true } as unknown as BuildConnector.BuildOptions)
          : connectOptions(cluster, tls, secrets),
      allowH2: cluster.protocol === 'HTTP2',
      // Upstream keep-alive is ours to manage, independent of what the client asked for.
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      // Envoy's stream idle timeout (5 min) bounds a silent upstream when the route has no timeout.
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
    });
  }
}

/**
 * The cluster's TLS material could not be loaded: fail every connection before it is opened, as Envoy
 * fails handshakes on a bad SDS secret (503 UF), rather than connect with weaker trust or no client cert.
 */
function refuseConnections(why: string): BuildConnector.connector {
  return (_options, callback) => {
    const err = Object.assign(new Error(`upstream TLS material unavailable: ${why}`), { code: 'ERR_TLS_MATERIAL_UNAVAILABLE' });
    queueMicrotask(() => callback(err, null));
  };
}

function connectOptions(cluster: Cluster, tls: UpstreamTls | undefined, secrets: Readonly<Record<string, TlsSecret>>): Record<string, unknown> {
  const options: Record<string, unknown> = { timeout: cluster.connectTimeoutMs > 0 ? cluster.connectTimeoutMs : 10_000 };
  if (!tls) return options;
  const secret = tls.secret ? secrets[tls.secret] : undefined;
  const ca = tls.caPem ?? secret?.caPem;
  if (ca) options.ca = ca;
  if (tls.crlPem) options.crl = tls.crlPem;
  if (tls.mode === 'MUTUAL' || tls.mode === 'ISTIO_MUTUAL') {
    if (secret?.certPem) options.cert = secret.certPem;
    if (secret?.keyPem) options.key = secret.keyPem;
  }
  const sni = serverName(cluster, tls);
  if (sni) options.servername = sni;
  options.rejectUnauthorized = !tls.insecureSkipVerify;
  const sans = tls.subjectAltNames;
  if (sans.length > 0) {
    // Istio's subjectAltNames replace host-name verification: any listed SAN is accepted.
    options.checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
      const presented = (cert.subjectaltname ?? '').split(', ');
      for (const entry of presented) {
        const colon = entry.indexOf(':');
        if (colon >= 0 && sans.includes(entry.slice(colon + 1))) return undefined;
      }
      return new Error(`upstream certificate SANs [${cert.subjectaltname ?? ''}] match none of ${sans.join(', ')}`);
    };
  } else if (tls.mode === 'ISTIO_MUTUAL') {
    // No expected identity known: a certificate chaining to the mesh root is the whole check (Istio's
    // behaviour); the `outbound_.` SNI is a routing key for the peer, not a name in its certificate.
    options.checkServerIdentity = (): undefined => undefined;
  } else if (sni) {
    options.checkServerIdentity = (_host: string, cert: PeerCertificate) => checkServerIdentity(sni, cert);
  }
  return options;
}

function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

function serverName(cluster: Cluster, tls: UpstreamTls): string | undefined {
  return tls.sni ?? (isIpAddress(cluster.serviceHost) ? undefined : cluster.serviceHost);
}
