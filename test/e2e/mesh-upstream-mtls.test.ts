// The mesh path over real TLS: the gateway presents its own SPIFFE certificate (issued from the mesh CA
// it shares with the upstreams) to upstreams that require one, and checks theirs: chain to the mesh root
// and the expected identity from the ServiceEntry. DestinationRule ISTIO_MUTUAL asks for it explicitly;
// PeerAuthentication STRICT asks for it when no DestinationRule says anything (auto mTLS).
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
import { waitFor } from '../support/wait.js';
import { gatewayYaml } from './manifests.js';
import { meshServiceEntry } from './mesh-manifests.js';

const GATEWAY_ID = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';

let gw: GatewayProcess;
let port: number;
let reviews: MeshUpstream;
let untrusted: MeshUpstream;
let details: MeshUpstream;
let plainOpen: EchoUpstream;
let plainLegacy: EchoUpstream;

function istioMutual(name: string, host: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: istio-system}
spec:
  host: ${host}
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
`;
}

function route(host: string, destination: string): string {
  const name = host.split('.')[0];
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${host}]
  gateways: [istio-system/mesh-test]
  http:
  - route:
    - destination: {host: ${destination}}
`;
}

before(async () => {
  [port] = (await freePorts(1)) as [number];
  const caDir = mkdtempSync(join(tmpdir(), 'gatehouse-mesh-ca-'));
  const { authority } = await CertificateAuthority.loadOrCreate({ stateDir: caDir });
  const { authority: stranger } = await CertificateAuthority.loadOrCreate({ stateDir: mkdtempSync(join(tmpdir(), 'gatehouse-other-ca-')) });
  const workload = async (ca: CertificateAuthority, namespace: string, serviceAccount: string) => {
    const c = await issueWorkloadCertificate(ca, { namespace, serviceAccount });
    return { chainPem: c.chainPem, keyPem: c.keyPem, rootPem: authority.rootPem };
  };
  reviews = await startMeshUpstream('reviews', await workload(authority, 'shop', 'reviews'));
  // Signed by another CA, but trusting ours: only the gateway's check of the chain can refuse it.
  untrusted = await startMeshUpstream('untrusted', await workload(stranger, 'shop', 'reviews'));
  details = await startMeshUpstream('details', await workload(authority, 'secure', 'details'));
  plainOpen = await startEchoUpstream('open');
  plainLegacy = await startEchoUpstream('legacy');

  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('mesh-test', [{ port, protocol: 'HTTP' }]),
    'services.yaml': [
      meshServiceEntry('reviews', 'shop', [{ port: reviews.port, serviceAccount: 'reviews' }]),
      // The same upstream, but the ServiceEntry says the workload is `ratings`: the identity check refuses it.
      meshServiceEntry('impostor', 'shop', [{ port: reviews.port, serviceAccount: 'ratings' }]),
      meshServiceEntry('stranger', 'shop', [{ port: untrusted.port, serviceAccount: 'reviews' }]),
      meshServiceEntry('details', 'secure', [{ port: details.port }], { subjectAltNames: ['spiffe://cluster.local/ns/secure/sa/details'] }),
      meshServiceEntry('legacy', 'secure', [{ port: plainLegacy.port, labels: { app: 'legacy' } }]),
      meshServiceEntry('web', 'open', [{ port: plainOpen.port }]),
    ].join('---\n'),
    'rules.yaml': [
      istioMutual('reviews', 'reviews.shop.svc.cluster.local'),
      istioMutual('impostor', 'impostor.shop.svc.cluster.local'),
      istioMutual('stranger', 'stranger.shop.svc.cluster.local'),
    ].join('---\n'),
    'peer-authentication.yaml': `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: secure}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: legacy, namespace: secure}
spec:
  selector: {matchLabels: {app: legacy}}
  mtls: {mode: DISABLE}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: open}
spec:
  mtls: {mode: PERMISSIVE}
`,
    'routes.yaml': [
      route('reviews.example', 'reviews.shop.svc.cluster.local'),
      route('impostor.example', 'impostor.shop.svc.cluster.local'),
      route('stranger.example', 'stranger.shop.svc.cluster.local'),
      route('details.example', 'details.secure.svc.cluster.local'),
      route('legacy.example', 'legacy.secure.svc.cluster.local'),
      route('web.example', 'web.open.svc.cluster.local'),
    ].join('---\n'),
  });
  gw = await startGateway(dir, { args: ['--ca-dir', caDir] });
});

after(async () => {
  await gw?.stop();
  await Promise.all([reviews, untrusted, details, plainOpen, plainLegacy].map((u) => u?.close()));
});

function accessLogFor(path: string): string {
  return gw.stdout().split('\n').filter((l) => l.includes(` ${path} `)).at(-1) ?? '';
}

test('ISTIO_MUTUAL: the upstream that requires a client certificate receives the gateway SPIFFE identity', async () => {
  const r = await request({ port, authority: 'reviews.example', path: '/mtls' });
  assert.equal(r.status, 200, r.body);
  const answer = r.json<MeshUpstreamAnswer>();
  assert.equal(answer.upstream, 'reviews');
  assert.equal(answer.peer, `URI:${GATEWAY_ID}`);
  // Istio's SNI for ISTIO_MUTUAL clusters: what a sidecar's inbound listener matches.
  assert.equal(answer.sni, 'outbound_.80_._.reviews.shop.svc.cluster.local');
});

test('ISTIO_MUTUAL: an upstream presenting another SPIFFE identity than expected is refused with 503 UF', async () => {
  const before = reviews.clientCertificates.length;
  const r = await request({ port, authority: 'impostor.example', path: '/wrong-identity' });
  assert.equal(r.status, 503);
  await waitFor(() => accessLogFor('/wrong-identity') !== '', { what: 'access log line for /wrong-identity' });
  const line = accessLogFor('/wrong-identity');
  assert.match(line, /" 503 UF /);
  assert.match(line, /"[^"]*spiffe:\/\/cluster\.local\/ns\/shop\/sa\/ratings[^"]*"/, `transport failure reason names the expected identity: ${line}`);
  assert.equal(reviews.clientCertificates.length, before, 'no request reached the upstream');
});

test('ISTIO_MUTUAL: an upstream whose chain does not lead to the mesh root is refused with 503 UF', async () => {
  const r = await request({ port, authority: 'stranger.example', path: '/untrusted' });
  assert.equal(r.status, 503);
  await waitFor(() => accessLogFor('/untrusted') !== '', { what: 'access log line for /untrusted' });
  const line = accessLogFor('/untrusted');
  assert.match(line, /" 503 UF /);
  assert.doesNotMatch(line, /UF "-" /, `a transport failure reason is logged: ${line}`);
  assert.equal(untrusted.clientCertificates.length, 0);
});

test('auto mTLS: PeerAuthentication STRICT on the namespace makes the gateway originate Istio mutual TLS', async () => {
  const r = await request({ port, authority: 'details.example', path: '/strict' });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json<MeshUpstreamAnswer>().peer, `URI:${GATEWAY_ID}`);
});

test('auto mTLS: a workload-level DISABLE overrides the namespace STRICT, and PERMISSIVE stays plaintext', async () => {
  const legacy = await request({ port, authority: 'legacy.example', path: '/disable' });
  assert.equal(legacy.status, 200, legacy.body);
  assert.equal(legacy.headers['x-upstream'], 'legacy');
  const open = await request({ port, authority: 'web.example', path: '/permissive' });
  assert.equal(open.status, 200, open.body);
  assert.equal(open.headers['x-upstream'], 'open');
});

test('the admin port shows the mesh identity at /certs, and its expiry is a metric', async () => {
  const certs = (await request({ port: gw.adminPort, path: '/certs' })).json<{
    meshIdentity: { spiffeId: string; notAfter: string; authority: { source: string } } | null;
    certificates: Array<{ secret: string; notAfter: string }>;
  }>();
  assert.equal(certs.meshIdentity?.spiffeId, GATEWAY_ID);
  assert.equal(certs.meshIdentity?.authority.source, 'self-signed');
  const entry = certs.certificates.find((c) => c.secret === 'istio-system/gatehouse-mesh-identity');
  assert.ok(entry, JSON.stringify(certs));
  const metrics = (await request({ port: gw.statsPort, path: '/stats/prometheus' })).body;
  const expiry = Date.parse(entry.notAfter) / 1000;
  assert.match(
    metrics,
    new RegExp(`gatehouse_certificate_expiry_timestamp_seconds\\{secret="istio-system/gatehouse-mesh-identity"[^}]*\\} ${expiry}\\b`),
  );
});
