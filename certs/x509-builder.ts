// The one place node-forge is used: it lays out the TBSCertificate of the certificates we issue. node:crypto
// makes the keys, reads the CA certificate and signs (RSA or ECDSA CA keys); forge never parses a
// certificate here, since it cannot read an EC one, so the issuer's Name and key identifier are taken from
// the CA certificate's DER with forge's ASN.1 reader.
// forge is loaded the first time a certificate is built, not at import: a gateway that starts with its cached
// mesh identity and a CA from disk builds nothing, and forge's ~40 modules are 1.7 MiB of heap it would hold idle.
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type forge from 'node-forge';
import { ErrCode, GatehouseError } from '../core/errors.js';

const generateKeyPairAsync = promisify(generateKeyPair);
const requireHere = createRequire(import.meta.url);
let forgeModule: typeof forge | undefined;

/** node-forge, required synchronously on first use (it is CommonJS), so the builders stay synchronous. */
function nodeForge(): typeof forge {
  return (forgeModule ??= requireHere('node-forge') as typeof forge);
}

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
  const f = nodeForge();
  const certAsn1 = f.asn1.fromDer(f.util.createBuffer(caCert.raw.toString('binary')));
  const tbs = children(certAsn1)[0];
  const fields = tbs ? children(tbs) : [];
  const first = fields[0];
  const offset = first && first.tagClass === f.asn1.Class.CONTEXT_SPECIFIC && first.type === 0 ? 1 : 0;
  const subject = fields[offset + 4];
  if (!subject) throw new GatehouseError(ErrCode.CA, 'CA certificate: cannot find its subject name');
  const nameDer = f.asn1.toDer(subject).getBytes();
  const keyIdentifier = subjectKeyIdentifier(fields) ?? method1KeyIdentifier(caCert);
  return { nameDer, keyIdentifier };
}

function children(node: forge.asn1.Asn1): forge.asn1.Asn1[] {
  return Array.isArray(node.value) ? node.value : [];
}

const SKI_OID = '2.5.29.14';

function subjectKeyIdentifier(tbsFields: forge.asn1.Asn1[]): string | undefined {
  const f = nodeForge();
  const extensionsTag = tbsFields.find((field) => field.tagClass === f.asn1.Class.CONTEXT_SPECIFIC && field.type === 3);
  const list = extensionsTag ? children(extensionsTag)[0] : undefined;
  for (const ext of list ? children(list) : []) {
    const parts = children(ext);
    const oid = parts[0];
    if (!oid || typeof oid.value !== 'string' || f.asn1.derToOid(f.util.createBuffer(oid.value)) !== SKI_OID) continue;
    const octets = parts[parts.length - 1];
    if (!octets || typeof octets.value !== 'string') return undefined;
    const inner = f.asn1.fromDer(f.util.createBuffer(octets.value));
    return typeof inner.value === 'string' ? inner.value : undefined;
  }
  return undefined;
}

function method1KeyIdentifier(cert: X509Certificate): string {
  const f = nodeForge();
  const spki = createPublicKey(cert.publicKey).export({ type: 'spki', format: 'der' });
  const spkiAsn1 = f.asn1.fromDer(f.util.createBuffer(spki.toString('binary')));
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
  /** Without authorityKeyIdentifier: the signer adds it. subjectKeyIdentifier is computed by f. */
  readonly extensions: object[];
}

/**
 * The CA key, as node:crypto signs with it: RSA (PKCS#1 v1.5, SHA-256) or ECDSA on P-256/P-384/P-521 with
 * the hash RFC 5480 pairs with the curve. forge has no ECDSA, so forge only lays out the TBSCertificate and
 * node:crypto signs it, for both key types (natively, and so far cheaper than forge's JavaScript RSA).
 */
export interface SigningKey {
  readonly key: KeyObject;
  /** node:crypto's digest name for sign(). */
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** The signature AlgorithmIdentifier's OID, written into the TBSCertificate and the Certificate. */
  readonly algorithmOid: string;
  /** RSA's AlgorithmIdentifier carries a NULL parameter; ECDSA's has none (RFC 5758 §3.2). */
  readonly nullParameters: boolean;
}

const ECDSA_BY_CURVE: Readonly<Record<string, { hash: SigningKey['hash']; oid: string }>> = {
  prime256v1: { hash: 'sha256', oid: '1.2.840.10045.4.3.2' }, // ecdsa-with-SHA256
  secp384r1: { hash: 'sha384', oid: '1.2.840.10045.4.3.3' }, // ecdsa-with-SHA384
  secp521r1: { hash: 'sha512', oid: '1.2.840.10045.4.3.4' }, // ecdsa-with-SHA512
};
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

/**
 * Reads a CA private key (any encoding node reads) for signing. RSA and ECDSA on the NIST curves Istio
 * and cert-manager use; anything else (Ed25519, RSA-PSS, other curves) is GH_ERR_CA_KEY_UNSUPPORTED.
 */
export function signingKey(pem: string | KeyObject): SigningKey {
  const key = typeof pem === 'string' ? createPrivateKey(pem) : pem;
  if (key.asymmetricKeyType === 'rsa') return { key, hash: 'sha256', algorithmOid: SHA256_WITH_RSA, nullParameters: true };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    const ecdsa = ECDSA_BY_CURVE[curve];
    if (ecdsa) return { key, hash: ecdsa.hash, algorithmOid: ecdsa.oid, nullParameters: false };
    throw new GatehouseError(ErrCode.CA_KEY_UNSUPPORTED, `the CA key is ECDSA on curve ${curve || '(unknown)'}; P-256, P-384 and P-521 are supported`);
  }
  throw new GatehouseError(ErrCode.CA_KEY_UNSUPPORTED, `the CA key is ${key.asymmetricKeyType ?? 'of an unknown type'}; RSA and ECDSA (P-256, P-384, P-521) are supported`);
}

/**
 * Builds the certificate and signs it with `signer`. With no issuer the certificate is self-signed: its
 * own subject is the issuer and no AKI is added. forge assembles the TBSCertificate (it only has to encode
 * the subject's RSA public key); the issuer Name is the CA's subject DER, verbatim; the signature
 * algorithm in both places is the signer's; node:crypto signs the TBS DER.
 */
export function buildAndSign(profile: CertificateProfile, signer: SigningKey, issuer?: IssuerIdentity): string {
  const f = nodeForge();
  const cert = f.pki.createCertificate();
  cert.publicKey = f.pki.publicKeyFromPem(profile.publicKeyPem);
  cert.serialNumber = profile.serialNumber;
  cert.validity.notBefore = profile.notBefore;
  cert.validity.notAfter = profile.notAfter;
  cert.setSubject(profile.subject);
  cert.setIssuer(profile.subject);
  const extensions: object[] = [...profile.extensions];
  if (issuer) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: issuer.keyIdentifier });
  cert.setExtensions(extensions);
  // Any OID forge knows, replaced below: forge refuses to lay out a TBS for an algorithm it does not know.
  cert.signatureOid = cert.siginfo.algorithmOid = f.pki.oids['sha256WithRSAEncryption']!;
  const tbs = (f.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  if (!Array.isArray(tbs.value)) throw new GatehouseError(ErrCode.CA, 'node-forge produced a TBSCertificate without fields');
  // TBSCertificate: [0] version, serial, signature algorithm, issuer, ...
  tbs.value[2] = algorithmIdentifier(signer);
  if (issuer) tbs.value[3] = f.asn1.fromDer(f.util.createBuffer(issuer.nameDer));
  const tbsDer = f.asn1.toDer(tbs).getBytes();
  // ECDSA: node writes the DER ECDSA-Sig-Value X.509 wants; RSA: the PKCS#1 v1.5 signature.
  const signature = sign(signer.hash, Buffer.from(tbsDer, 'binary'), signer.key);
  const { Class, Type } = f.asn1;
  const certificate = f.asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
    tbs,
    algorithmIdentifier(signer),
    f.asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, `\x00${signature.toString('binary')}`),
  ]);
  const der = Buffer.from(f.asn1.toDer(certificate).getBytes(), 'binary');
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

function algorithmIdentifier(signer: SigningKey): forge.asn1.Asn1 {
  const f = nodeForge();
  const { Class, Type } = f.asn1;
  const oid = f.asn1.create(Class.UNIVERSAL, Type.OID, false, f.asn1.oidToDer(signer.algorithmOid).getBytes());
  const parts = signer.nullParameters ? [oid, f.asn1.create(Class.UNIVERSAL, Type.NULL, false, '')] : [oid];
  return f.asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, parts);
}
