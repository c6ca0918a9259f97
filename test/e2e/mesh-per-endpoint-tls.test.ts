// Auto mTLS decided per endpoint, over real sockets: one Service with two real upstreams, one that
// requires the gateway's SPIFFE certificate and one that speaks plaintext HTTP. Every request succeeds
// only if each endpoint gets its own transport (a cluster-wide choice fails half of them).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CertificateAuthority } from '../../certs/authority.js';
import { issueWorkloadCertificate } from '../../certs/workload.js';
import { startMeshUpstream, type MeshUpstream, type MeshUpstreamAnswer } from '../certs/support/mesh-upstream.js';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { freePorts } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { gatewayYaml } from './manifests.js';
import { meshRoute, meshServiceEntry } from './mesh-manifests.js';

const GATEWAY_ID = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
/** Round robin over two endpoints: 8 requests reach each one 4 times. */
const REQUESTS = 8;

let gw: GatewayProcess;
let port: number;
let strictPod: MeshUpstream;
let legacyPod: EchoUpstream;
let sidecarPod: MeshUpstream;
let plainPod: EchoUpstream;

function roundRobin(host: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host.split('.')[0]}, namespace: shop}
spec:
  host: ${host}
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
`;
}

before(async () => {
  [port] = (await freePorts(1)) as [number];
  const caDir = mkdtempSync(join(tmpdir(), 'gatehouse-mesh-ca-'));
  const { authority } = await CertificateAuthority.loadOrCreate({ stateDir: caDir });
  const identity = async (serviceAccount: string) => {
    const c = await issueWorkloadCertificate(authority, { namespace: 'shop', serviceAccount });
    return { chainPem: c.chainPem, keyPem: c.keyPem, rootPem: authority.rootPem };
  };
  strictPod = await startMeshUpstream('cart-strict', await identity('cart'));
  legacyPod = await startEchoUpstream('cart-legacy');
  sidecarPod = await startMeshUpstream('orders-sidecar', await identity('orders'));
  plainPod = await startEchoUpstream('orders-plain');
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('mesh-test', [{ port, protocol: 'HTTP' }]),
    'cart.yaml': [
      meshServiceEntry('cart', 'shop', [
        { port: strictPod.port, serviceAccount: 'cart', labels: { app: 'cart', track: 'secure' } },
        { port: legacyPod.port, labels: { app: 'cart', track: 'legacy' } },
      ]),
      roundRobin('cart.shop.svc.cluster.local'),
      // Only the secure pod requires mutual TLS; the namespace has no policy (PERMISSIVE).
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: secure, namespace: shop}
spec:
  selector: {matchLabels: {track: secure}}
  mtls: {mode: STRICT}
`,
      meshRoute('cart.example', 'cart.shop.svc.cluster.local'),
    ].join('---\n'),
    'orders.yaml': [
      // Istio's injector labels pods that run a sidecar; auto mTLS sends mutual TLS to those only.
      meshServiceEntry('orders', 'shop', [
        { port: sidecarPod.port, serviceAccount: 'orders', labels: { app: 'orders', 'security.istio.io/tlsMode': 'istio' } },
        { port: plainPod.port, labels: { app: 'orders' } },
      ]),
      roundRobin('orders.shop.svc.cluster.local'),
      meshRoute('orders.example', 'orders.shop.svc.cluster.local'),
    ].join('---\n'),
  });
  gw = await startGateway(dir, { args: ['--ca-dir', caDir] });
});

after(async () => {
  await gw?.stop();
  await Promise.all([strictPod, legacyPod, sidecarPod, plainPod].map((u) => u?.close()));
});

async function spread(authority: string, mutual: MeshUpstream, plain: EchoUpstream): Promise<void> {
  const seen = new Map<string, number>();
  for (let i = 0; i < REQUESTS; i++) {
    const r = await request({ port, authority, path: `/per-endpoint/${i}` });
    assert.equal(r.status, 200, `request ${i}: ${r.body}`);
    const who = String(r.headers['x-upstream']);
    seen.set(who, (seen.get(who) ?? 0) + 1);
    if (who === mutual.name) assert.equal(r.json<MeshUpstreamAnswer>().peer, `URI:${GATEWAY_ID}`);
  }
  assert.deepEqual(Object.fromEntries(seen), { [mutual.name]: REQUESTS / 2, [plain.name]: REQUESTS / 2 });
  assert.equal(plain.hits.length, REQUESTS / 2, 'the plaintext upstream got plain HTTP requests');
  assert.ok(mutual.connections() >= 1);
}

test('PeerAuthentication STRICT on one workload: mutual TLS to that endpoint, plaintext to the other, within one cluster', async () => {
  await spread('cart.example', strictPod, legacyPod);
});

test('the security.istio.io/tlsMode: istio endpoint label gets mutual TLS, the unlabelled endpoint plaintext (no PeerAuthentication)', async () => {
  await spread('orders.example', sidecarPod, plainPod);
});

test('/config_dump shows the cluster ISTIO_MUTUAL with the plaintext endpoint marked', async () => {
  const dump = (await request({ port: gw.adminPort, path: '/config_dump' })).json<{
    clusters: Record<string, { tls?: { mode: string }; endpoints: Array<{ port: number; plaintext?: boolean }> }>;
  }>();
  const cart = dump.clusters['outbound|80||cart.shop.svc.cluster.local'];
  assert.equal(cart?.tls?.mode, 'ISTIO_MUTUAL');
  assert.deepEqual(
    cart?.endpoints.map((e) => [e.port, e.plaintext === true]),
    [[strictPod.port, false], [legacyPod.port, true]],
  );
});
