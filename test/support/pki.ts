// Test certificates made with the openssl CLI: a CA and leaves it signs (ECDSA P-256 or RSA 2048).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertificateAuthority {
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface LeafCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function keyArgs(kind: 'ec' | 'rsa'): string[] {
  return kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
}

export function createCA(name: string, kind: 'ec' | 'rsa' = 'ec'): CertificateAuthority {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ca-'));
  openssl(
    ['req', '-x509', ...keyArgs(kind), '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30',
      '-subj', `/O=gatehouse-test/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  return {
    name,
    dir,
    certFile: join(dir, 'ca.crt'),
    keyFile: join(dir, 'ca.key'),
    certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
  };
}

let serial = 0;

/** A leaf for `hosts` (DNS names; IP literals become IP SANs), signed by `ca`. */
export function issueLeaf(
  ca: CertificateAuthority,
  hosts: readonly string[],
  { kind = 'ec', client = false, days = 10 }: { kind?: 'ec' | 'rsa'; client?: boolean; days?: number } = {},
): LeafCertificate {
  const base = `leaf${++serial}`;
  const sans = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : h.includes('://') ? `URI:${h}` : `DNS:${h}`));
  writeFileSync(
    join(ca.dir, `${base}.ext`),
    `subjectAltName=${sans.join(',')}\nextendedKeyUsage=${client ? 'clientAuth' : 'serverAuth'}\n` +
      'keyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n',
  );
  openssl(['req', ...keyArgs(kind), '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/O=gatehouse-test/CN=${hosts[0] ?? base}`], ca.dir);
  openssl(
    ['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${base}.crt`, '-days', String(days), '-extfile', `${base}.ext`],
    ca.dir,
  );
  return {
    certPem: readFileSync(join(ca.dir, `${base}.crt`), 'utf8'),
    keyPem: readFileSync(join(ca.dir, `${base}.key`), 'utf8'),
  };
}

/** A `kubernetes.io/tls` Secret manifest. */
export function tlsSecretYaml(name: string, namespace: string, leaf: LeafCertificate, caPem?: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'type: kubernetes.io/tls',
    'data:',
    `  tls.crt: ${b64(leaf.certPem)}`,
    `  tls.key: ${b64(leaf.keyPem)}`,
    ...(caPem ? [`  ca.crt: ${b64(caPem)}`] : []),
    '',
  ].join('\n');
}
