// A self-signed server certificate for the demo and for tests: trusted by pinning the certificate
// itself, never by a CA. The RSA key comes from node:crypto's asynchronous generator (the sync form
// blocks the event loop for hundreds of milliseconds); node-forge only assembles and signs the X.509.
import { generateKeyPair } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { stringify } from 'yaml';
import { ErrCode, GatehouseError } from '../core/errors.js';
import { randomSerial } from './serial.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface SelfSignedOptions {
  /** DNS names and IP addresses the certificate is valid for; the first is also the subject CN. */
  readonly hosts: readonly string[];
  /** Validity in days from now. Default 365. */
  readonly days?: number;
}

export interface PemPair {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
}

/** Tolerates this much clock skew between the machine that issues and the one that verifies. */
const BACKDATE_MS = 5 * 60 * 1000;

export async function generateSelfSigned(options: SelfSignedOptions): Promise<PemPair> {
  const hosts = options.hosts.filter((h) => h.length > 0);
  const first = hosts[0];
  if (first === undefined) throw new GatehouseError(ErrCode.CERT, 'a self-signed certificate needs at least one host');
  const days = options.days ?? 365;
  if (!(days > 0)) throw new GatehouseError(ErrCode.CERT, `certificate validity must be positive, got ${days} days`);

  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + days * 24 * 60 * 60 * 1000);
  const name = [{ name: 'commonName', value: first }, { name: 'organizationName', value: 'Gatehouse self-signed' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })),
    },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey };
}

export interface SecretManifestOptions {
  readonly name: string;
  readonly namespace: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A `kubernetes.io/tls` Secret, as `kubectl create secret tls` writes it (base64 `data`). */
export function secretManifest(options: SecretManifestOptions): string {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: options.name, namespace: options.namespace },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(options.certPem), 'tls.key': b64(options.keyPem) },
    },
    // Base64 runs to thousands of characters; folding it would still be valid YAML but unreadable in diffs.
    { lineWidth: 0 },
  );
}
