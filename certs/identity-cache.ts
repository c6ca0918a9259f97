// A workload certificate kept beside the CA state, so a restarted gateway presents the certificate it
// already had instead of generating a new RSA key at every start (about half a second of CPU on a busy
// node, and a new identity for peers to see). Reused only while it is in the first part of its life
// (before renewal would be due), for the same SPIFFE ID, from the same signing CA, with its own key.
// Written under a temporary name and renamed into place (mode 0600: it holds a private key).
import { X509Certificate, createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertificateAuthority } from './authority.js';
import { DEFAULT_GRACE_RATIO, renewalTime } from './rotation.js';
import { randomSerial } from './serial.js';
import { keyMatchesCertificate } from './verify.js';
import type { WorkloadCertificate } from './workload.js';

interface CachedIdentity {
  readonly spiffeId: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly chainPem: string;
}

function cacheFile(dir: string, ca: CertificateAuthority, spiffeId: string): string {
  const key = createHash('sha256').update(`${ca.fingerprint256}\n${spiffeId}`).digest('hex').slice(0, 16);
  return join(dir, `workload-${key}.json`);
}

/** The cached certificate for `spiffeId`, when it is still fresh at `now`; otherwise undefined. */
export async function loadCachedIdentity(
  dir: string,
  ca: CertificateAuthority,
  spiffeId: string,
  now: number,
  graceRatio: number = DEFAULT_GRACE_RATIO,
): Promise<WorkloadCertificate | undefined> {
  let cached: CachedIdentity;
  try {
    cached = JSON.parse(await readFile(cacheFile(dir, ca, spiffeId), 'utf8')) as CachedIdentity;
  } catch {
    return undefined;
  }
  try {
    if (cached.spiffeId !== spiffeId) return undefined;
    const leaf = new X509Certificate(cached.certPem);
    const issuer = new X509Certificate(ca.certPem);
    if (!leaf.checkIssued(issuer) || !leaf.verify(issuer.publicKey)) return undefined;
    if (leaf.subjectAltName !== `URI:${spiffeId}`) return undefined;
    if (!keyMatchesCertificate(cached.keyPem, leaf)) return undefined;
    const notBefore = new Date(leaf.validFrom);
    const notAfter = new Date(leaf.validTo);
    // No jitter: a certificate this close to renewal is simply issued anew.
    if (now >= renewalTime({ notBefore, notAfter, graceRatio, jitterRatio: 0 })) return undefined;
    return { certPem: cached.certPem, keyPem: cached.keyPem, chainPem: cached.chainPem, rootPem: ca.rootPem, spiffeId, notBefore, notAfter };
  } catch {
    return undefined;
  }
}

export async function storeCachedIdentity(dir: string, ca: CertificateAuthority, certificate: WorkloadCertificate): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const target = cacheFile(dir, ca, certificate.spiffeId);
  const temp = `${target}.${process.pid}.${randomSerial().slice(0, 8)}.tmp`;
  const body: CachedIdentity = {
    spiffeId: certificate.spiffeId,
    certPem: certificate.certPem,
    keyPem: certificate.keyPem,
    chainPem: certificate.chainPem,
  };
  await writeFile(temp, JSON.stringify(body), { mode: 0o600, flag: 'wx' });
  await rename(temp, target);
}
