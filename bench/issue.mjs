#!/usr/bin/env node
// Time to issue one workload certificate (RSA 2048 key, SPIFFE SAN), from our own RSA 2048 root and from an
// ECDSA P-256 intermediate (openssl-made, as cert-manager would plug in). Sequential, one at a time, on this
// process's event loop, as the mesh identity source issues. Named baseline in the same run: node's
// asynchronous RSA 2048 key generation alone (what every issue pays first), and for the signature the old
// path (node-forge signing the same TBS in JavaScript) beside the new one (node:crypto sign).
//   node bench/issue.mjs [--count N]   (default 20; needs a build and the openssl CLI)
import { execFileSync } from 'node:child_process';
import { generateKeyPair, sign } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import forge from 'node-forge';

const here = dirname(fileURLToPath(import.meta.url));
const load = (p) => import(pathToFileURL(join(here, '..', 'dist', p)).href);
const { CertificateAuthority } = await load('certs/authority.js');
const { issueWorkloadCertificate } = await load('certs/workload.js');

const countArg = process.argv.indexOf('--count');
const count = Math.max(3, Math.min(200, countArg > 0 ? Number(process.argv[countArg + 1]) : 20));
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
async function timed(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(out);
}

function ecdsaIntermediate() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-ec-ca-'));
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root-key.pem', '-out', 'root-cert.pem', '-days', '2',
    '-subj', '/CN=bench root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.csr', '-subj', '/CN=bench intermediate']);
  execFileSync('sh', ['-c', 'printf "basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign\\n" > ext.cnf'], { cwd: dir });
  run(['x509', '-req', '-in', 'ca.csr', '-CA', 'root-cert.pem', '-CAkey', 'root-key.pem', '-CAcreateserial', '-out', 'ca-cert.pem', '-days', '2', '-extfile', 'ext.cnf']);
  const read = (f) => readFileSync(join(dir, f), 'utf8');
  return CertificateAuthority.fromCacerts({ caCertPem: read('ca-cert.pem'), caKeyPem: read('ca-key.pem'), rootCertPem: read('root-cert.pem') });
}

const { authority: rsaRoot } = await CertificateAuthority.loadOrCreate({ stateDir: join(mkdtempSync(join(tmpdir(), 'gatehouse-bench-ca-')), 'ca') });
const ecCa = ecdsaIntermediate();
const request = { namespace: 'bench', serviceAccount: 'gw' };
const load1 = loadavg()[0];

// Warm both paths (JIT, OpenSSL tables) before measuring.
await issueWorkloadCertificate(rsaRoot, request);
await issueWorkloadCertificate(ecCa, request);
const keygen = await timed(count, () => promisify(generateKeyPair)('rsa', { modulusLength: 2048 }));
const fromRsa = await timed(count, () => issueWorkloadCertificate(rsaRoot, request));
const fromEc = await timed(count, () => issueWorkloadCertificate(ecCa, request));

// The signature alone over a TBS-sized buffer: node:crypto (now) against node-forge (before), same RSA 2048 key.
const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const tbs = Buffer.alloc(700, 7);
const nodeSign = await timed(count * 5, () => sign('sha256', tbs, privateKey));
const forgeKey = forge.pki.privateKeyFromPem(privateKey);
const forgeSign = await timed(count, () => {
  const md = forge.md.sha256.create();
  md.update(tbs.toString('binary'));
  forgeKey.sign(md);
});

console.log(`issue one workload certificate (RSA 2048 key), median of ${count}, load average ${load1.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
console.log(`  baseline: RSA 2048 generateKeyPair alone          ${keygen.toFixed(1)} ms`);
console.log(`  issue from our own RSA 2048 root                  ${fromRsa.toFixed(1)} ms  (${(fromRsa / keygen).toFixed(2)}× keygen)`);
console.log(`  issue from an ECDSA P-256 intermediate            ${fromEc.toFixed(1)} ms  (${(fromEc / keygen).toFixed(2)}× keygen)`);
console.log(`  RSA 2048 signature: node:crypto ${nodeSign.toFixed(2)} ms, node-forge (old path) ${forgeSign.toFixed(1)} ms (${(forgeSign / nodeSign).toFixed(0)}×)`);
