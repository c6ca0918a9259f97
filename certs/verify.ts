// Certificate checks shared by the control plane (is this Secret usable?) and the data plane (is this peer
// who the configuration expects?). Everything here is node:crypto, so RSA and ECDSA certificates behave
// alike: node-forge cannot even parse an EC certificate.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { ErrCode, GatehouseError } from '../core/errors.js';
import { splitPemBundle } from './pem.js';
import { parseSubjectAltNameText, type SubjectAltName } from './subject-alt-names.js';

export {
  canonicalIp,
  dnsNameMatches,
  matchesSubjectAltNames,
  parseSubjectAltNameText,
  type SubjectAltName,
  type SubjectAltNameType,
} from './subject-alt-names.js';

/** The subject alternative names of the first certificate in `pem`, in certificate order. */
export function certificateSans(pem: string | X509Certificate): SubjectAltName[] {
  return parseSubjectAltNameText(toX509(pem).subjectAltName);
}

export type ChainVerification =
  | { readonly valid: true; /** Leaf first, trust anchor last. */ readonly path: readonly X509Certificate[] }
  | { readonly valid: false; readonly problem: ChainProblem; readonly reason: string };

/** Why a chain did not verify: callers map these to their own codes (an expired CA is not an untrusted one). */
export type ChainProblem = 'unparseable' | 'no-root' | 'expired' | 'not-yet-valid' | 'untrusted' | 'too-long';

/** Longer chains than this are not real PKI; the bound also keeps the path search finite on any input. */
const MAX_CHAIN_DEPTH = 8;

/**
 * Builds a path from `leafPem` through `chainPems` (any order; extra certificates ignored; a bundle per
 * string is fine) to one of `rootPems`, checking at each step that the issuer's subject and key identifiers
 * match (checkIssued), that its key verifies the signature, that it is a CA, and that every certificate on
 * the path is valid at `now`. A root given in the chain is only trusted when it is also among `rootPems`.
 */
export function verifyChain(
  leafPem: string | X509Certificate,
  chainPems: readonly string[],
  rootPems: readonly string[],
  now: Date | number = Date.now(),
): ChainVerification {
  const at = typeof now === 'number' ? now : now.getTime();
  let leaf: X509Certificate;
  let intermediates: X509Certificate[];
  let roots: X509Certificate[];
  try {
    leaf = toX509(leafPem);
    intermediates = chainPems.flatMap(parseCertificates);
    roots = rootPems.flatMap(parseCertificates);
  } catch (err) {
    return { valid: false, problem: 'unparseable', reason: (err as Error).message };
  }
  if (roots.length === 0) return { valid: false, problem: 'no-root', reason: 'no root certificate to verify against' };

  const path: X509Certificate[] = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    const invalid = validityProblem(current, at);
    if (invalid) return invalid;
    const root = roots.find((r) => r.fingerprint256 === current.fingerprint256);
    if (root) return { valid: true, path };
    const anchor = roots.find((r) => signedBy(current, r));
    if (anchor) {
      const problem = validityProblem(anchor, at);
      if (problem) return problem;
      return { valid: true, path: [...path, anchor] };
    }
    const issuer = intermediates.find((c) => !path.includes(c) && signedBy(current, c));
    if (!issuer) {
      return { valid: false, problem: 'untrusted', reason: `no issuer found for "${subjectOf(current)}" (issuer "${oneLine(current.issuer)}") among the chain and roots` };
    }
    path.push(issuer);
    current = issuer;
  }
  return { valid: false, problem: 'too-long', reason: `chain longer than ${MAX_CHAIN_DEPTH} certificates` };
}

function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  if (!issuer.ca || !child.checkIssued(issuer)) return false;
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function validityProblem(cert: X509Certificate, at: number): ChainVerification | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (at < from) {
    return { valid: false, problem: 'not-yet-valid', reason: `certificate "${subjectOf(cert)}" is not valid before ${new Date(from).toISOString()}` };
  }
  if (at > to) return { valid: false, problem: 'expired', reason: `certificate "${subjectOf(cert)}" expired at ${new Date(to).toISOString()}` };
  return undefined;
}

/** True when `keyPem` is the private key of the first certificate in `certPem` (RSA or ECDSA). */
export function keyMatchesCertificate(keyPem: string | KeyObject, certPem: string | X509Certificate): boolean {
  const cert = toX509(certPem);
  let key: KeyObject;
  try {
    key = typeof keyPem === 'string' ? createPrivateKey(keyPem) : keyPem;
  } catch (err) {
    throw new GatehouseError(ErrCode.CERT, `not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType !== cert.publicKey.asymmetricKeyType) return false;
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/** Every certificate in a PEM bundle, in order. Throws GH_ERR_CERT on a block that does not parse. */
export function parseCertificates(bundle: string): X509Certificate[] {
  return splitPemBundle(bundle)
    .filter((block) => block.startsWith('-----BEGIN CERTIFICATE-----'))
    .map((block) => toX509(block));
}

function toX509(pem: string | X509Certificate): X509Certificate {
  if (typeof pem !== 'string') return pem;
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new GatehouseError(ErrCode.CERT, `not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
}

/** A certificate's subject on one line; Istio workload certificates have none, so say so. */
export function subjectOf(cert: X509Certificate): string {
  return cert.subject ? oneLine(cert.subject) : '(empty subject)';
}

function oneLine(name: string | undefined): string {
  return (name ?? '').replace(/\n/g, ', ');
}
