// Workload certificates as Istio's CA issues them: RSA 2048, an empty subject, the SPIFFE ID as the only
// (critical) SAN, usable for both ends of mutual TLS, short-lived.
import type { CertificateAuthority } from './authority.js';
import { randomSerial } from './serial.js';
import { spiffeId } from './spiffe.js';
import { generateRsaKeyPair } from './x509-builder.js';

/** Istio's WORKLOAD_RSA_KEY_SIZE. */
export const WORKLOAD_KEY_BITS = 2048;
/** Istio's SECRET_TTL. */
export const DEFAULT_WORKLOAD_TTL_MS = 24 * 60 * 60 * 1000;
/** Backdating covers peers whose clocks run a little behind ours. */
const CLOCK_SKEW_MS = 60_000;

export interface WorkloadCertificateRequest {
  /** Default: the CA's trust domain. */
  readonly trustDomain?: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Default 24 h. */
  readonly ttlMs?: number;
  /** Issue time; default now. Tests inject it. */
  readonly now?: number | Date;
}

export interface WorkloadCertificate {
  /** The leaf alone. */
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  /** Leaf followed by intermediates (Istio's cert-chain.pem); what a TLS endpoint presents. */
  readonly chainPem: string;
  /** The trust anchors (Istio's root-cert.pem); what peers put in `ca`. */
  readonly rootPem: string;
  readonly spiffeId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export async function issueWorkloadCertificate(
  ca: CertificateAuthority,
  request: WorkloadCertificateRequest,
): Promise<WorkloadCertificate> {
  const id = spiffeId({
    trustDomain: request.trustDomain ?? ca.trustDomain,
    namespace: request.namespace,
    serviceAccount: request.serviceAccount,
  });
  const ttlMs = request.ttlMs ?? DEFAULT_WORKLOAD_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`workload certificate TTL must be positive, got ${ttlMs} ms`);
  const now = request.now === undefined ? Date.now() : typeof request.now === 'number' ? request.now : request.now.getTime();
  // Never outlive the CA: a peer verifying the chain would reject the leaf once the CA expires anyway.
  const notAfter = wholeSeconds(Math.min(now + ttlMs, ca.notAfter.getTime()));
  const notBefore = wholeSeconds(now - CLOCK_SKEW_MS);

  const { keyPem, publicKeyPem } = await generateRsaKeyPair(WORKLOAD_KEY_BITS);
  const certPem = ca.sign({
    publicKeyPem,
    serialNumber: randomSerial(),
    notBefore,
    notAfter,
    // Istio's workload certificates have an empty subject; RFC 5280 then requires the SAN to be critical.
    // Node's TLS and OpenSSL accept it; peers identify the workload by the URI SAN, never by a CN.
    subject: [],
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: id }] },
      { name: 'subjectKeyIdentifier' },
    ],
  });
  return {
    certPem,
    keyPem,
    chainPem: [certPem, ...ca.intermediatePems].map(withNewline).join(''),
    rootPem: ca.rootPem,
    spiffeId: id,
    notBefore,
    notAfter,
  };
}

/** PEMs concatenated without a newline between them are rejected by OpenSSL (ERR_OSSL_PEM_BAD_END_LINE). */
function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

/** X.509 times have whole seconds; report what the certificate says. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}
