// Istio's `cacerts` Secret as a manifest in the config directory: the gateway signs its SPIFFE identity
// with that intermediate and presents the chain to upstreams that trust only that root; a broken edit
// keeps the CA with a warning at the Secret's file:line; a new sound CA re-issues the identity from it.
// The CA key never shows in /config_dump or in the logs.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createIstioCacerts, issueLeafWithSans, type TestCacerts } from '../certs/support/istio-cacerts.js';
import { startMeshUpstream, type MeshUpstream, type MeshUpstreamAnswer } from '../certs/support/mesh-upstream.js';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, writeConfig, type GatewayProcess } from '../support/gateway-process.js';
import { freePorts } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { gatewayYaml } from './manifests.js';
import { destinationRuleTls, meshRoute, meshServiceEntry } from './mesh-manifests.js';

const GATEWAY_ID = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';

let gw: GatewayProcess;
let port: number;
let first: TestCacerts;
let second: TestCacerts;
/** Each trusts only its own root. */
let firstMesh: MeshUpstream;
let secondMesh: MeshUpstream;

function cacertsManifest(files: Record<string, string>): string {
  const b64 = (t: string): string => Buffer.from(t).toString('base64');
  return [
    '# Istio plug-in CA',
    'apiVersion: v1',
    'kind: Secret',
    'metadata: {name: cacerts, namespace: istio-system}',
    'type: Opaque',
    'data:',
    ...Object.entries(files).map(([k, v]) => `  ${k}: ${b64(v)}`),
    '',
  ].join('\n');
}

function files(c: TestCacerts): Record<string, string> {
  return { 'ca-cert.pem': c.caCertPem, 'ca-key.pem': c.caKeyPem, 'root-cert.pem': c.rootCertPem, 'cert-chain.pem': c.certChainPem };
}

async function upstreamTrusting(name: string, c: TestCacerts): Promise<MeshUpstream> {
  const leaf = issueLeafWithSans(c, `URI:spiffe://cluster.local/ns/shop/sa/${name}`, 'ec');
  return startMeshUpstream(name, { chainPem: leaf.certPem, keyPem: leaf.keyPem, rootPem: c.rootCertPem });
}

before(async () => {
  [port] = (await freePorts(1)) as [number];
  first = createIstioCacerts({ root: 'rsa', intermediate: 'ec' });
  second = createIstioCacerts({ root: 'ec', intermediate: 'rsa' });
  firstMesh = await upstreamTrusting('first', first);
  secondMesh = await upstreamTrusting('second', second);
  const services = (['first', 'second'] as const).map((name) => {
    const u = name === 'first' ? firstMesh : secondMesh;
    return [
      meshServiceEntry(name, 'shop', [{ port: u.port, serviceAccount: name }]),
      destinationRuleTls(name, `${name}.shop.svc.cluster.local`, '{mode: ISTIO_MUTUAL}'),
      meshRoute(`${name}.example`, `${name}.shop.svc.cluster.local`),
    ].join('---\n');
  });
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('mesh-test', [{ port, protocol: 'HTTP' }]),
    'services.yaml': services.join('---\n'),
    'cacerts.yaml': cacertsManifest(files(first)),
  });
  gw = await startGateway(dir, { args: ['--ca-dir', mkdtempSync(join(tmpdir(), 'gatehouse-own-ca-'))] });
});

after(async () => {
  await gw?.stop();
  await Promise.all([firstMesh, secondMesh].map((u) => u?.close()));
});

async function authority(): Promise<{ source: string; fingerprint256: string } | undefined> {
  const certs = (await request({ port: gw.adminPort, path: '/certs' })).json<{ meshIdentity: { authority: { source: string; fingerprint256: string } } | null }>();
  return certs.meshIdentity?.authority;
}

test('a gateway started with a cacerts manifest presents a SPIFFE certificate chaining to that root', async () => {
  const r = await request({ port, authority: 'first.example', path: '/cacerts-secret' });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json<MeshUpstreamAnswer>().peer, `URI:${GATEWAY_ID}`);
  assert.equal((await authority())?.source, 'cacerts-secret');
  const other = await request({ port, authority: 'second.example', path: '/other-root' });
  assert.equal(other.status, 503, 'an upstream of another root is not trusted, nor trusts us');
});

test('a cacerts edit whose key does not match keeps the CA, with a warning at cacerts.yaml', async () => {
  writeConfig(gw.configDir, { 'cacerts.yaml': cacertsManifest({ ...files(first), 'ca-key.pem': second.caKeyPem }) });
  let warning: { code: string; message: string; source?: { file: string; line: number } } | undefined;
  await waitFor(
    async () => {
      const d = (await request({ port: gw.adminPort, path: '/diagnostics' })).json<{ warnings: NonNullable<typeof warning>[] }>();
      warning = d.warnings.find((w) => w.code === 'GH_CFG_MESH_IDENTITY');
      return warning !== undefined;
    },
    { what: 'the cacerts warning in /diagnostics' },
  );
  assert.match(warning?.message ?? '', /Secret istio-system\/cacerts cannot be the mesh CA \(GH_ERR_CA_KEY_MISMATCH/);
  assert.match(warning?.source?.file ?? '', /cacerts\.yaml$/);
  assert.equal(warning?.source?.line, 6, 'the data field of the Secret');
  const r = await request({ port, authority: 'first.example', path: '/kept' });
  assert.equal(r.status, 200, r.body);
});

test('a new sound cacerts re-issues the identity: the upstream of the new root accepts it, the old one no longer does', async () => {
  writeConfig(gw.configDir, { 'cacerts.yaml': cacertsManifest(files(second)) });
  await waitFor(async () => (await request({ port, authority: 'second.example', path: '/new-root' })).status === 200, {
    what: 'the identity from the new CA',
    timeoutMs: 15_000,
  });
  const r = await request({ port, authority: 'second.example', path: '/new-root' });
  assert.equal(r.json<MeshUpstreamAnswer>().peer, `URI:${GATEWAY_ID}`);
  const old = await request({ port, authority: 'first.example', path: '/old-root' });
  assert.equal(old.status, 503);
  const d = (await request({ port: gw.adminPort, path: '/diagnostics' })).json<{ warnings: Array<{ code: string }> }>();
  assert.equal(d.warnings.some((w) => w.code === 'GH_CFG_MESH_IDENTITY'), false, 'the warning is gone');
});

test('the CA private key is neither in /config_dump nor in the logs', async () => {
  const dump = (await request({ port: gw.adminPort, path: '/config_dump' })).body;
  for (const c of [first, second]) {
    const keyLine = c.caKeyPem.split('\n')[1] ?? '';
    assert.ok(keyLine.length > 20);
    for (const text of [dump, gw.stdout(), gw.stderr()]) {
      assert.equal(text.includes(keyLine), false);
      assert.equal(text.includes(Buffer.from(c.caKeyPem).toString('base64').slice(0, 40)), false);
    }
  }
});
