// The one place node-forge assembles and signs X.509 certificates (RSA keys, SHA-256). node:crypto makes
// the keys and reads the CA certificate; forge never parses a certificate here, so an issuer certificate
// signed with ECDSA (say, the user's intermediate under an EC root) is no obstacle.
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { ErrCode, GatehouseError } from '../core/errors.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface RsaKeyPair {
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  /** SubjectPublicKeyInfo PEM. */
  readonly publicKeyPem: string;
}

/** Off the event loop (libuv thread pool): forge's pure-JS generator would block it for over a second. */
export async function generateRsaKeyPair(modulusLength: number): Promise<RsaKeyPair> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { keyPem: privateKey, publicKeyPem: publicKey };
}

/** What an issuer contributes to a certificate it signs. */
export interface IssuerIdentity {
  /** The issuer's subject Name, as DER bytes in forge's binary-string form, copied verbatim. */
  readonly nameDer: string;
  /** The issuer's subject key identifier (binary string), for the child's authorityKeyIdentifier. */
  readonly keyIdentifier: string;
}

/**
 * The issuer Name is copied byte for byte from the CA certificate rather than rebuilt from parsed
 * attributes: re-encoding (PrintableString vs UTF8String, attribute order) could make the child's issuer
 * differ from the parent's subject, and then chain building fails. The key identifier is the CA's own
 * subjectKeyIdentifier when it has one (OpenSSL rejects a child whose AKI differs from its issuer's SKI),
 * else RFC 5280 method 1 (SHA-1 of the public key), which is what the CA would have used.
 */
export function issuerIdentity(caCert: X509Certificate): IssuerIdentity {
  const certAsn1 = forge.asn1.fromDer(forge.util.createBuffer(caCert.raw.toString('binary')));
  const tbs = children(certAsn1)[0];
  const fields = tbs ? children(tbs) : [];
  const first = fields[0];
  const offset = first && first.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && first.type === 0 ? 1 : 0;
  const subject = fields[offset + 4];
  if (!subject) throw new GatehouseError(ErrCode.CA, 'CA certificate: cannot find its subject name');
  const nameDer = forge.asn1.toDer(subject).getBytes();
  const keyIdentifier = subjectKeyIdentifier(fields) ?? method1KeyIdentifier(caCert);
  return { nameDer, keyIdentifier };
}

function children(node: forge.asn1.Asn1): forge.asn1.Asn1[] {
  return Array.isArray(node.value) ? node.value : [];
}

const SKI_OID = '2.5.29.14';

function subjectKeyIdentifier(tbsFields: forge.asn1.Asn1[]): string | undefined {
  const extensionsTag = tbsFields.find((f) => f.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && f.type === 3);
  const list = extensionsTag ? children(extensionsTag)[0] : undefined;
  for (const ext of list ? children(list) : []) {
    const parts = children(ext);
    const oid = parts[0];
    if (!oid || typeof oid.value !== 'string' || forge.asn1.derToOid(forge.util.createBuffer(oid.value)) !== SKI_OID) continue;
    const octets = parts[parts.length - 1];
    if (!octets || typeof octets.value !== 'string') return undefined;
    const inner = forge.asn1.fromDer(forge.util.createBuffer(octets.value));
    return typeof inner.value === 'string' ? inner.value : undefined;
  }
  return undefined;
}

function method1KeyIdentifier(cert: X509Certificate): string {
  const spki = createPublicKey(cert.publicKey).export({ type: 'spki', format: 'der' });
  const spkiAsn1 = forge.asn1.fromDer(forge.util.createBuffer(spki.toString('binary')));
  const bitString = children(spkiAsn1)[1] as (forge.asn1.Asn1 & { bitStringContents?: string }) | undefined;
  const contents = bitString?.bitStringContents ?? (typeof bitString?.value === 'string' ? bitString.value : '');
  // The BIT STRING's first byte counts unused bits; the key identifier hashes the bits after it.
  return createHash('sha1').update(Buffer.from(contents.slice(1), 'binary')).digest('binary');
}

export interface CertificateProfile {
  readonly publicKeyPem: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Empty for Istio-style workload certificates. */
  readonly subject: forge.pki.CertificateField[];
  /** Without authorityKeyIdentifier: the signer adds it. subjectKeyIdentifier is computed by forge. */
  readonly extensions: object[];
}

/**
 * Builds the certificate and signs it (SHA-256 with RSA). With no issuer the certificate is self-signed:
 * its own subject is the issuer and no AKI is added.
 */
export function buildAndSign(profile: CertificateProfile, signingKey: forge.pki.rsa.PrivateKey, issuer?: IssuerIdentity): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(profile.publicKeyPem);
  cert.serialNumber = profile.serialNumber;
  cert.validity.notBefore = profile.notBefore;
  cert.validity.notAfter = profile.notAfter;
  cert.setSubject(profile.subject);
  cert.setIssuer(profile.subject);
  const extensions: object[] = [...profile.extensions];
  if (issuer) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: issuer.keyIdentifier });
  cert.setExtensions(extensions);

  const md = forge.md.sha256.create();
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids['sha256WithRSAEncryption']!;
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  // TBSCertificate: [0] version, serial, signature algorithm, issuer, ...
  if (issuer && Array.isArray(tbs.value)) tbs.value[3] = forge.asn1.fromDer(forge.util.createBuffer(issuer.nameDer));
  (cert as unknown as { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  md.update(forge.asn1.toDer(tbs).getBytes());
  cert.signature = signingKey.sign(md);
  // forge writes CRLF line ends; the rest of the PEM world (node, openssl, kubectl) writes LF.
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

/**
 * The key in the form forge signs with. forge reads only PKCS#1 and unencrypted PKCS#8 RSA keys, so node
 * normalises every other encoding first; an EC key is refused, since forge has no ECDSA.
 */
export function forgeSigningKey(pem: string): forge.pki.rsa.PrivateKey {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new GatehouseError(ErrCode.CA_KEY_UNSUPPORTED, `node-forge signs with RSA keys only, this key is ${key.asymmetricKeyType}`);
  }
  return forge.pki.privateKeyFromPem(key.export({ type: 'pkcs8', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey;
}
