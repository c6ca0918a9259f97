// One undici Pool per endpoint origin, opened on the endpoint's first request. The pool's connect options
// (CA, client identity, SNI, expected SAN) are fixed when the endpoint is warmed, so a request never
// builds TLS options. Under auto mTLS one
// cluster can mix endpoints with and without TLS (Endpoint.plaintext): each pool has its own fixed transport.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { buildConnector as BuildConnector } from 'undici';
import { buildConnector, Pool } from './undici-pool.js';
import type { Cluster, Endpoint, TlsSecret, UpstreamTls } from '../../core/snapshot.js';

export class EndpointPool {
  readonly endpoint: Endpoint;
  /** `address:port`, for access logs (UPSTREAM_HOST). */
  readonly hostPort: string;
  /**
   * SNI for TLS clusters, passed on every dispatch: undici otherwise derives it from each request's
   * Host header (and reconnects when it changes), but the cluster's SNI is fixed.
   */
  readonly servername: string | undefined;
  /** Requests dispatched and not yet finished; LEAST_REQUEST reads it. */
  inFlight = 0;
  private readonly origin: string;
  /** Fixed when the endpoint is warmed, so opening the Pool later reads nothing from the snapshot. */
  private readonly connect: Record<string, unknown> | BuildConnector.connector;
  private readonly h2c: boolean;
  private readonly allowH2: boolean;
  private opened: Pool | undefined = undefined;
  private retired = false;

  constructor(cluster: Cluster, endpoint: Endpoint, secrets: Readonly<Record<string, TlsSecret>>) {
    this.endpoint = endpoint;
    const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
    this.hostPort = `${host}:${endpoint.port}`;
    const tls = endpoint.plaintext ? undefined : cluster.tls;
    this.origin = `${tls ? 'https' : 'http'}://${this.hostPort}`;
    this.servername = tls ? serverName(cluster, tls) : undefined;
    const unavailable = tls?.unavailable;
    this.connect = unavailable ? refuseConnections(unavailable) : connectOptions(cluster, tls, secrets);
    // Plaintext HTTP2/GRPC clusters speak h2 with prior knowledge (h2c), as Envoy does.
    this.h2c = !unavailable && cluster.protocol === 'HTTP2' && !tls;
    this.allowH2 = cluster.protocol === 'HTTP2';
  }

  /**
   * The undici Pool to this endpoint, opened on the first request: an idle Pool holds a 2,048-slot
   * request queue and its connector's session cache (~16 KiB), and most of a large config's clusters
   * may never see a request in a given process (docs/performance.md, workers at scale). After
   * retirement a Pool that was never opened is a closed one: the request fails as on any closed Pool
   * instead of opening connections nothing would close.
   */
  get pool(): Pool {
    return this.opened ?? this.open();
  }

  /** Whether a request ever opened this endpoint's Pool. */
  get isOpen(): boolean {
    return this.opened !== undefined;
  }

  /** The Pool if one was opened, for closing; marks the endpoint retired either way. */
  retire(): Pool | undefined {
    this.retired = true;
    return this.opened;
  }

  private open(): Pool {
    if (this.retired) return closedPool();
    this.opened = new Pool(this.origin, {
      // Pool builds its own connector without undici's useH2c, so an h2c connector is built here.
      connect: this.h2c
        ? buildConnector({ ...(this.connect as BuildConnector.BuildOptions), allowH2: true, useH2c: true } as unknown as BuildConnector.BuildOptions)
        : this.connect,
      allowH2: this.allowH2,
      // Upstream keep-alive is ours to manage, independent of what the client asked for.
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      // Envoy's stream idle timeout (5 min) bounds a silent upstream when the route has no timeout.
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
    });
    return this.opened;
  }
}

let closed: Pool | undefined;
/** One closed Pool per process: dispatching on it reports ClientClosedError to the handler. */
function closedPool(): Pool {
  if (!closed) {
    closed = new Pool('http://127.0.0.1:9');
    void closed.close();
  }
  return closed;
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
