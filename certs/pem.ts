// Small PEM helpers on top of node:crypto's X509Certificate.
import { X509Certificate } from 'node:crypto';
import { ErrCode, GatehouseError } from '../core/errors.js';
import { parseSubjectAltNameText } from './subject-alt-names.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Every PEM block in `text` (certificates, keys, ...), in order, each ending with a newline. */
export function splitPemBundle(text: string): string[] {
  return Array.from(text.matchAll(PEM_BLOCK), (m) => `${m[0]}\n`);
}

export interface CertificateFacts {
  readonly subject: string;
  readonly issuer: string;
  /** Values only: DNS names, IP addresses and URIs (e.g. `localhost`, `127.0.0.1`, `spiffe://...`). */
  readonly subjectAltNames: readonly string[];
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  readonly serialNumber: string;
  readonly fingerprint256: string;
  readonly isCa: boolean;
}

/** Facts about the first certificate in `pem`. Throws GH_ERR_CERT when it does not parse. */
export function describeCertificate(pem: string): CertificateFacts {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch (err) {
    throw new GatehouseError(ErrCode.CERT, `not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  return {
    // Istio workload certificates have an empty subject, which node reports as undefined.
    subject: (x509.subject ?? '').replace(/\n/g, ', '),
    issuer: (x509.issuer ?? '').replace(/\n/g, ', '),
    subjectAltNames: parseSubjectAltNameText(x509.subjectAltName).map((san) => san.value),
    notBefore: new Date(x509.validFrom).toISOString(),
    notAfter: new Date(x509.validTo).toISOString(),
    serialNumber: x509.serialNumber,
    fingerprint256: x509.fingerprint256,
    isCa: x509.ca,
  };
}
