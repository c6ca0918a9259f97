// `gatehouse certs issue | inspect | ca`, run as the real process: what a user does to stand up an mTLS upstream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitPemBundle } from '../../certs/pem.js';
import { keyMatchesCertificate, verifyChain } from '../../certs/verify.js';
import { createIstioCacerts } from '../certs/support/istio-cacerts.js';
import { GATEHOUSE_BIN } from '../support/gateway-process.js';

function gatehouse(args: string[], cwd = tmpdir()) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [GATEHOUSE_BIN, ...args], { encoding: 'utf8', timeout: 30_000, cwd });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: performance.now() - started };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'gatehouse-certs-cli-'));
}

test('certs issue writes Istio\'s three files from a CA it creates once, and certs inspect reads them back', (t) => {
  const dir = scratch();
  const state = join(dir, 'state');
  const out = join(dir, 'out');
  const first = gatehouse(['certs', 'issue', '--namespace', 'default', '--service-account', 'web', '--out', out, '--state-dir', state, '--ttl', '2h']);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /^issued spiffe:\/\/cluster\.local\/ns\/default\/sa\/web$/m);
  assert.match(first.out, /valid \S+Z \.\. \S+Z/);
  assert.match(first.out, /self-signed root in .*state \(created now\)/);
  t.diagnostic(`certs issue, first run (node start + CA root + leaf): ${first.ms.toFixed(0)} ms`);

  const chainPem = readFileSync(join(out, 'cert-chain.pem'), 'utf8');
  const keyPem = readFileSync(join(out, 'key.pem'), 'utf8');
  const rootPem = readFileSync(join(out, 'root-cert.pem'), 'utf8');
  assert.equal(statSync(join(out, 'key.pem')).mode & 0o777, 0o600);
  assert.equal(keyMatchesCertificate(keyPem, chainPem), true);
  const verdict = verifyChain(chainPem, [chainPem], [rootPem]);
  assert.ok(verdict.valid, verdict.valid ? '' : verdict.reason);
  const leaf = new X509Certificate(chainPem);
  const hours = (Date.parse(leaf.validTo) - Date.now()) / 3_600_000;
  assert.ok(hours > 1.9 && hours <= 2, `--ttl 2h gave ${hours} h`);
  const expiry = /valid \S+Z \.\. (\S+Z)/.exec(first.out)?.[1];
  assert.equal(expiry, new Date(leaf.validTo).toISOString(), 'the printed expiry is the certificate\'s');

  const inspect = gatehouse(['certs', 'inspect', join(out, 'cert-chain.pem')]);
  assert.equal(inspect.code, 0, inspect.err);
  assert.match(inspect.out, /subject: +\(empty subject\)/);
  assert.match(inspect.out, /issuer: +O=cluster\.local/);
  assert.match(inspect.out, /SANs: +URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/web\n/);
  assert.match(inspect.out, /SPIFFE: +trust domain cluster\.local, namespace default, service account web/);
  assert.match(inspect.out, new RegExp(`serial: +${leaf.serialNumber}`));
  assert.match(inspect.out, /validity: .* \(expires in 1h 5\dm\)/);
  assert.match(inspect.out, /key: +RSA 2048/);
  assert.match(inspect.out, /CA: +no/);

  // The second issue reuses the root: peers configured with the first root-cert.pem keep trusting.
  const again = gatehouse(['certs', 'issue', '--namespace', 'shop', '--service-account', 'cart', '--out', join(dir, 'out2'), '--state-dir', state]);
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.out, /created now/);
  assert.equal(readFileSync(join(dir, 'out2', 'root-cert.pem'), 'utf8'), rootPem);
  assert.ok(verifyChain(readFileSync(join(dir, 'out2', 'cert-chain.pem'), 'utf8'), [], [rootPem]).valid);
  t.diagnostic(`certs issue, CA loaded (node start + leaf): ${again.ms.toFixed(0)} ms`);

  const ca = gatehouse(['certs', 'ca', '--state-dir', state]);
  assert.equal(ca.code, 0, ca.err);
  assert.match(ca.out, new RegExp(`fingerprint SHA-256: ${new X509Certificate(rootPem).fingerprint256}`));
});

test('certs issue --ca-dir signs with the user\'s Istio cacerts; inspect prints every certificate of a bundle', () => {
  const cacerts = createIstioCacerts({ root: 'ec', intermediate: 'rsa' });
  const out = join(scratch(), 'out');
  const r = gatehouse(['certs', 'issue', '--namespace', 'bookinfo', '--service-account', 'reviews', '--out', out, '--ca-dir', cacerts.dir, '--trust-domain', 'example.org']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^issued spiffe:\/\/example\.org\/ns\/bookinfo\/sa\/reviews$/m);
  assert.match(r.out, /cacerts in /);
  const chainPem = readFileSync(join(out, 'cert-chain.pem'), 'utf8');
  assert.equal(splitPemBundle(chainPem).length, 2, 'leaf and intermediate');
  assert.equal(readFileSync(join(out, 'root-cert.pem'), 'utf8'), cacerts.rootCertPem);
  assert.ok(verifyChain(chainPem, [chainPem], [cacerts.rootCertPem]).valid);

  const inspect = gatehouse(['certs', 'inspect', join(out, 'cert-chain.pem'), join(out, 'root-cert.pem')]);
  assert.equal(inspect.code, 0, inspect.err);
  assert.match(inspect.out, /cert-chain\.pem \[1\/2\]\n[\s\S]*SANs: +URI:spiffe:\/\/example\.org\/ns\/bookinfo\/sa\/reviews/);
  assert.match(inspect.out, /cert-chain\.pem \[2\/2\]\n +subject: +O=gatehouse-test, CN=Test Intermediate CA\n[\s\S]*?CA: +yes/);
  assert.match(inspect.out, /root-cert\.pem\n +subject: +O=gatehouse-test, CN=Test Root CA\n[\s\S]*?key: +ECDSA prime256v1/);
});

test('certs issue signs with an ECDSA CA key, refuses an Ed25519 one, bad flags and bad names, with codes and exit status', () => {
  const dir = scratch();
  const ecdsa = createIstioCacerts({ root: 'ec', intermediate: 'ec' });
  const signed = gatehouse(['certs', 'issue', '--namespace', 'default', '--service-account', 'web', '--out', join(dir, 'ec-out'), '--ca-dir', ecdsa.dir]);
  assert.equal(signed.code, 0, signed.err);
  const ecChain = readFileSync(join(dir, 'ec-out', 'cert-chain.pem'), 'utf8');
  assert.ok(verifyChain(ecChain, [ecChain], [ecdsa.rootCertPem]).valid);
  const edwards = createIstioCacerts({ root: 'ec', intermediate: 'ed25519' });
  const refused = gatehouse(['certs', 'issue', '--namespace', 'default', '--service-account', 'web', '--out', join(dir, 'out'), '--ca-dir', edwards.dir]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /GH_ERR_CA_KEY_UNSUPPORTED: .*ed25519/);

  const missing = gatehouse(['certs', 'issue', '--service-account', 'web', '--out', join(dir, 'out'), '--state-dir', join(dir, 'state')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /GH_ERR_USAGE: --namespace NS is required/);
  const badTtl = gatehouse(['certs', 'issue', '--namespace', 'a', '--service-account', 'b', '--out', join(dir, 'out'), '--ttl', 'soon']);
  assert.equal(badTtl.code, 2);
  assert.match(badTtl.err, /--ttl: not a duration/);
  const badName = gatehouse(['certs', 'issue', '--namespace', 'Not_A_Label', '--service-account', 'b', '--out', join(dir, 'out'), '--state-dir', join(dir, 'state')]);
  assert.equal(badName.code, 1);
  assert.match(badName.err, /GH_ERR_SPIFFE_ID/);

  writeFileSync(join(dir, 'notes.txt'), 'no certificate here\n');
  const notCert = gatehouse(['certs', 'inspect', join(dir, 'notes.txt')]);
  assert.equal(notCert.code, 1);
  assert.match(notCert.err, /GH_ERR_CERT: .*notes\.txt: no PEM certificate/);
  assert.equal(gatehouse(['certs', 'frobnicate']).code, 2);
  const help = gatehouse(['--help']);
  assert.match(help.out, /certs issue\|inspect\|ca/);
});
