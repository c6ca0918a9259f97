// The last good version of a TLS Secret stands in for a broken change (key not matching, expired, not
// PEM), with a SECRET_KEPT warning; a Secret that was never good, a deleted one, and healthy changes pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SecretHistory } from '../../control/secret-history.js';
import type { Located } from '../../routes/model/resource.js';
import { createCA, issueLeaf, type LeafCertificate } from '../support/pki.js';

const ca = createCA('history CA');
const first = issueLeaf(ca, ['a.example.com']);
const second = issueLeaf(ca, ['a.example.com']);
const now = new Date();

function secret(name: string, data: Record<string, string>): Located {
  const source = { file: `${name}.yaml`, line: 1, col: 1 };
  return {
    object: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'istio-system' }, type: 'kubernetes.io/tls', stringData: data },
    origin: { file: source.file, doc: 0, order: 0, source, at: () => source },
  };
}

const tls = (leaf: LeafCertificate) => ({ 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem });

test('a healthy change replaces the Secret; a broken change is held at the last good version with a warning', () => {
  const history = new SecretHistory();
  const good = secret('cert', tls(first));
  assert.deepEqual(history.apply([good], now), { resources: [good], diagnostics: [] });

  const renewed = secret('cert', tls(second));
  assert.deepEqual(history.apply([renewed], now).resources, [renewed]);

  const mismatched = secret('cert', { 'tls.crt': first.certPem, 'tls.key': second.keyPem });
  const held = history.apply([mismatched], now);
  assert.deepEqual(held.resources, [renewed], 'the last good version, not the first one');
  assert.equal(held.diagnostics.length, 1);
  assert.equal(held.diagnostics[0]?.code, 'GH_CFG_SECRET_KEPT');
  assert.match(held.diagnostics[0]?.message ?? '', /istio-system\/cert .*private key does not match the certificate/);
  assert.equal(held.diagnostics[0]?.source?.file, 'cert.yaml');

  const garbage = secret('cert', { 'tls.crt': 'not a certificate', 'tls.key': second.keyPem });
  assert.deepEqual(history.apply([garbage], now).resources, [renewed]);
});

test('an expired replacement is held; once the old version has expired too, the new one goes through', () => {
  const history = new SecretHistory();
  const good = secret('cert', tls(first));
  history.apply([good], now);
  const expired = secret('cert', tls(issueLeaf(ca, ['a.example.com'], { days: 1 })));
  const later = new Date(now.getTime() + 2 * 86_400_000);
  // At `later` the replacement is expired; the old one (10 days) is still valid.
  const held = history.apply([expired], later);
  assert.deepEqual(held.resources, [good]);
  assert.match(held.diagnostics[0]?.message ?? '', /expired/);
  const muchLater = new Date(now.getTime() + 30 * 86_400_000);
  assert.deepEqual(history.apply([expired], muchLater), { resources: [expired], diagnostics: [] });
});

test('a Secret that was never good, and a Secret deleted then re-added broken, pass through unchanged', () => {
  const history = new SecretHistory();
  const broken = secret('other', { 'tls.crt': first.certPem });
  assert.deepEqual(history.apply([broken], now), { resources: [broken], diagnostics: [] });
  history.apply([secret('cert', tls(first))], now);
  history.apply([], now);
  const again = secret('cert', { 'tls.crt': first.certPem, 'tls.key': second.keyPem });
  assert.deepEqual(history.apply([again], now), { resources: [again], diagnostics: [] });
});
