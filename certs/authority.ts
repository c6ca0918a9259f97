// The mesh certificate authority: either our own self-signed root, created at first start and kept in a
// state directory so a restart (and every workload that trusts it) keeps the same root, or the user's
// intermediate from an Istio-style `cacerts` Secret. certs/ takes the PEM text; reading the Secret is the
// control plane's job.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrCode, GatehouseError, type ErrCodeValue } from '../core/errors.js';
import { randomSerial } from './serial.js';
import { DEFAULT_TRUST_DOMAIN, isTrustDomain } from './spiffe.js';
import { parseCertificates, verifyChain } from './verify.js';
import {
  buildAndSign,
  generateRsaKeyPair,
  issuerIdentity,
  signingKey,
  type CertificateProfile,
  type IssuerIdentity,
  type SigningKey,
} from './x509-builder.js';

/** The four files of Istio's `cacerts` Secret, as text. */
export interface IstioCacerts {
  /** The signing (intermediate) CA certificate. */
  readonly caCertPem: string;
  readonly caKeyPem: string;
  /** One or more trust anchors. */
  readonly rootCertPem: string;
  /** ca-cert followed by the certificates up to the root (Istio puts the root last). Optional here. */
  readonly certChainPem?: string;
}

export type AuthoritySource = 'self-signed' | 'cacerts';

/** The file names Istio uses in `cacerts` and in `istio-ca-secret`; the state directory uses the same. */
export const CA_FILES = {
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  rootCert: 'root-cert.pem',
  certChain: 'cert-chain.pem',
} as const;

/**
 * RSA 2048 for our own root, as Istio's self-signed root (CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE defaults to
 * 2048). 4096 would buy margin past 2030 at several times the cost of every signature made on the event
 * loop. A user who needs a stronger root (or an ECDSA one) plugs in `cacerts`.
 */
export const ROOT_KEY_BITS = 2048;
const ROOT_VALIDITY_MS = 10 * 365 * 24 * 60 * 60 * 1000;
const CLOCK_SKEW_MS = 60_000;

export class CertificateAuthority {
  readonly source: AuthoritySource;
  /** The trust domain workload certificates are issued in unless the caller names another. */
  readonly trustDomain: string;
  /** The certificate that signs workload certificates. */
  readonly certPem: string;
  /** Trust anchors: what peers must trust to accept our workload certificates (root-cert.pem). */
  readonly rootPem: string;
  /** Sent after each leaf: the signing certificate and intermediates, never a root. Empty for our own root. */
  readonly intermediatePems: readonly string[];
  readonly fingerprint256: string;
  readonly notAfter: Date;
  /** Where our own root is kept; undefined for `cacerts`. */
  readonly stateDir: string | undefined;
  readonly #signingKey: SigningKey;
  readonly #cert: X509Certificate;
  /** Read from the CA certificate when the first certificate is signed (it needs node-forge's ASN.1 reader). */
  #issuer: IssuerIdentity | undefined;

  private constructor(init: {
    source: AuthoritySource;
    trustDomain: string;
    cert: X509Certificate;
    certPem: string;
    rootPem: string;
    intermediatePems: readonly string[];
    signingKey: SigningKey;
    stateDir: string | undefined;
  }) {
    this.source = init.source;
    this.trustDomain = init.trustDomain;
    this.certPem = init.certPem;
    this.rootPem = init.rootPem;
    this.intermediatePems = Object.freeze([...init.intermediatePems]);
    this.fingerprint256 = init.cert.fingerprint256;
    this.notAfter = new Date(init.cert.validTo);
    this.stateDir = init.stateDir;
    this.#signingKey = init.signingKey;
    this.#cert = init.cert;
  }

  /** Signs a certificate built from `profile` with the CA key; the issuer name and AKI come from the CA. */
  sign(profile: CertificateProfile): string {
    return buildAndSign(profile, this.#signingKey, (this.#issuer ??= issuerIdentity(this.#cert)));
  }

  /**
   * Validates Istio `cacerts` material with node:crypto and returns the CA, or throws a coded error:
   * GH_ERR_CA (does not parse), GH_ERR_CA_KEY_MISMATCH, GH_ERR_CA_NOT_CA, GH_ERR_CA_EXPIRED,
   * GH_ERR_CA_CHAIN (ca-cert does not lead to root-cert through cert-chain), GH_ERR_CA_KEY_UNSUPPORTED
   * (a key that is neither RSA nor ECDSA on P-256/P-384/P-521).
   */
  static fromCacerts(
    cacerts: IstioCacerts,
    options: { trustDomain?: string; now?: number | Date; source?: AuthoritySource; stateDir?: string } = {},
  ): CertificateAuthority {
    const now = toMillis(options.now);
    const trustDomain = checkTrustDomain(options.trustDomain ?? DEFAULT_TRUST_DOMAIN);
    const cert = onlyCertificate(cacerts.caCertPem, CA_FILES.caCert);
    const roots = parse(cacerts.rootCertPem, CA_FILES.rootCert);
    if (roots.length === 0) fail(ErrCode.CA, `${CA_FILES.rootCert} holds no certificate`);
    const chain = cacerts.certChainPem ? parse(cacerts.certChainPem, CA_FILES.certChain) : [];
    let key: KeyObject;
    try {
      key = createPrivateKey(cacerts.caKeyPem);
    } catch (err) {
      fail(ErrCode.CA, `${CA_FILES.caKey} is not a readable private key: ${(err as Error).message}`, err);
    }
    if (key.asymmetricKeyType !== cert.publicKey.asymmetricKeyType || !safeCheckPrivateKey(cert, key)) {
      fail(ErrCode.CA_KEY_MISMATCH, `${CA_FILES.caKey} is not the private key of ${CA_FILES.caCert} (${describe(cert)})`);
    }
    if (!cert.ca) fail(ErrCode.CA_NOT_CA, `${CA_FILES.caCert} (${describe(cert)}) is not a CA certificate: basicConstraints CA:TRUE is missing`);
    const verdict = verifyChain(cert, chain.map((c) => c.toString()), roots.map((r) => r.toString()), now);
    if (!verdict.valid) {
      const expired = verdict.problem === 'expired' || verdict.problem === 'not-yet-valid';
      fail(
        expired ? ErrCode.CA_EXPIRED : ErrCode.CA_CHAIN,
        expired ? `CA material is not valid now: ${verdict.reason}` : `${CA_FILES.caCert} does not chain to ${CA_FILES.rootCert}: ${verdict.reason}`,
      );
    }
    let signer: SigningKey;
    try {
      signer = signingKey(key);
    } catch (err) {
      fail(ErrCode.CA_KEY_UNSUPPORTED, `${CA_FILES.caKey}: ${(err as Error).message}`, err);
    }
    const rootFingerprints = new Set(roots.map((r) => r.fingerprint256));
    // Whatever the path used, minus the trust anchors: peers have those already.
    const intermediatePems = verdict.path.filter((c) => !rootFingerprints.has(c.fingerprint256)).map((c) => c.toString());
    return new CertificateAuthority({
      source: options.source ?? 'cacerts',
      trustDomain,
      cert,
      certPem: cert.toString(),
      rootPem: roots.map((r) => r.toString()).join(''),
      intermediatePems,
      signingKey: signer,
      stateDir: options.stateDir,
    });
  }

  /**
   * Our own root from `stateDir`, created there at first start. A state directory holding only some of the
   * files is refused rather than overwritten: replacing a root silently would break every peer trusting it.
   */
  static async loadOrCreate(options: { stateDir: string; trustDomain?: string; now?: number | Date }): Promise<{
    authority: CertificateAuthority;
    created: boolean;
  }> {
    const trustDomain = checkTrustDomain(options.trustDomain ?? DEFAULT_TRUST_DOMAIN);
    const paths = [CA_FILES.caCert, CA_FILES.caKey, CA_FILES.rootCert].map((f) => join(options.stateDir, f));
    const present = paths.filter((p) => existsSync(p));
    if (present.length === 0) {
      const material = await createRootMaterial(trustDomain, toMillis(options.now));
      await persist(options.stateDir, material);
      const authority = CertificateAuthority.fromCacerts(material, { ...options, trustDomain, source: 'self-signed' });
      return { authority, created: true };
    }
    if (present.length < paths.length) {
      const missing = paths.filter((p) => !present.includes(p));
      fail(ErrCode.CA, `CA state directory ${options.stateDir} is incomplete (missing ${missing.join(', ')}); restore it or remove it to create a new root`);
    }
    const [caCertPem, caKeyPem, rootCertPem] = await Promise.all(paths.map((p) => readFile(p, 'utf8')));
    const authority = CertificateAuthority.fromCacerts(
      { caCertPem: caCertPem!, caKeyPem: caKeyPem!, rootCertPem: rootCertPem! },
      { ...options, trustDomain, source: 'self-signed' },
    );
    return { authority, created: false };
  }
}

interface RootMaterial {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly rootCertPem: string;
}

async function createRootMaterial(trustDomain: string, now: number): Promise<RootMaterial> {
  const { keyPem, publicKeyPem } = await generateRsaKeyPair(ROOT_KEY_BITS);
  const certPem = buildAndSign(
    {
      publicKeyPem,
      serialNumber: randomSerial(),
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + ROOT_VALIDITY_MS),
      // Istio's self-signed root carries O=<trust domain> and no CN.
      subject: [{ name: 'organizationName', value: trustDomain }],
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        { name: 'subjectKeyIdentifier' },
      ],
    },
    signingKey(keyPem),
  );
  return { caCertPem: certPem, caKeyPem: keyPem, rootCertPem: certPem };
}

/**
 * Each file is written under a temporary name and hard-linked into place, which fails if the name exists:
 * two processes starting at once cannot both install a root, and a crash leaves no half-written file under
 * a real name. The key is written first and readable by its owner only.
 */
async function persist(stateDir: string, material: RootMaterial): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const files: [string, string, number][] = [
    [CA_FILES.caKey, material.caKeyPem, 0o600],
    [CA_FILES.caCert, material.caCertPem, 0o644],
    [CA_FILES.rootCert, material.rootCertPem, 0o644],
  ];
  for (const [name, text, mode] of files) {
    const target = join(stateDir, name);
    const temp = `${target}.${process.pid}.${randomSerial().slice(0, 8)}.tmp`;
    await writeFile(temp, text, { mode, flag: 'wx' });
    try {
      await link(temp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      fail(ErrCode.CA, `cannot install ${target}${code === 'EEXIST' ? ': another process is creating the CA; retry' : `: ${(err as Error).message}`}`, err);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
}

function parse(pem: string, file: string): X509Certificate[] {
  try {
    return parseCertificates(pem);
  } catch (err) {
    fail(ErrCode.CA, `${file}: ${(err as Error).message}`, err);
  }
}

function onlyCertificate(pem: string, file: string): X509Certificate {
  const [first] = parse(pem, file);
  if (!first) fail(ErrCode.CA, `${file} holds no certificate`);
  return first;
}

function safeCheckPrivateKey(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

function checkTrustDomain(trustDomain: string): string {
  if (!isTrustDomain(trustDomain)) fail(ErrCode.SPIFFE_ID, `trust domain ${JSON.stringify(trustDomain)}: lower-case letters, digits, '.', '-' and '_' only`);
  return trustDomain;
}

function describe(cert: X509Certificate): string {
  return (cert.subject ?? '(empty subject)').replace(/\n/g, ', ');
}

function toMillis(now: number | Date | undefined): number {
  return now === undefined ? Date.now() : typeof now === 'number' ? now : now.getTime();
}

function fail(code: ErrCodeValue, message: string, cause?: unknown): never {
  throw new GatehouseError(code, message, cause === undefined ? undefined : { cause });
}
