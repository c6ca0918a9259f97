// `gatehouse certs issue | inspect | ca`: workload certificates from the gateway's mesh CA, so a user can
// stand up an mTLS upstream by hand, and a readable view of any certificate file (RSA or ECDSA).
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrCode, GatehouseError } from '../core/errors.js';
import { CA_FILES, CertificateAuthority, type IstioCacerts } from '../certs/authority.js';
import { splitPemBundle } from '../certs/pem.js';
import { DEFAULT_TRUST_DOMAIN, parseSpiffeId } from '../certs/spiffe.js';
import { certificateSans, subjectOf } from '../certs/verify.js';
import { DEFAULT_WORKLOAD_TTL_MS, issueWorkloadCertificate } from '../certs/workload.js';
import { readFlags } from './args.js';

export const DEFAULT_CA_STATE_DIR = '.gatehouse/ca';

export const CERTS_USAGE = `usage: gatehouse certs <command> [options]

  issue --namespace NS --service-account SA --out DIR [options]
                           issue a workload certificate (SPIFFE ID spiffe://<trust-domain>/ns/NS/sa/SA) and
                           write Istio's files: DIR/cert-chain.pem, DIR/key.pem (0600), DIR/root-cert.pem
      --ttl D              lifetime, e.g. 24h, 90m, 7d (default 24h)
      --trust-domain D     default ${DEFAULT_TRUST_DOMAIN}
      --state-dir DIR      the gateway's own CA, created at first use (default ${DEFAULT_CA_STATE_DIR})
      --ca-dir DIR         sign with your CA instead: Istio cacerts files ${CA_FILES.caCert}, ${CA_FILES.caKey},
                           ${CA_FILES.rootCert}, ${CA_FILES.certChain}
  inspect FILE ...         subject, SANs, issuer, serial, validity and key of every certificate in each file
  ca [--state-dir DIR | --ca-dir DIR] [--trust-domain D]
                           where the CA lives, its subject, validity and SHA-256 fingerprint
`;

type Print = (line: string) => void;

export async function certs(argv: readonly string[], print: Print): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'issue':
      return issue(rest, print);
    case 'inspect':
      return inspect(rest, print);
    case 'ca':
      return showCa(rest, print);
    case '--help':
    case '-h':
    case 'help':
      print(CERTS_USAGE.trimEnd());
      return 0;
    default:
      throw new GatehouseError(ErrCode.USAGE, `${command === undefined ? 'certs needs a command' : `unknown certs command ${JSON.stringify(command)}`}\n${CERTS_USAGE}`);
  }
}

const ISSUE_FLAGS = new Set(['namespace', 'service-account', 'out', 'ttl', 'trust-domain', 'state-dir', 'ca-dir']);
const CA_FLAGS = new Set(['state-dir', 'ca-dir', 'trust-domain']);

async function issue(argv: readonly string[], print: Print): Promise<number> {
  const flags = readFlags(argv, ISSUE_FLAGS);
  const one = (name: string): string | undefined => {
    const v = flags.get(name);
    if (v && v.length > 1) usage(`--${name} given more than once`);
    return v?.[0];
  };
  const namespace = one('namespace') ?? usage('--namespace NS is required');
  const serviceAccount = one('service-account') ?? usage('--service-account SA is required');
  const out = one('out') ?? usage('--out DIR is required');
  const ttlText = one('ttl');
  const ttlMs = ttlText === undefined ? DEFAULT_WORKLOAD_TTL_MS : parseTtl(ttlText);
  const { authority, where } = await openAuthority(one('state-dir'), one('ca-dir'), one('trust-domain'));

  const cert = await issueWorkloadCertificate(authority, { namespace, serviceAccount, ttlMs });
  await mkdir(out, { recursive: true });
  const files = {
    chain: join(out, 'cert-chain.pem'),
    key: join(out, 'key.pem'),
    root: join(out, 'root-cert.pem'),
  };
  await writeFile(files.key, cert.keyPem, { mode: 0o600 });
  // The mode above applies only when the file is new; an existing key.pem may have been readable.
  await chmod(files.key, 0o600);
  await writeFile(files.chain, cert.chainPem);
  await writeFile(files.root, cert.rootPem);
  print(`issued ${cert.spiffeId}`);
  print(`  valid ${cert.notBefore.toISOString()} .. ${cert.notAfter.toISOString()}`);
  print(`  signed by ${where}`);
  print(`  wrote ${files.chain}, ${files.key}, ${files.root}`);
  return 0;
}

async function showCa(argv: readonly string[], print: Print): Promise<number> {
  const flags = readFlags(argv, CA_FLAGS);
  const { authority, where } = await openAuthority(flags.get('state-dir')?.[0], flags.get('ca-dir')?.[0], flags.get('trust-domain')?.[0]);
  const cert = new X509Certificate(authority.certPem);
  print(`CA: ${where}`);
  print(`  subject: ${subjectOf(cert)}`);
  print(`  valid ${iso(cert.validFrom)} .. ${iso(cert.validTo)}`);
  print(`  fingerprint SHA-256: ${authority.fingerprint256}`);
  print(`  trust domain: ${authority.trustDomain}`);
  return 0;
}

async function openAuthority(
  stateDir: string | undefined,
  caDir: string | undefined,
  trustDomain: string | undefined,
): Promise<{ authority: CertificateAuthority; where: string }> {
  if (stateDir !== undefined && caDir !== undefined) usage('--state-dir and --ca-dir exclude each other');
  if (caDir !== undefined) {
    const read = (name: string): Promise<string> =>
      readFile(join(caDir, name), 'utf8').catch((err: unknown) => {
        throw new GatehouseError(ErrCode.CA, `cannot read ${join(caDir, name)}: ${(err as Error).message}`, { cause: err });
      });
    const chainFile = join(caDir, CA_FILES.certChain);
    const cacerts: IstioCacerts = {
      caCertPem: await read(CA_FILES.caCert),
      caKeyPem: await read(CA_FILES.caKey),
      rootCertPem: await read(CA_FILES.rootCert),
      ...(existsSync(chainFile) ? { certChainPem: await read(CA_FILES.certChain) } : {}),
    };
    const authority = CertificateAuthority.fromCacerts(cacerts, trustDomain === undefined ? {} : { trustDomain });
    return { authority, where: `cacerts in ${resolve(caDir)} (${authority.fingerprint256})` };
  }
  const dir = stateDir ?? DEFAULT_CA_STATE_DIR;
  const { authority, created } = await CertificateAuthority.loadOrCreate({ stateDir: dir, ...(trustDomain === undefined ? {} : { trustDomain }) });
  return { authority, where: `self-signed root in ${resolve(dir)}${created ? ' (created now)' : ''} (${authority.fingerprint256})` };
}

async function inspect(files: readonly string[], print: Print): Promise<number> {
  if (files.length === 0) usage('certs inspect needs at least one FILE');
  for (const file of files) {
    if (file.startsWith('--')) usage(`unknown option ${file}`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new GatehouseError(ErrCode.CERT, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    const blocks = splitPemBundle(text).filter((b) => b.startsWith('-----BEGIN CERTIFICATE-----'));
    if (blocks.length === 0) throw new GatehouseError(ErrCode.CERT, `${file}: no PEM certificate in it`);
    blocks.forEach((block, i) => {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block);
      } catch (err) {
        throw new GatehouseError(ErrCode.CERT, `${file}: certificate ${i + 1} does not parse: ${(err as Error).message}`, { cause: err });
      }
      describe(cert, `${file}${blocks.length > 1 ? ` [${i + 1}/${blocks.length}]` : ''}`, print);
    });
  }
  return 0;
}

function describe(cert: X509Certificate, title: string, print: Print): void {
  const sans = certificateSans(cert);
  const notAfter = Date.parse(cert.validTo);
  print(title);
  print(`  subject:   ${subjectOf(cert)}`);
  print(`  issuer:    ${(cert.issuer ?? '').replace(/\n/g, ', ') || '(empty)'}`);
  print(`  SANs:      ${sans.length === 0 ? '(none)' : sans.map((s) => `${s.type}:${s.value}`).join(', ')}`);
  for (const san of sans) {
    if (san.type !== 'URI' || !san.value.startsWith('spiffe://')) continue;
    try {
      const id = parseSpiffeId(san.value);
      print(`  SPIFFE:    trust domain ${id.trustDomain}, namespace ${id.namespace}, service account ${id.serviceAccount}`);
    } catch {
      // A SPIFFE ID that is not a Kubernetes workload's: listed among the SANs already.
    }
  }
  print(`  serial:    ${cert.serialNumber}`);
  print(`  validity:  ${iso(cert.validFrom)} .. ${iso(cert.validTo)} (${remaining(notAfter - Date.now())})`);
  print(`  key:       ${keyDescription(cert)}`);
  print(`  CA:        ${cert.ca ? 'yes' : 'no'}`);
  print(`  SHA-256:   ${cert.fingerprint256}`);
}

function keyDescription(cert: X509Certificate): string {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return `RSA ${details?.modulusLength ?? '?'}`;
    case 'ec':
      return `ECDSA ${details?.namedCurve ?? '?'}`;
    default:
      return String(key.asymmetricKeyType);
  }
}

function remaining(ms: number): string {
  const span = (m: number): string => {
    const minutes = Math.floor(m / 60_000);
    const days = Math.floor(minutes / 1440);
    const hours = Math.floor((minutes % 1440) / 60);
    return days > 0 ? `${days}d ${hours}h` : `${hours}h ${minutes % 60}m`;
  };
  return ms >= 0 ? `expires in ${span(ms)}` : `EXPIRED ${span(-ms)} ago`;
}

function iso(text: string): string {
  return new Date(text).toISOString();
}

/** `24h`, `90m`, `7d`, `3600s`, `500ms`. */
export function parseTtl(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) usage(`--ttl: not a duration: ${JSON.stringify(text)} (use e.g. 24h, 90m or 7d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < 1000) usage(`--ttl: at least 1s, got ${JSON.stringify(text)}`);
  return ms;
}

function usage(message: string): never {
  throw new GatehouseError(ErrCode.USAGE, message);
}
