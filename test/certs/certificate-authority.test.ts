// The mesh CA: our own root survives restarts through the state directory; the user's Istio `cacerts`
// are accepted when sound and refused, with a code naming the reason, when not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../certs/authority.js';
import { verifyChain } from '../../certs/verify.js';
import { issueWorkloadCertificate } from '../../certs/workload.js';
import { createCA, issueLeaf } from '../support/pki.js';
import { createIstioCacerts, opensslText, opensslVerifies } from './support/istio-cacerts.js';

const DAY = 86_400_000;

function stateDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'gatehouse-ca-state-')), 'ca');
}

test('first start creates a self-signed RSA root in the state directory; a restart loads the same root', async () => {
  const dir = stateDir();
  const first = await CertificateAuthority.loadOrCreate({ stateDir: dir });
  assert.equal(first.created, true);
  const ca = first.authority;
  assert.equal(ca.source, 'self-signed');
  assert.equal(ca.trustDomain, 'cluster.local');
  assert.deepEqual(ca.intermediatePems, [], 'our own root signs directly: nothing between leaf and root');

  for (const name of ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem']) assert.ok(existsSync(join(dir, name)), name);
  assert.equal(statSync(join(dir, 'ca-key.pem')).mode & 0o777, 0o600, 'the CA key is readable by its owner only');
  assert.equal(statSync(dir).mode & 0o077, 0, 'the state directory is private');
  assert.equal(readFileSync(join(dir, 'root-cert.pem'), 'utf8'), readFileSync(join(dir, 'ca-cert.pem'), 'utf8'));

  const root = new X509Certificate(readFileSync(join(dir, 'root-cert.pem'), 'utf8'));
  assert.equal(root.ca, true);
  assert.equal(root.subject, 'O=cluster.local');
  assert.equal(root.issuer, root.subject);
  assert.equal(root.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(root.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.equal(root.verify(root.publicKey), true, 'self-signed');
  const years = (Date.parse(root.validTo) - Date.now()) / (365 * DAY);
  assert.ok(years > 9.9 && years < 10.1, `valid for ${years} years`);
  const text = opensslText(root.toString());
  assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
  assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(text, /Subject Key Identifier/);
  assert.equal(root.fingerprint256, ca.fingerprint256);

  const second = await CertificateAuthority.loadOrCreate({ stateDir: dir });
  assert.equal(second.created, false);
  assert.equal(second.authority.fingerprint256, ca.fingerprint256, 'same root after a restart');
  // A certificate from the restarted CA is trusted by a peer that kept the first root.
  const leaf = await issueWorkloadCertificate(second.authority, { namespace: 'default', serviceAccount: 'web' });
  assert.equal(verifyChain(leaf.certPem, [leaf.chainPem], [ca.rootPem]).valid, true);
});

test('two starts racing on an empty state directory install one root; the loser is told to retry', async () => {
  const dir = stateDir();
  const results = await Promise.allSettled([
    CertificateAuthority.loadOrCreate({ stateDir: dir }),
    CertificateAuthority.loadOrCreate({ stateDir: dir }),
    CertificateAuthority.loadOrCreate({ stateDir: dir }),
  ]);
  const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.authority.fingerprint256] : []));
  const losers = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error & { code?: string }] : []));
  assert.ok(winners.length >= 1, 'someone installs the root');
  assert.equal(new Set(winners).size, 1, 'and everyone who succeeds has the same one');
  for (const err of losers) {
    assert.equal(err.code, 'GH_ERR_CA');
    assert.match(err.message, /another process is creating the CA; retry/);
  }
  const after = await CertificateAuthority.loadOrCreate({ stateDir: dir });
  assert.equal(after.created, false);
  assert.equal(after.authority.fingerprint256, winners[0]);
  assert.equal(new X509Certificate(readFileSync(join(dir, 'ca-cert.pem'), 'utf8')).checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'ca-key.pem'), 'utf8'))), true);
});

test('an incomplete state directory is refused, not overwritten', async () => {
  const dir = stateDir();
  await CertificateAuthority.loadOrCreate({ stateDir: dir });
  const rootBefore = readFileSync(join(dir, 'root-cert.pem'), 'utf8');
  rmSync(join(dir, 'ca-key.pem'));
  await assert.rejects(CertificateAuthority.loadOrCreate({ stateDir: dir }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'GH_ERR_CA');
    assert.match(err.message, /incomplete.*ca-key\.pem/);
    return true;
  });
  assert.equal(readFileSync(join(dir, 'root-cert.pem'), 'utf8'), rootBefore);
  assert.equal(existsSync(join(dir, 'ca-key.pem')), false);
});

test('a state directory whose key belongs to another root is refused with GH_ERR_CA_KEY_MISMATCH', async () => {
  const a = stateDir();
  const b = stateDir();
  await CertificateAuthority.loadOrCreate({ stateDir: a });
  await CertificateAuthority.loadOrCreate({ stateDir: b });
  writeFileSync(join(a, 'ca-key.pem'), readFileSync(join(b, 'ca-key.pem')));
  await assert.rejects(CertificateAuthority.loadOrCreate({ stateDir: a }), { code: 'GH_ERR_CA_KEY_MISMATCH' });
});

test('user cacerts: an RSA intermediate under an ECDSA root is accepted and signs chains that verify to the root', async () => {
  const cacerts = createIstioCacerts({ root: 'ec', intermediate: 'rsa' });
  const ca = CertificateAuthority.fromCacerts(cacerts, { trustDomain: 'example.org' });
  assert.equal(ca.source, 'cacerts');
  assert.equal(ca.trustDomain, 'example.org');
  assert.equal(ca.fingerprint256, new X509Certificate(cacerts.caCertPem).fingerprint256);
  assert.equal(ca.intermediatePems.length, 1, 'the intermediate travels with each leaf; the root does not');
  assert.equal(new X509Certificate(ca.intermediatePems[0]!).fingerprint256, ca.fingerprint256);
  assert.equal(new X509Certificate(ca.rootPem).fingerprint256, new X509Certificate(cacerts.rootCertPem).fingerprint256);

  const leaf = await issueWorkloadCertificate(ca, { namespace: 'shop', serviceAccount: 'checkout' });
  assert.equal(leaf.spiffeId, 'spiffe://example.org/ns/shop/sa/checkout');
  const verdict = verifyChain(leaf.certPem, [leaf.chainPem], [cacerts.rootCertPem]);
  assert.ok(verdict.valid, verdict.valid ? '' : verdict.reason);
  assert.equal(verdict.path.length, 3);
  assert.equal(new X509Certificate(leaf.certPem).issuer, 'O=gatehouse-test\nCN=Test Intermediate CA');
  assert.equal(opensslVerifies(leaf.certPem, leaf.chainPem, cacerts.rootCertPem), true, 'openssl agrees');
  assert.equal(opensslVerifies(leaf.certPem, '', cacerts.rootCertPem), false, 'and needs the intermediate to');
});

test('user cacerts without cert-chain.pem: the intermediate directly under the root is enough', () => {
  const cacerts = createIstioCacerts({ root: 'rsa', intermediate: 'rsa' });
  const ca = CertificateAuthority.fromCacerts({ caCertPem: cacerts.caCertPem, caKeyPem: cacerts.caKeyPem, rootCertPem: cacerts.rootCertPem });
  assert.equal(ca.intermediatePems.length, 1);
});

test('user cacerts whose ca-key does not belong to ca-cert are refused with GH_ERR_CA_KEY_MISMATCH', () => {
  const a = createIstioCacerts();
  const b = createIstioCacerts();
  assert.throws(() => CertificateAuthority.fromCacerts({ ...a, caKeyPem: b.caKeyPem }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'GH_ERR_CA_KEY_MISMATCH');
    assert.match(err.message, /ca-key\.pem is not the private key of ca-cert\.pem/);
    return true;
  });
  // A key of the other algorithm is a mismatch too, not a crash.
  assert.throws(() => CertificateAuthority.fromCacerts({ ...a, caKeyPem: a.rootKeyPem }), { code: 'GH_ERR_CA_KEY_MISMATCH' });
});

test('a ca-cert that is not a CA is refused with GH_ERR_CA_NOT_CA', () => {
  const root = createCA('not-a-ca-root', 'rsa');
  const leaf = issueLeaf(root, ['leaf.example.com'], { kind: 'rsa' });
  assert.throws(
    () => CertificateAuthority.fromCacerts({ caCertPem: leaf.certPem, caKeyPem: leaf.keyPem, rootCertPem: root.certPem }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'GH_ERR_CA_NOT_CA');
      assert.match(err.message, /CN=leaf\.example\.com.*not a CA certificate/);
      return true;
    },
  );
});

test('a ca-cert that does not chain to root-cert is refused with GH_ERR_CA_CHAIN', () => {
  const a = createIstioCacerts();
  const b = createIstioCacerts();
  assert.throws(() => CertificateAuthority.fromCacerts({ ...a, rootCertPem: b.rootCertPem, certChainPem: a.caCertPem }), {
    code: 'GH_ERR_CA_CHAIN',
  });
  // A cert-chain.pem carrying the real root does not help: trust comes from root-cert.pem only.
  assert.throws(() => CertificateAuthority.fromCacerts({ ...a, rootCertPem: b.rootCertPem }), { code: 'GH_ERR_CA_CHAIN' });
});

test('CA material that has expired is refused with GH_ERR_CA_EXPIRED', () => {
  const cacerts = createIstioCacerts();
  assert.ok(CertificateAuthority.fromCacerts(cacerts, { now: Date.now() + 10 * DAY }));
  // The intermediate is valid for 20 days, the root for 30.
  assert.throws(() => CertificateAuthority.fromCacerts(cacerts, { now: Date.now() + 25 * DAY }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'GH_ERR_CA_EXPIRED');
    assert.match(err.message, /Test Intermediate CA.*expired/);
    return true;
  });
});

for (const [kind, curve, hash, algorithm] of [
  ['ec', 'P-256', 'SHA256', '2a8648ce3d040302'],
  ['ec384', 'P-384', 'SHA384', '2a8648ce3d040303'],
] as const) {
  test(`an ECDSA ${curve} intermediate (cert-manager's kind) signs workload certificates with ecdsa-with-${hash} that node and openssl verify`, async () => {
    const cacerts = createIstioCacerts({ root: 'ec', intermediate: kind });
    const ca = CertificateAuthority.fromCacerts(cacerts);
    const leaf = await issueWorkloadCertificate(ca, { namespace: 'shop', serviceAccount: 'cart' });
    const x509 = new X509Certificate(leaf.certPem);
    assert.equal(x509.publicKey.asymmetricKeyType, 'rsa', 'workload keys stay RSA 2048, as Istio issues them');
    assert.ok(x509.verify(new X509Certificate(cacerts.caCertPem).publicKey), 'node:crypto verifies the ECDSA signature');
    assert.ok(x509.checkIssued(new X509Certificate(cacerts.caCertPem)));
    const verdict = verifyChain(leaf.certPem, [leaf.chainPem], [cacerts.rootCertPem]);
    assert.ok(verdict.valid, verdict.valid ? '' : verdict.reason);
    assert.equal(opensslVerifies(leaf.certPem, leaf.chainPem, cacerts.rootCertPem), true, 'openssl verify -CAfile root -untrusted chain');
    assert.match(opensslText(leaf.certPem), new RegExp(`Signature Algorithm: ecdsa-with-${hash}`));
    // RFC 5758: the AlgorithmIdentifier is the OID alone (SEQUENCE of 10 bytes), no NULL parameter, in
    // both the TBSCertificate and the outer Certificate.
    const der = x509.raw.toString('hex');
    const algorithmIdentifier = `300a0608${algorithm}`;
    assert.equal(der.split(algorithmIdentifier).length - 1, 2, 'the bare AlgorithmIdentifier appears twice');
    assert.equal(der.includes(`300c0608${algorithm}0500`), false, 'never with a NULL parameter');
  });
}

test('a CA key that is neither RSA nor ECDSA on a NIST curve is refused with GH_ERR_CA_KEY_UNSUPPORTED', () => {
  const cacerts = createIstioCacerts({ root: 'ec', intermediate: 'ed25519' });
  assert.throws(() => CertificateAuthority.fromCacerts(cacerts), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'GH_ERR_CA_KEY_UNSUPPORTED');
    assert.match(err.message, /ca-key\.pem: the CA key is ed25519; RSA and ECDSA/);
    return true;
  });
});

test('CA files that are not PEM are refused with GH_ERR_CA', () => {
  const cacerts = createIstioCacerts();
  assert.throws(() => CertificateAuthority.fromCacerts({ ...cacerts, caCertPem: 'garbage' }), { code: 'GH_ERR_CA' });
  assert.throws(() => CertificateAuthority.fromCacerts({ ...cacerts, caKeyPem: 'garbage' }), { code: 'GH_ERR_CA' });
  assert.throws(() => CertificateAuthority.fromCacerts({ ...cacerts, rootCertPem: '' }), { code: 'GH_ERR_CA' });
  const broken = cacerts.rootCertPem.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
  assert.throws(() => CertificateAuthority.fromCacerts({ ...cacerts, rootCertPem: broken }), { code: 'GH_ERR_CA' });
});
