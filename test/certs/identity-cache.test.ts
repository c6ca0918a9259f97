// The workload certificate kept beside the CA state: a restart reuses it while it is fresh, for the same
// SPIFFE ID and CA only, and never with a key that is not its own.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CertificateAuthority } from '../../certs/authority.js';
import { loadCachedIdentity, storeCachedIdentity } from '../../certs/identity-cache.js';
import { issueWorkloadCertificate } from '../../certs/workload.js';

const ID = 'spiffe://cluster.local/ns/istio-system/sa/gw';

test('a fresh cached certificate is reused; past its renewal time, for another CA or another identity it is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-idcache-'));
  const { authority } = await CertificateAuthority.loadOrCreate({ stateDir: dir });
  const { authority: other } = await CertificateAuthority.loadOrCreate({ stateDir: mkdtempSync(join(tmpdir(), 'gatehouse-idcache-other-')) });
  const issued = await issueWorkloadCertificate(authority, { namespace: 'istio-system', serviceAccount: 'gw', ttlMs: 3_600_000 });
  await storeCachedIdentity(dir, authority, issued);

  const file = readdirSync(dir).find((f) => f.startsWith('workload-'));
  assert.ok(file);
  assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, 'it holds a private key');

  const now = Date.now();
  const again = await loadCachedIdentity(dir, authority, ID, now);
  assert.equal(again?.certPem, issued.certPem);
  assert.equal(again?.keyPem, issued.keyPem);
  assert.equal(again?.rootPem, authority.rootPem);
  assert.equal(again?.notAfter.getTime(), issued.notAfter.getTime());

  assert.equal(await loadCachedIdentity(dir, authority, ID, issued.notAfter.getTime() - 1000), undefined, 'due for renewal');
  assert.equal(await loadCachedIdentity(dir, other, ID, now), undefined, 'another CA');
  assert.equal(await loadCachedIdentity(dir, authority, 'spiffe://cluster.local/ns/istio-system/sa/other', now), undefined, 'another identity');

  const stranger = await issueWorkloadCertificate(authority, { namespace: 'x', serviceAccount: 'y' });
  const body = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, string>;
  writeFileSync(join(dir, file), JSON.stringify({ ...body, keyPem: stranger.keyPem }));
  assert.equal(await loadCachedIdentity(dir, authority, ID, now), undefined, 'a key that is not the certificate’s own');
  writeFileSync(join(dir, file), 'not json');
  assert.equal(await loadCachedIdentity(dir, authority, ID, now), undefined);
});
