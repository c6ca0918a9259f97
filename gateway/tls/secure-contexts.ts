// Server-side TLS: SecureContexts per terminating filter chain, cached by the content that shapes
// them so an unchanged secret keeps its context across snapshots, and the per-chain client
// certificate policy that node only exposes per server.
import { constants as cryptoConstants, createHash, createHmac, randomBytes, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { DownstreamTls, FilterChain, Snapshot } from '../../core/snapshot.js';
import { pinRefusal } from '../tls-pins.js';

export interface ChainContext {
  readonly context: SecureContext;
  /** The options it was built from, for `server.setSecureContext` (clients that send no SNI). */
  readonly options: SecureContextOptions;
  /** SHA-256 (hex) of the leaf certificate's DER, the key node's OCSPRequest event can be matched on. */
  readonly leafKey: string;
  /** DER OCSP response stapled to handshakes that ask for one (the Secret's `tls.ocsp-staple`). */
  readonly staple?: Buffer;
}

export class SecureContextCache {
  private cache = new Map<string, ChainContext>();

  /**
   * @param ticketSeed secret the chains' session ticket keys are derived from. Processes given the same
   * seed (the workers of one gateway) make the same keys for the same chain content, so a session
   * resumes on whichever worker accepts the connection; a new seed per gateway start retires them all.
   */
  constructor(private readonly ticketSeed: Buffer = randomBytes(32)) {}

  /**
   * Contexts for every terminating chain of the snapshot whose secret can serve. A chain left out
   * refuses its handshakes; `problems` says why, for the operational log.
   */
  warm(snapshot: Snapshot, problems: string[]): Map<FilterChain, ChainContext> {
    const next = new Map<string, ChainContext>();
    const byChain = new Map<FilterChain, ChainContext>();
    for (const listener of snapshot.listeners) {
      if (listener.protocol !== 'HTTPS') continue;
      for (const chain of listener.filterChains) {
        const tls = chain.tls;
        if (!tls?.secret) continue;
        const secret = snapshot.secrets[tls.secret];
        if (!secret?.certPem || !secret.keyPem) {
          problems.push(`chain ${chain.name}: secret ${tls.secret} has no certificate and key`);
          continue;
        }
        const clientCa = tls.clientCaSecret ? snapshot.secrets[tls.clientCaSecret]?.caPem : undefined;
        if (tls.mode !== 'SIMPLE' && !clientCa) {
          problems.push(`chain ${chain.name}: ${tls.mode} without a client CA`);
          continue;
        }
        const options: SecureContextOptions = {
          cert: secret.certPem,
          key: secret.keyPem,
          minVersion: tls.minVersion,
          maxVersion: tls.maxVersion,
          ...(clientCa ? { ca: clientCa } : {}),
          ciphers: tls.cipherSuites && tls.cipherSuites.length > 0 ? tls.cipherSuites.join(':') : EDGE_CIPHERS,
          secureOptions: EDGE_SECURE_OPTIONS,
        };
        // The chain and its whole TLS policy are part of the key: each chain gets its own context and
        // ticket keys, so a session resumes only on the chain (and policy, and certificate) that made it.
        const key = contentKey(chain.name, tls, options, secret.ocspStaple);
        let entry = next.get(key) ?? this.cache.get(key);
        if (!entry) {
          try {
            entry = {
              context: createSecureContext({ ...options, ticketKeys: this.ticketKeys(key), sessionIdContext: sessionIdContext(chain.name) }),
              options,
              leafKey: leafKey(secret.certPem),
              ...(secret.ocspStaple ? { staple: Buffer.from(secret.ocspStaple, 'base64') } : {}),
            };
          } catch (err) {
            problems.push(`chain ${chain.name}: ${(err as Error).message}`);
            continue;
          }
        }
        next.set(key, entry);
        byChain.set(chain, entry);
      }
    }
    this.cache = next;
    return byChain;
  }

  /** 48 bytes (OpenSSL's name, HMAC and AES keys) per chain content: SHA-384 is exactly that long. */
  private ticketKeys(contentKey: string): Buffer {
    return createHmac('sha384', this.ticketSeed).update(contentKey).digest();
  }
}

/**
 * TLS 1.2 suites offered when a Gateway names none: forward-secret (ECDHE) AEAD only, Mozilla's
 * "intermediate" list; CBC and RSA key exchange suites are what sslscan and testssl.sh flag. TLS 1.3
 * suites are all AEAD and keep node's defaults.
 */
export const EDGE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** No renegotiation (a client-driven CPU cost with no use at the edge); the server's suite order wins. */
export const EDGE_SECURE_OPTIONS = cryptoConstants.SSL_OP_NO_RENEGOTIATION | cryptoConstants.SSL_OP_CIPHER_SERVER_PREFERENCE;

function contentKey(chainName: string, tls: DownstreamTls, options: SecureContextOptions, staple: string | undefined): string {
  return createHash('sha256').update(JSON.stringify([chainName, tls, options, staple ?? ''])).digest('hex');
}

/** OpenSSL's session id context is at most 32 bytes; a session is only resumed within its own. */
function sessionIdContext(chainName: string): string {
  return createHash('sha256').update(chainName).digest('hex').slice(0, 32);
}

/** SHA-256 of the DER leaf; the same value `certificateKey` computes from node's OCSPRequest argument. */
function leafKey(certPem: string): string {
  return certificateKey(new X509Certificate(certPem).raw);
}

export function certificateKey(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Node internals used to choose client-certificate policy per connection, at SNI time. */
interface TlsSocketInternals {
  _requestCert: boolean;
  _rejectUnauthorized: boolean;
  _handle: { setVerifyMode(requestCert: boolean, rejectUnauthorized: boolean): void } | null;
}

/**
 * Asks for a client certificate on MUTUAL and OPTIONAL_MUTUAL chains only. Node sets the verify mode
 * per server; the TLS handle's own setter (used by node's renegotiate) switches it per socket, before
 * the CertificateRequest is sent. MUTUAL also makes node refuse an unverified or absent certificate.
 */
export function applyClientCertPolicy(socket: TLSSocket, tls: DownstreamTls): void {
  if (tls.mode === 'SIMPLE') return;
  const s = socket as unknown as TlsSocketInternals;
  const reject = tls.mode === 'MUTUAL';
  s._handle?.setVerifyMode(true, reject);
  s._requestCert = true;
  s._rejectUnauthorized = reject;
}

/**
 * After the handshake: the negotiated version must sit within the chain's bounds, and a presented client
 * certificate must verify and carry an accepted SAN. Returns why the connection is refused, or undefined.
 * `versionEnforced`: the connection started in the chain's own context, whose min/max version OpenSSL
 * enforced in the handshake, so the version is not asked again; the fallback path (chain chosen at SNI
 * time, in the default context) passes false.
 */
export function refuseReason(socket: TLSSocket, tls: DownstreamTls, versionEnforced = false): string | undefined {
  if (!versionEnforced) {
    const version = socket.getProtocol();
    if (version && (version < tls.minVersion || version > tls.maxVersion)) return `TLS version ${version} outside ${tls.minVersion}..${tls.maxVersion}`;
  }
  if (tls.mode === 'SIMPLE') return undefined;
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
  if (!presented) return tls.mode === 'MUTUAL' ? 'client certificate required' : undefined;
  if (!socket.authorized) return `client certificate rejected: ${String(socket.authorizationError)}`;
  if (tls.subjectAltNames.length > 0) {
    const sans = (cert.subjectaltname ?? '').split(', ').map((e) => e.slice(e.indexOf(':') + 1));
    if (!sans.some((s) => tls.subjectAltNames.includes(s))) return 'client certificate SAN not accepted';
  }
  return pinRefusal(socket.getPeerX509Certificate(), tls);
}

/**
 * Envoy's x-forwarded-client-cert value for the verified peer certificate (Hash, Subject, URI and DNS
 * SANs), computed once per connection.
 */
export function forwardedClientCert(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerX509Certificate();
  if (!cert) return undefined;
  const hash = cert.fingerprint256.replaceAll(':', '').toLowerCase();
  const subject = cert.subject.split('\n').reverse().join(',');
  let value = `Hash=${hash};Subject="${subject.replaceAll('"', '\\"')}"`;
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('URI:')) value += `;URI=${entry.slice(4)}`;
    else if (entry.startsWith('DNS:')) value += `;DNS=${entry.slice(4)}`;
  }
  return value;
}
