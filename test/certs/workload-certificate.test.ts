// Workload certificates carry exactly one identity, the SPIFFE URI, and the profile Istio's CA gives them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../certs/authority.js';
import { describeCertificate, splitPemBundle } from '../../certs/pem.js';
import { parseSpiffeId, spiffeId } from '../../certs/spiffe.js';
import { certificateSans, keyMatchesCertificate, verifyChain } from '../../certs/verify.js';
import { issueWorkloadCertificate } from '../../certs/workload.js';
import { opensslText, opensslVerifies } from './support/istio-cacerts.js';

const HOUR = 3_600_000;

const authority = CertificateAuthority.loadOrCreate({ stateDir: join(mkdtempSync(join(tmpdir(), 'gatehouse-wl-')), 'ca') }).then((r) => r.authority);

test('an issued leaf: one URI SAN with the SPIFFE ID, empty subject, RSA 2048, both TLS roles, not a CA', async () => {
  const ca = await authority;
  const now = Date.now();
  const cert = await issueWorkloadCertificate(ca, { namespace: 'bookinfo', serviceAccount: 'bookinfo-reviews', now });
  assert.equal(cert.spiffeId, 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews');
  const x509 = new X509Certificate(cert.certPem);
  assert.deepEqual(certificateSans(x509), [{ type: 'URI', value: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews' }]);
  assert.equal(x509.subject, undefined, 'Istio leaves the subject empty');
  assert.equal(x509.issuer, 'O=cluster.local');
  assert.equal(x509.ca, false);
  assert.equal(x509.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(x509.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.deepEqual([...(x509.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'serverAuth and clientAuth');
  assert.match(x509.serialNumber, /^[0-7][0-9A-F]{31}$/i, '128-bit positive serial');
  assert.equal(keyMatchesCertificate(cert.keyPem, cert.certPem), true);
  assert.equal(createPrivateKey(cert.keyPem).asymmetricKeyType, 'rsa');

  const text = opensslText(cert.certPem);
  assert.match(text, /Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/bookinfo-reviews\n/);
  assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
  assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/);
  assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
  // The AKI must name the root's SKI, or OpenSSL refuses the chain (AKID/SKID mismatch).
  const rootSki = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(opensslText(ca.rootPem))?.[1];
  assert.ok(rootSki);
  assert.match(text, new RegExp(`Authority Key Identifier:\\s+(keyid:)?${rootSki}`));
});

test('validity runs from one minute before issue (clock skew) to issue + TTL; default TTL is 24 h', async () => {
  const ca = await authority;
  // Half a second past a whole second, to show the rounding: X.509 times have whole seconds.
  const now = Math.floor(Date.now() / 1000) * 1000 - 3_500;
  const sixHours = await issueWorkloadCertificate(ca, { namespace: 'default', serviceAccount: 'web', ttlMs: 6 * HOUR, now });
  const expectFrom = Math.floor((now - 60_000) / 1000) * 1000;
  const expectTo = Math.floor((now + 6 * HOUR) / 1000) * 1000;
  assert.equal(sixHours.notBefore.getTime(), expectFrom);
  assert.equal(sixHours.notAfter.getTime(), expectTo);
  const facts = describeCertificate(sixHours.certPem);
  assert.equal(facts.notBefore, new Date(expectFrom).toISOString(), 'the certificate says what the result says');
  assert.equal(facts.notAfter, new Date(expectTo).toISOString());

  const daily = await issueWorkloadCertificate(ca, { namespace: 'default', serviceAccount: 'web' });
  const hours = (daily.notAfter.getTime() - Date.now()) / HOUR;
  assert.ok(hours > 23.9 && hours <= 24, `default lifetime ${hours} h`);

  // Never beyond the CA itself: a chain is only as valid as its shortest-lived member.
  const long = await issueWorkloadCertificate(ca, { namespace: 'default', serviceAccount: 'web', ttlMs: 20 * 365 * 24 * HOUR });
  assert.equal(long.notAfter.getTime(), Math.floor(ca.notAfter.getTime() / 1000) * 1000);
  await assert.rejects(issueWorkloadCertificate(ca, { namespace: 'default', serviceAccount: 'web', ttlMs: 0 }), RangeError);
});

test('the chain verifies to the root with node:crypto and openssl, and not to another root', async () => {
  const ca = await authority;
  const cert = await issueWorkloadCertificate(ca, { namespace: 'default', serviceAccount: 'web' });
  const chain = splitPemBundle(cert.chainPem);
  assert.equal(chain.length, 1, 'own root: the leaf alone (peers hold the root)');
  assert.equal(chain[0], cert.certPem);
  assert.equal(/\r/.test(cert.chainPem + cert.rootPem), false, 'LF line ends, as node and openssl write them');
  assert.equal(cert.rootPem, ca.rootPem);
  const verdict = verifyChain(cert.certPem, [cert.chainPem], [cert.rootPem]);
  assert.ok(verdict.valid, verdict.valid ? '' : verdict.reason);
  assert.equal(opensslVerifies(cert.certPem, '', cert.rootPem), true);

  const other = (await CertificateAuthority.loadOrCreate({ stateDir: join(mkdtempSync(join(tmpdir(), 'gatehouse-wl-')), 'ca') })).authority;
  const foreign = verifyChain(cert.certPem, [], [other.rootPem]);
  assert.equal(foreign.valid, false);
  // Another CA's root carries the same subject (O=cluster.local): only the signature tells them apart.
  assert.equal(new X509Certificate(other.rootPem).subject, new X509Certificate(ca.rootPem).subject);
});

test('each issue has its own key and serial; a custom trust domain shows in the SPIFFE ID', async () => {
  const ca = await authority;
  const [a, b] = await Promise.all([
    issueWorkloadCertificate(ca, { namespace: 'default', serviceAccount: 'web' }),
    issueWorkloadCertificate(ca, { namespace: 'default', serviceAccount: 'web', trustDomain: 'prod.example.org' }),
  ]);
  assert.notEqual(a.keyPem, b.keyPem);
  assert.notEqual(new X509Certificate(a.certPem).serialNumber, new X509Certificate(b.certPem).serialNumber);
  assert.equal(keyMatchesCertificate(a.keyPem, b.certPem), false);
  assert.equal(b.spiffeId, 'spiffe://prod.example.org/ns/default/sa/web');
  assert.deepEqual(describeCertificate(b.certPem).subjectAltNames, ['spiffe://prod.example.org/ns/default/sa/web']);
});

test('spiffeId and parseSpiffeId round-trip valid identities and refuse the rest with GH_ERR_SPIFFE_ID', async () => {
  const good = [
    { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'default' },
    { trustDomain: 'td_1-x.example', namespace: 'a', serviceAccount: 'build.robot-1' },
    { trustDomain: 'cluster.local', namespace: 'n'.repeat(63), serviceAccount: 'istio-ingressgateway-service-account' },
  ];
  for (const identity of good) assert.deepEqual(parseSpiffeId(spiffeId(identity)), identity);

  const badIdentities = [
    { trustDomain: 'Cluster.Local', namespace: 'default', serviceAccount: 'web' },
    { trustDomain: 'cluster.local', namespace: 'Default', serviceAccount: 'web' },
    { trustDomain: 'cluster.local', namespace: 'n'.repeat(64), serviceAccount: 'web' },
    { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'a/b' },
    { trustDomain: 'cluster.local', namespace: '..', serviceAccount: 'web' },
    { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: '' },
    { trustDomain: 'cluster.local/ns', namespace: 'default', serviceAccount: 'web' },
  ];
  for (const identity of badIdentities) {
    assert.throws(() => spiffeId(identity), { code: 'GH_ERR_SPIFFE_ID' }, JSON.stringify(identity));
  }
  const badUris = [
    'spiffe://cluster.local/ns/default/sa/web/extra',
    'spiffe://cluster.local/ns/default',
    'https://cluster.local/ns/default/sa/web',
    'spiffe://cluster.local/sa/web/ns/default',
    'spiffe:///ns/default/sa/web',
    'SPIFFE://cluster.local/ns/default/sa/web',
    '',
  ];
  for (const uri of badUris) assert.throws(() => parseSpiffeId(uri), { code: 'GH_ERR_SPIFFE_ID' }, uri);

  const ca = await authority;
  await assert.rejects(issueWorkloadCertificate(ca, { namespace: 'Bad_NS', serviceAccount: 'web' }), { code: 'GH_ERR_SPIFFE_ID' });
});
