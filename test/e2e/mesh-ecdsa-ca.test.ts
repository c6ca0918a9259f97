// The gateway's identity signed by a user's ECDSA intermediate (cert-manager's usual key), through a real
// mutual-TLS handshake: the CA material is made by openssl, and the upstream trusts only the ECDSA root.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createIstioCacerts, issueLeafWithSans, type TestCacerts } from '../certs/support/istio-cacerts.js';
import { startMeshUpstream, type MeshUpstream, type MeshUpstreamAnswer } from '../certs/support/mesh-upstream.js';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { freePorts } from '../support/ports.js';
import { gatewayYaml } from './manifests.js';
import { destinationRuleTls, meshRoute, meshServiceEntry } from './mesh-manifests.js';

const GATEWAY_ID = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';

let gw: GatewayProcess;
let port: number;
let cacerts: TestCacerts;
let upstream: MeshUpstream;

before(async () => {
  [port] = (await freePorts(1)) as [number];
  cacerts = createIstioCacerts({ root: 'ec', intermediate: 'ec384' });
  const leaf = issueLeafWithSans(cacerts, 'URI:spiffe://cluster.local/ns/shop/sa/reviews', 'ec');
  upstream = await startMeshUpstream('reviews', { chainPem: leaf.certPem, keyPem: leaf.keyPem, rootPem: cacerts.rootCertPem });
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('mesh-test', [{ port, protocol: 'HTTP' }]),
    'reviews.yaml': [
      meshServiceEntry('reviews', 'shop', [{ port: upstream.port, serviceAccount: 'reviews' }]),
      destinationRuleTls('reviews', 'reviews.shop.svc.cluster.local', '{mode: ISTIO_MUTUAL}'),
      meshRoute('reviews.example', 'reviews.shop.svc.cluster.local'),
    ].join('---\n'),
  });
  gw = await startGateway(dir, { args: ['--cacerts-dir', cacerts.dir] });
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

test('ISTIO_MUTUAL with an ECDSA P-384 intermediate: an upstream trusting only the ECDSA root accepts the gateway SPIFFE identity', async () => {
  const r = await request({ port, authority: 'reviews.example', path: '/ecdsa-ca' });
  assert.equal(r.status, 200, r.body);
  const answer = r.json<MeshUpstreamAnswer>();
  assert.equal(answer.peer, `URI:${GATEWAY_ID}`);
  assert.equal(upstream.clientCertificates.length, 1);
});

test('the admin port reports the cacerts authority: the ECDSA intermediate, not a root of our own', async () => {
  const certs = (await request({ port: gw.adminPort, path: '/certs' })).json<{
    meshIdentity: { spiffeId: string; authority: { source: string; fingerprint256: string } } | null;
  }>();
  assert.equal(certs.meshIdentity?.spiffeId, GATEWAY_ID);
  assert.equal(certs.meshIdentity?.authority.source, 'cacerts');
  assert.equal(certs.meshIdentity?.authority.fingerprint256, new X509Certificate(cacerts.caCertPem).fingerprint256);
});
