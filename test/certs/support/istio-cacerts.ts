// Istio `cacerts` material made with the openssl CLI, independent of the code under test: a root and an
// intermediate it signs, in the four files Istio reads (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IstioCacerts } from '../../../certs/authority.js';

/** `ec` is P-256; `ec384` P-384 (cert-manager's ECDSA default sizes); `ed25519` is what Gatehouse refuses. */
export type KeyKind = 'ec' | 'ec384' | 'rsa' | 'ed25519';

export interface TestCacerts extends Required<IstioCacerts> {
  /** Holds the four files under Istio's names. */
  readonly dir: string;
  readonly rootKeyPem: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function keyArgs(kind: KeyKind): string[] {
  switch (kind) {
    case 'ec':
      return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    case 'ec384':
      return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'];
    case 'ed25519':
      return ['-newkey', 'ed25519'];
    default:
      return ['-newkey', 'rsa:2048'];
  }
}

/** A root (30 days) and an intermediate CA it signs (20 days), with the keys of the kinds asked for. */
export function createIstioCacerts({ root = 'ec', intermediate = 'rsa' }: { root?: KeyKind; intermediate?: KeyKind } = {}): TestCacerts {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cacerts-'));
  openssl(
    ['req', '-x509', ...keyArgs(root), '-nodes', '-keyout', 'root-key.pem', '-out', 'root-cert.pem', '-days', '30',
      '-subj', '/O=gatehouse-test/CN=Test Root CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  writeFileSync(
    join(dir, 'intermediate.ext'),
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' +
      'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  openssl(['req', ...keyArgs(intermediate), '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.csr', '-subj', '/O=gatehouse-test/CN=Test Intermediate CA'], dir);
  openssl(
    ['x509', '-req', '-in', 'ca.csr', '-CA', 'root-cert.pem', '-CAkey', 'root-key.pem', '-CAcreateserial',
      '-out', 'ca-cert.pem', '-days', '20', '-extfile', 'intermediate.ext'],
    dir,
  );
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  // Istio's cert-chain.pem: the intermediate, then the root.
  writeFileSync(join(dir, 'cert-chain.pem'), read('ca-cert.pem') + read('root-cert.pem'));
  return {
    dir,
    caCertPem: read('ca-cert.pem'),
    caKeyPem: read('ca-key.pem'),
    rootCertPem: read('root-cert.pem'),
    certChainPem: read('cert-chain.pem'),
    rootKeyPem: read('root-key.pem'),
  };
}

/** `openssl verify` as a second opinion beside node:crypto: true when `leafPem` chains to `rootPem`. */
export function opensslVerifies(leafPem: string, untrustedPem: string, rootPem: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-verify-'));
  writeFileSync(join(dir, 'leaf.pem'), leafPem);
  writeFileSync(join(dir, 'root.pem'), rootPem);
  const args = ['verify', '-CAfile', 'root.pem'];
  if (untrustedPem) {
    writeFileSync(join(dir, 'untrusted.pem'), untrustedPem);
    args.push('-untrusted', 'untrusted.pem');
  }
  try {
    execFileSync('openssl', [...args, 'leaf.pem'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    return true;
  } catch {
    return false;
  }
}

/** `openssl x509 -text`: how OpenSSL itself reads a certificate (critical flags, key usages). */
export function opensslText(certPem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: certPem, encoding: 'utf8' });
}

let leafCount = 0;

/** A leaf signed by the cacerts root with SANs written as openssl spells them (`DNS:a,IP:::1,URI:spiffe://...`). */
export function issueLeafWithSans(cacerts: TestCacerts, sans: string, kind: KeyKind = 'ec'): { certPem: string; keyPem: string } {
  const base = `leaf-${++leafCount}`;
  writeFileSync(join(cacerts.dir, `${base}.ext`), `subjectAltName=${sans}\nbasicConstraints=CA:FALSE\n`);
  openssl(['req', ...keyArgs(kind), '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/O=gatehouse-test/CN=${base}`], cacerts.dir);
  openssl(
    ['x509', '-req', '-in', `${base}.csr`, '-CA', 'root-cert.pem', '-CAkey', 'root-key.pem', '-CAcreateserial',
      '-out', `${base}.crt`, '-days', '5', '-extfile', `${base}.ext`],
    cacerts.dir,
  );
  return { certPem: readFileSync(join(cacerts.dir, `${base}.crt`), 'utf8'), keyPem: readFileSync(join(cacerts.dir, `${base}.key`), 'utf8') };
}
