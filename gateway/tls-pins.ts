// Client certificate pins of a Gateway server (Envoy's verify_certificate_spki and
// verify_certificate_hash): checked once per connection, after the chain and SAN checks, against lists
// the compiler already normalised. Either list matching accepts, as in Envoy.
import { createHash, type X509Certificate } from 'node:crypto';
import type { DownstreamTls } from '../core/snapshot.js';

/** Why the presented certificate does not satisfy the pins, or undefined (also when there are none). */
export function pinRefusal(cert: X509Certificate | undefined, tls: DownstreamTls): string | undefined {
  const spki = tls.verifyCertificateSpki;
  const hash = tls.verifyCertificateHash;
  if ((!spki || spki.length === 0) && (!hash || hash.length === 0)) return undefined;
  if (!cert) return undefined;
  if (hash && hash.length > 0 && hash.includes(certificateHash(cert))) return undefined;
  if (spki && spki.length > 0 && spki.includes(spkiHash(cert))) return undefined;
  return 'client certificate matches no pinned hash or SPKI';
}

/** Lower-case hex SHA-256 of the DER certificate: what `openssl x509 -fingerprint -sha256` prints, without colons. */
export function certificateHash(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** Base64 SHA-256 of the DER SubjectPublicKeyInfo (HPKP's pin-sha256). */
export function spkiHash(cert: X509Certificate): string {
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}
