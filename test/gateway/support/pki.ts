// Certificates for data-plane tests, made at test time with the openssl CLI: a CA and leaves it signs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TestCa extends Pem {
  /** Issues a leaf for `cn` with DNS/URI SANs (`DNS:a.example.com`, `URI:spiffe://...`). */
  issue(cn: string, sans: readonly string[], usage?: 'server' | 'client'): Pem;
  dispose(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

export function createTestCa(name: string): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'gh-gw-pki-'));
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  let serial = 0;
  return {
    certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
    issue(cn, sans, usage = 'server') {
      serial++;
      const base = `leaf${serial}`;
      writeFileSync(join(dir, `${base}.ext`), [
        `subjectAltName=${sans.join(',')}`,
        'basicConstraints=CA:FALSE',
        `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ].join('\n'));
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${base}.key`, '-out', `${base}.csr`], dir);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(1000 + serial), '-days', '1',
        '-extfile', `${base}.ext`, '-out', `${base}.crt`], dir);
      return { certPem: readFileSync(join(dir, `${base}.crt`), 'utf8'), keyPem: readFileSync(join(dir, `${base}.key`), 'utf8') };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
