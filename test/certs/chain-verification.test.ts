// verifyChain and keyMatchesCertificate on certificates made by openssl, RSA and ECDSA alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyMatchesCertificate, verifyChain } from '../../certs/verify.js';
import { createCA, issueLeaf } from '../support/pki.js';
import { createIstioCacerts } from './support/istio-cacerts.js';

const DAY = 86_400_000;

for (const kind of ['ec', 'rsa'] as const) {
  test(`${kind}: a leaf verifies against its CA, not another one, and only inside its validity`, () => {
    const ca = createCA(`chain-${kind}`, kind);
    const other = createCA(`chain-${kind}`, kind); // same subject name, different key
    const leaf = issueLeaf(ca, ['svc.example.com'], { kind, days: 10 });
    const ok = verifyChain(leaf.certPem, [], [ca.certPem]);
    assert.ok(ok.valid, ok.valid ? '' : ok.reason);
    assert.deepEqual(ok.path.map((c) => c.fingerprint256), [new X509Certificate(leaf.certPem).fingerprint256, new X509Certificate(ca.certPem).fingerprint256]);

    const wrong = verifyChain(leaf.certPem, [], [other.certPem]);
    assert.equal(wrong.valid, false);
    assert.match(wrong.valid ? '' : wrong.reason, /no issuer found/);
    assert.equal(wrong.valid ? '' : wrong.problem, 'untrusted');
    assert.ok(verifyChain(leaf.certPem, [], [other.certPem, ca.certPem]).valid, 'any of several roots will do');

    const expired = verifyChain(leaf.certPem, [], [ca.certPem], Date.now() + 11 * DAY);
    assert.match(expired.valid ? '' : expired.reason, /expired/);
    assert.equal(expired.valid ? '' : expired.problem, 'expired');
    const early = verifyChain(leaf.certPem, [], [ca.certPem], new Date(Date.now() - DAY));
    assert.match(early.valid ? '' : early.reason, /not valid before/);
    assert.equal(early.valid ? '' : early.problem, 'not-yet-valid');
  });

  test(`${kind}: keyMatchesCertificate tells a certificate's own key from another`, () => {
    const ca = createCA(`keys-${kind}`, kind);
    const a = issueLeaf(ca, ['a.example.com'], { kind });
    const b = issueLeaf(ca, ['b.example.com'], { kind });
    assert.equal(keyMatchesCertificate(a.keyPem, a.certPem), true);
    assert.equal(keyMatchesCertificate(b.keyPem, a.certPem), false);
    const otherKind = issueLeaf(ca, ['c.example.com'], { kind: kind === 'ec' ? 'rsa' : 'ec' });
    assert.equal(keyMatchesCertificate(otherKind.keyPem, a.certPem), false, 'a key of the other algorithm');
    assert.throws(() => keyMatchesCertificate('garbage', a.certPem), { code: 'GH_ERR_CERT' });
  });
}

test('intermediates: any order, bundles accepted; a root in the chain is not trusted unless given as a root', () => {
  const cacerts = createIstioCacerts({ root: 'ec', intermediate: 'rsa' });
  // pki.ts's issueLeaf signs with ca.crt and ca.key in the CA's directory.
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-int-'));
  writeFileSync(join(dir, 'ca.crt'), cacerts.caCertPem);
  writeFileSync(join(dir, 'ca.key'), cacerts.caKeyPem);
  const intermediate = { name: 'int', dir, certPem: cacerts.caCertPem, keyPem: cacerts.caKeyPem, certFile: join(dir, 'ca.crt'), keyFile: join(dir, 'ca.key') };
  const leaf = issueLeaf(intermediate, ['deep.example.com'], { kind: 'ec' });

  const direct = verifyChain(leaf.certPem, [cacerts.caCertPem], [cacerts.rootCertPem]);
  assert.ok(direct.valid && direct.path.length === 3, direct.valid ? '' : direct.reason);
  assert.ok(verifyChain(leaf.certPem, [cacerts.rootCertPem + cacerts.caCertPem], [cacerts.rootCertPem]).valid, 'bundle, root first');
  assert.ok(verifyChain(leaf.certPem + cacerts.caCertPem, [leaf.certPem + cacerts.caCertPem], [cacerts.rootCertPem]).valid, 'tls.crt style: leaf + chain');

  assert.equal(verifyChain(leaf.certPem, [], [cacerts.rootCertPem]).valid, false, 'the intermediate is needed');
  const untrusted = verifyChain(leaf.certPem, [cacerts.caCertPem, cacerts.rootCertPem], [createCA('elsewhere').certPem]);
  assert.equal(untrusted.valid, false, 'a root that arrives in the chain is not a trust anchor');
  const none = verifyChain(leaf.certPem, [], []);
  assert.match(none.valid ? '' : none.reason, /no root/);

  // A non-CA certificate cannot act as an issuer even if its name and key would fit.
  const notCa = createCA('not-ca-root', 'rsa');
  const fakeIssuer = issueLeaf(notCa, ['fake.example.com'], { kind: 'rsa' });
  assert.equal(verifyChain(fakeIssuer.certPem, [], [fakeIssuer.certPem]).valid, true, 'trusted as a root by fingerprint');
  assert.equal(verifyChain(leaf.certPem, [fakeIssuer.certPem], [notCa.certPem]).valid, false);
});
