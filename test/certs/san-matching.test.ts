// SANs read from RSA and ECDSA certificates alike, and matched the way Envoy matches Istio's subjectAltNames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { describeCertificate } from '../../certs/pem.js';
import {
  canonicalIp,
  certificateSans,
  dnsNameMatches,
  matchesSubjectAltNames,
  parseSubjectAltNameText,
  type SubjectAltName,
} from '../../certs/verify.js';
import { createIstioCacerts, issueLeafWithSans } from './support/istio-cacerts.js';

/** An RSA certificate with SANs node has to quote: a URI with commas and quotes, which openssl's -addext cannot write. */
function certificateWithAwkwardSans(): string {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  cert.setSubject([{ name: 'commonName', value: 'awkward' }]);
  cert.setIssuer([{ name: 'commonName', value: 'awkward' }]);
  cert.setExtensions([
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: '*.example.com' },
        { type: 6, value: 'spiffe://td/ns/a,b, URI:spiffe://evil/ns/x/sa/y' },
        { type: 7, ip: '10.1.2.3' },
        { type: 6, value: 'https://example.com/"quoted"' },
        { type: 7, ip: '2001:db8::1' },
        { type: 1, value: 'ops@example.com' },
      ],
    },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

test('certificateSans reads every type, in order, and is not fooled by commas inside a URI', () => {
  const pem = certificateWithAwkwardSans();
  const sans = certificateSans(pem);
  assert.deepEqual(sans, [
    { type: 'DNS', value: '*.example.com' },
    { type: 'URI', value: 'spiffe://td/ns/a,b, URI:spiffe://evil/ns/x/sa/y' },
    { type: 'IP', value: '10.1.2.3' },
    { type: 'URI', value: 'https://example.com/"quoted"' },
    { type: 'IP', value: '2001:db8:0:0:0:0:0:1' },
    { type: 'email', value: 'ops@example.com' },
  ]);
  // A URI that merely contains ", URI:..." must not grant that second identity.
  assert.equal(matchesSubjectAltNames(sans, ['spiffe://evil/ns/x/sa/y']), false);
  assert.equal(matchesSubjectAltNames(sans, ['spiffe://td/ns/a,b, URI:spiffe://evil/ns/x/sa/y']), true);
  assert.deepEqual(describeCertificate(pem).subjectAltNames, sans.map((s) => s.value), 'pem.ts reads them the same way');
});

test('certificateSans reads ECDSA certificates (which node-forge cannot parse)', () => {
  const cacerts = createIstioCacerts({ root: 'ec', intermediate: 'rsa' });
  const leaf = issueLeafWithSans(cacerts, 'DNS:api.example.com,IP:127.0.0.1,IP:::1,URI:spiffe://cluster.local/ns/default/sa/api', 'ec');
  assert.throws(() => forge.pki.certificateFromPem(leaf.certPem), /OID is not RSA/);
  assert.deepEqual(certificateSans(leaf.certPem), [
    { type: 'DNS', value: 'api.example.com' },
    { type: 'IP', value: '127.0.0.1' },
    { type: 'IP', value: '0:0:0:0:0:0:0:1' },
    { type: 'URI', value: 'spiffe://cluster.local/ns/default/sa/api' },
  ]);
  assert.equal(matchesSubjectAltNames(certificateSans(leaf.certPem), ['::1']), true);
  assert.equal(matchesSubjectAltNames(certificateSans(leaf.certPem), ['spiffe://cluster.local/ns/default/sa/api']), true);
  assert.throws(() => certificateSans('not a certificate'), { code: 'GH_ERR_CERT' });
});

test('matchesSubjectAltNames: Envoy semantics for Istio subjectAltNames (table)', () => {
  const dns = (value: string): SubjectAltName => ({ type: 'DNS', value });
  const uri = (value: string): SubjectAltName => ({ type: 'URI', value });
  const ip = (value: string): SubjectAltName => ({ type: 'IP', value });
  const cases: [string, SubjectAltName[], string[], boolean][] = [
    ['exact DNS', [dns('reviews.bookinfo.svc.cluster.local')], ['reviews.bookinfo.svc.cluster.local'], true],
    ['DNS is case-insensitive', [dns('API.Example.com')], ['api.example.COM'], true],
    ['different DNS name', [dns('reviews.example.com')], ['ratings.example.com'], false],
    ['wildcard covers one label', [dns('*.example.com')], ['api.example.com'], true],
    ['wildcard does not cover two labels', [dns('*.example.com')], ['a.b.example.com'], false],
    ['wildcard does not cover the bare domain', [dns('*.example.com')], ['example.com'], false],
    ['wildcard does not cover an empty label', [dns('*.example.com')], ['.example.com'], false],
    ['wildcard needs the dot boundary', [dns('*.example.com')], ['apiexample.com'], false],
    ['partial-label wildcards are not wildcards', [dns('api*.example.com')], ['api1.example.com'], false],
    ['a wildcard in the expected list is literal', [dns('api.example.com')], ['*.example.com'], false],
    ['literal wildcard SAN equals literal expected', [dns('*.example.com')], ['*.example.com'], true],
    ['SPIFFE URI exact', [uri('spiffe://cluster.local/ns/default/sa/web')], ['spiffe://cluster.local/ns/default/sa/web'], true],
    ['URI is case-sensitive', [uri('spiffe://cluster.local/ns/default/sa/web')], ['spiffe://cluster.local/ns/default/sa/Web'], false],
    ['URI prefix is not a match', [uri('spiffe://cluster.local/ns/default/sa/web')], ['spiffe://cluster.local/ns/default'], false],
    ['URI is not matched as DNS wildcard', [uri('*.example.com')], ['a.example.com'], false],
    ['any expected name may match', [uri('spiffe://td/ns/a/sa/b')], ['spiffe://td/ns/x/sa/y', 'spiffe://td/ns/a/sa/b'], true],
    ['any SAN may match', [dns('a.example.com'), uri('spiffe://td/ns/a/sa/b')], ['spiffe://td/ns/a/sa/b'], true],
    ['IPv4 exact', [ip('10.0.0.1')], ['10.0.0.1'], true],
    ['IPv6 in any spelling', [ip('2001:db8:0:0:0:0:0:1')], ['2001:DB8::1'], true],
    ['IP not matched by a DNS expectation', [ip('10.0.0.1')], ['10.0.0.10'], false],
    ['nothing expected matches nothing', [dns('a.example.com')], [], false],
    ['no SANs match nothing', [], ['a.example.com'], false],
  ];
  for (const [name, sans, expected, result] of cases) {
    assert.equal(matchesSubjectAltNames(sans, expected), result, name);
  }
  assert.equal(dnsNameMatches('*.svc.cluster.local', 'reviews.svc.cluster.local'), true);
});

test('parseSubjectAltNameText reads peer certificates\' subjectaltname strings', () => {
  assert.deepEqual(parseSubjectAltNameText(undefined), []);
  assert.deepEqual(parseSubjectAltNameText(''), []);
  assert.deepEqual(parseSubjectAltNameText('DNS:a, DNS:b'), [
    { type: 'DNS', value: 'a' },
    { type: 'DNS', value: 'b' },
  ]);
  assert.deepEqual(parseSubjectAltNameText('URI:"x\\u002c y", IP Address:::1, othername:<unsupported>'), [
    { type: 'URI', value: 'x, y' },
    { type: 'IP', value: '0:0:0:0:0:0:0:1' },
    { type: 'other', value: '<unsupported>' },
  ]);
});

test('canonicalIp gives one spelling per address', () => {
  const cases: [string, string][] = [
    ['::1', '0:0:0:0:0:0:0:1'],
    ['::', '0:0:0:0:0:0:0:0'],
    ['2001:DB8::', '2001:db8:0:0:0:0:0:0'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8:0:0:0:0:0:1'],
    ['fe80::1:2', 'fe80:0:0:0:0:0:1:2'],
    ['::ffff:10.0.0.1', '0:0:0:0:0:ffff:a00:1'],
    ['10.0.0.1', '10.0.0.1'],
    ['not-an-ip', 'not-an-ip'],
  ];
  for (const [input, output] of cases) assert.equal(canonicalIp(input), output, input);
});
