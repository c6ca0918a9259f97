// The gateway's mesh identity as a config source: the first certificate is emitted before start resolves,
// as a kubernetes.io/tls Secret under the reserved name with the mesh root as ca.crt; each renewal emits
// again; a CA that cannot be loaded is a warning and an empty set, never a failed start.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMeshIdentitySource } from '../../control/sources/mesh-identity.js';
import type { SourceUpdate } from '../../control/source.js';
import { secretData } from '../../routes/compile/secrets.js';
import type { SecretResource } from '../../routes/model/index.js';
import type { Located } from '../../routes/model/resource.js';
import { FakeClock } from '../certs/support/fake-clock.js';
import { createIstioCacerts } from '../certs/support/istio-cacerts.js';
import { waitFor } from '../support/wait.js';

const quiet = (): void => undefined;

test('emits the SPIFFE certificate as the reserved Secret, then again on every renewal', async () => {
  const clock = new FakeClock(Date.now());
  const updates: SourceUpdate[] = [];
  const source = createMeshIdentitySource({
    namespace: 'edge',
    serviceAccount: 'gw',
    caStateDir: mkdtempSync(join(tmpdir(), 'gatehouse-identity-')),
    certificateTtlMs: 3_600_000,
    clock,
    log: quiet,
  });
  await source.start((u) => updates.push(u));
  assert.equal(updates.length, 1, 'the first certificate is emitted before start resolves');
  const secret = updates[0]?.resources[0]?.object as SecretResource;
  assert.equal(secret.metadata.name, 'gatehouse-mesh-identity');
  assert.equal(secret.metadata.namespace, 'edge');
  assert.equal(secret.type, 'kubernetes.io/tls');
  const data = secretData(secret);
  const leaf = new X509Certificate(data['tls.crt'] ?? '');
  assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/edge/sa/gw');
  assert.ok(leaf.verify(new X509Certificate(data['ca.crt'] ?? '').publicKey), 'ca.crt is the root that signed it');
  assert.equal(source.current()?.spiffeId, 'spiffe://cluster.local/ns/edge/sa/gw');
  assert.equal(source.authority()?.source, 'self-signed');

  // Renewal is due at about half the lifetime; move past it and wait for the issuance it starts.
  clock.advance(3_600_000);
  await waitFor(() => updates.length >= 2, { what: 'the renewed certificate to be emitted' });
  const renewed = new X509Certificate(secretData(updates[1]?.resources[0]?.object as SecretResource)['tls.crt'] ?? '');
  assert.notEqual(renewed.serialNumber, leaf.serialNumber);
  await source.stop();
});

test('with Istio cacerts the identity is signed by the intermediate, sent with it, and trusts the root', async () => {
  const cacerts = createIstioCacerts();
  const updates: SourceUpdate[] = [];
  const source = createMeshIdentitySource({
    namespace: 'istio-system',
    serviceAccount: 'istio-ingressgateway-service-account',
    caStateDir: mkdtempSync(join(tmpdir(), 'gatehouse-identity-state-')),
    cacertsDir: cacerts.dir,
    log: quiet,
  });
  await source.start((u) => updates.push(u));
  const data = secretData(updates[0]?.resources[0]?.object as SecretResource);
  const chain = (data['tls.crt'] ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  assert.equal(chain.length, 2, 'leaf and intermediate');
  const intermediate = new X509Certificate(cacerts.caCertPem);
  assert.ok(new X509Certificate(chain[0] ?? '').verify(intermediate.publicKey));
  assert.equal(new X509Certificate(chain[1] ?? '').fingerprint256, intermediate.fingerprint256);
  assert.equal(new X509Certificate(data['ca.crt'] ?? '').fingerprint256, new X509Certificate(cacerts.rootCertPem).fingerprint256);
  assert.equal(source.authority()?.source, 'cacerts');
  await source.stop();
});

test('a CA that cannot be loaded is a GH_CFG_MESH_IDENTITY warning and no Secret; start still resolves', async () => {
  const cacerts = mkdtempSync(join(tmpdir(), 'gatehouse-cacerts-'));
  writeFileSync(join(cacerts, 'ca-cert.pem'), 'not a certificate');
  const updates: SourceUpdate[] = [];
  const source = createMeshIdentitySource({ namespace: 'edge', serviceAccount: 'gw', caStateDir: cacerts, cacertsDir: cacerts, log: quiet });
  await source.start((u) => updates.push(u));
  assert.equal(updates.length, 1);
  assert.deepEqual(updates[0]?.resources, []);
  assert.equal(updates[0]?.diagnostics[0]?.code, 'GH_CFG_MESH_IDENTITY');
  assert.equal(updates[0]?.diagnostics[0]?.severity, 'warning');
  assert.equal(source.current(), undefined);
  await source.stop();
});

/** A `cacerts` Secret as another source would hold it, at cacerts.yaml:4. */
function cacertsSecret(data: Record<string, string>, namespace = 'edge'): Located {
  const source = { file: 'cacerts.yaml', line: 4, col: 1 };
  return {
    object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts', namespace }, type: 'Opaque', stringData: data },
    origin: { file: 'cacerts.yaml', doc: 0, order: 0, source, at: () => source },
  };
}

function istioFiles(c: ReturnType<typeof createIstioCacerts>): Record<string, string> {
  return { 'ca-cert.pem': c.caCertPem, 'ca-key.pem': c.caKeyPem, 'root-cert.pem': c.rootCertPem, 'cert-chain.pem': c.certChainPem };
}

function issuedBy(update: SourceUpdate | undefined, caCertPem: string): boolean {
  const leaf = new X509Certificate(secretData(update?.resources[0]?.object as SecretResource)['tls.crt'] ?? '');
  return leaf.checkIssued(new X509Certificate(caCertPem)) && leaf.verify(new X509Certificate(caCertPem).publicKey);
}

test('a cacerts Secret another source holds signs the identity; --cacerts-dir takes precedence over it', async () => {
  const fromSecret = createIstioCacerts({ root: 'ec', intermediate: 'ec' });
  const updates: SourceUpdate[] = [];
  const source = createMeshIdentitySource({ namespace: 'edge', serviceAccount: 'gw', caStateDir: mkdtempSync(join(tmpdir(), 'gatehouse-identity-')), log: quiet });
  // The directory source emits before the mesh identity starts.
  source.observe?.(0, [cacertsSecret(istioFiles(fromSecret))]);
  await source.start((u) => updates.push(u));
  assert.ok(issuedBy(updates.at(-1), fromSecret.caCertPem));
  assert.equal(source.authority()?.source, 'cacerts-secret');
  assert.equal(new X509Certificate(secretData(updates.at(-1)?.resources[0]?.object as SecretResource)['ca.crt'] ?? '').fingerprint256, new X509Certificate(fromSecret.rootCertPem).fingerprint256);
  await source.stop();

  const fromDir = createIstioCacerts();
  const dirUpdates: SourceUpdate[] = [];
  const both = createMeshIdentitySource({ namespace: 'edge', serviceAccount: 'gw', caStateDir: mkdtempSync(join(tmpdir(), 'gatehouse-identity-')), cacertsDir: fromDir.dir, log: quiet });
  both.observe?.(0, [cacertsSecret(istioFiles(fromSecret))]);
  await both.start((u) => dirUpdates.push(u));
  assert.ok(issuedBy(dirUpdates.at(-1), fromDir.caCertPem));
  assert.equal(both.authority()?.source, 'cacerts');
  await both.stop();
});

test('the cacerts Secret appearing re-issues from it; a broken change keeps that CA with a warning at file:line; deletion returns to the own root', async () => {
  const logs: string[] = [];
  const updates: SourceUpdate[] = [];
  const source = createMeshIdentitySource({
    namespace: 'edge',
    serviceAccount: 'gw',
    caStateDir: mkdtempSync(join(tmpdir(), 'gatehouse-identity-')),
    log: (_level, message) => logs.push(message),
  });
  await source.start((u) => updates.push(u));
  assert.equal(source.authority()?.source, 'self-signed');
  const ownRoot = source.authority()?.fingerprint256;

  const good = createIstioCacerts({ root: 'ec', intermediate: 'rsa' });
  source.observe?.(0, [cacertsSecret(istioFiles(good))]);
  await waitFor(() => source.authority()?.source === 'cacerts-secret' && issuedBy(updates.at(-1), good.caCertPem), { what: 'an identity from the Secret' });
  const issued = updates.length;

  const other = createIstioCacerts();
  source.observe?.(0, [cacertsSecret({ ...istioFiles(good), 'ca-key.pem': other.caKeyPem })]);
  await waitFor(() => updates.length > issued, { what: 'the warning to be emitted' });
  const warning = updates.at(-1)?.diagnostics[0];
  assert.equal(warning?.code, 'GH_CFG_MESH_IDENTITY');
  assert.equal(warning?.severity, 'warning');
  assert.deepEqual(warning?.source, { file: 'cacerts.yaml', line: 4, col: 1 });
  assert.equal(warning?.resource, 'Secret/edge/cacerts');
  assert.match(warning?.message ?? '', /GH_ERR_CA_KEY_MISMATCH.*keeps signing with the cacerts-secret CA/);
  assert.ok(issuedBy(updates.at(-1), good.caCertPem), 'the identity from the last good CA stays');
  assert.equal(source.authority()?.fingerprint256, new X509Certificate(good.caCertPem).fingerprint256);
  const keyBody = other.caKeyPem.split('\n')[1] ?? '';
  assert.ok(keyBody.length > 20 && !JSON.stringify(updates).includes(keyBody) && !logs.join('\n').includes(keyBody), 'the CA key is in no update and no log line');

  source.observe?.(0, []);
  await waitFor(() => source.authority()?.fingerprint256 === ownRoot && updates.at(-1)?.diagnostics.length === 0, { what: 'the own root back' });
  await source.stop();
});
