// DestinationRule tls with file paths (caCertificates, clientCertificate, privateKey), as under Istio where
// they name files in the gateway pod: the control plane reads them, a changed file rotates like a changed
// Secret, and a missing file is a warning at the rule's file:line and field with 503 UF until it appears.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startMeshUpstream, type MeshUpstream, type MeshUpstreamAnswer } from '../certs/support/mesh-upstream.js';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { createCA, issueLeaf, type CertificateAuthority } from '../support/pki.js';
import { freePorts } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { gatewayYaml } from './manifests.js';
import { destinationRuleTls, meshRoute, meshServiceEntry } from './mesh-manifests.js';

let gw: GatewayProcess;
let port: number;
let ca: CertificateAuthority;
let files: string;
let mutualUpstream: MeshUpstream;
let simpleUpstream: https.Server;

/** Written under a temporary name and renamed, as a Secret volume update replaces a file whole. */
function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

before(async () => {
  [port] = (await freePorts(1)) as [number];
  ca = createCA('files-ca', 'ec');
  files = mkdtempSync(join(tmpdir(), 'gatehouse-tls-files-'));
  const client = issueLeaf(ca, ['gateway-v1.client'], { client: true });
  writeFileSync(join(files, 'ca.pem'), ca.certPem);
  writeFileSync(join(files, 'client.pem'), client.certPem);
  writeFileSync(join(files, 'client-key.pem'), client.keyPem);

  const serverLeaf = issueLeaf(ca, ['api.shop.svc.cluster.local']);
  mutualUpstream = await startMeshUpstream('api', { chainPem: serverLeaf.certPem, keyPem: serverLeaf.keyPem, rootPem: ca.certPem });
  const webLeaf = issueLeaf(ca, ['web.shop.svc.cluster.local']);
  simpleUpstream = https.createServer({ cert: webLeaf.certPem, key: webLeaf.keyPem }, (_req, res) => res.end('simple tls'));
  await new Promise<void>((r) => simpleUpstream.listen(0, '127.0.0.1', r));

  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('mesh-test', [{ port, protocol: 'HTTP' }]),
    'api.yaml': [
      meshServiceEntry('api', 'shop', [{ port: mutualUpstream.port }]),
      destinationRuleTls(
        'api',
        'api.shop.svc.cluster.local',
        `{mode: MUTUAL, caCertificates: ${join(files, 'ca.pem')}, clientCertificate: ${join(files, 'client.pem')}, privateKey: ${join(files, 'client-key.pem')}}`,
      ),
      meshRoute('api.example', 'api.shop.svc.cluster.local'),
    ].join('---\n'),
    'web.yaml': [
      meshServiceEntry('web', 'shop', [{ port: (simpleUpstream.address() as AddressInfo).port }]),
      meshRoute('web.example', 'web.shop.svc.cluster.local'),
    ].join('---\n'),
    // The CA file does not exist yet.
    'web-rule.yaml': destinationRuleTls('web', 'web.shop.svc.cluster.local', `{mode: SIMPLE, caCertificates: ${join(files, 'later-ca.pem')}}`),
  });
  gw = await startGateway(dir, { args: ['--ca-dir', mkdtempSync(join(tmpdir(), 'gatehouse-own-ca-'))] });
});

after(async () => {
  await gw?.stop();
  await mutualUpstream?.close();
  simpleUpstream?.closeAllConnections();
  await new Promise<void>((r) => (simpleUpstream ? simpleUpstream.close(() => r()) : r()));
});

function accessLogFor(path: string): string {
  return gw.stdout().split('\n').filter((l) => l.includes(` ${path} `)).at(-1) ?? '';
}

test('MUTUAL with clientCertificate, privateKey and caCertificates files: the upstream gets the client certificate from the file', async () => {
  const r = await request({ port, authority: 'api.example', path: '/files' });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json<MeshUpstreamAnswer>().peer, 'DNS:gateway-v1.client');
});

test('a client certificate file replaced on disk rotates like a changed Secret: new connections present the new one', async () => {
  const next = issueLeaf(ca, ['gateway-v2.client'], { client: true });
  writeAtomically(join(files, 'client-key.pem'), next.keyPem);
  writeAtomically(join(files, 'client.pem'), next.certPem);
  await waitFor(
    async () => {
      const r = await request({ port, authority: 'api.example', path: '/rotated' });
      return r.status === 200 && r.json<MeshUpstreamAnswer>().peer === 'DNS:gateway-v2.client';
    },
    { what: 'the rotated client certificate', timeoutMs: 15_000 },
  );
});

test('a missing caCertificates file: a warning at the rule file:line and field, and 503 UF', async () => {
  const d = (await request({ port: gw.adminPort, path: '/diagnostics' })).json<{
    warnings: Array<{ code: string; message: string; field?: string; source?: { file: string; line: number } }>;
  }>();
  const w = d.warnings.find((x) => x.field === 'spec.trafficPolicy.tls.caCertificates');
  assert.ok(w, JSON.stringify(d.warnings));
  assert.equal(w.code, 'GH_CFG_SECRET_NOT_FOUND');
  assert.match(w.message, /later-ca\.pem does not exist/);
  assert.match(w.source?.file ?? '', /web-rule\.yaml$/);
  assert.equal(w.source?.line, 7, 'the tls line of the rule');
  const r = await request({ port, authority: 'web.example', path: '/no-ca-file' });
  assert.equal(r.status, 503);
  await waitFor(() => accessLogFor('/no-ca-file') !== '', { what: 'the access log line' });
  assert.match(accessLogFor('/no-ca-file'), /" 503 UF /);
});

test('the caCertificates file appearing later is picked up: SIMPLE TLS verifies the upstream with it', async () => {
  writeAtomically(join(files, 'later-ca.pem'), ca.certPem);
  await waitFor(async () => (await request({ port, authority: 'web.example', path: '/ca-file-arrived' })).status === 200, {
    what: 'the CA file to be read',
    timeoutMs: 15_000,
  });
  const r = await request({ port, authority: 'web.example', path: '/ca-file-arrived' });
  assert.equal(r.body, 'simple tls');
});
