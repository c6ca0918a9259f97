// Live rotation, through the real process: a Secret replaced on disk is served on the next handshake while
// a connection opened before keeps working on the old one; a Secret changed into something unusable keeps
// its last good version serving (with a warning); and the gateway's own mesh certificate renews itself
// without a failed request to an ISTIO_MUTUAL upstream.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { CertificateAuthority as MeshAuthority } from '../../certs/authority.js';
import { issueWorkloadCertificate } from '../../certs/workload.js';
import { startMeshUpstream, type MeshUpstream } from '../certs/support/mesh-upstream.js';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, writeConfig, type GatewayProcess } from '../support/gateway-process.js';
import { createCA, issueLeaf, tlsSecretYaml, type LeafCertificate } from '../support/pki.js';
import { freePorts } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { gatewayYaml, serviceEntryYaml } from './manifests.js';

const started: Array<{ stop(): Promise<unknown> } | { close(): Promise<void> }> = [];
after(async () => {
  for (const s of started.reverse()) await ('stop' in s ? s.stop() : s.close());
});

function route(host: string, destination: string, gateway: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${host.split('.')[0]}, namespace: default}
spec:
  hosts: [${host}]
  gateways: [istio-system/${gateway}]
  http:
  - route:
    - destination: {host: ${destination}}
`;
}

/** One GET on a keep-alive agent; reports the serial of the certificate the gateway presented on that socket. */
function getVia(agent: https.Agent, port: number, ca: string): Promise<{ status: number; serial: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/', servername: 'site.example.com', headers: { host: 'site.example.com' }, ca, agent, timeout: 5000 },
      (res) => {
        // Read now: a keep-alive socket goes back to the agent (and off the response) once the body ends.
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, serial, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.end();
  });
}

function serialOf(leaf: LeafCertificate): string {
  return new X509Certificate(leaf.certPem).serialNumber;
}

test('a replaced Secret is served on the next handshake, an open connection keeps working, a broken one keeps the last good', async () => {
  const [port] = (await freePorts(1)) as [number];
  const ca = createCA('rotation CA');
  const [first, second] = [issueLeaf(ca, ['site.example.com']), issueLeaf(ca, ['site.example.com'])];
  const upstream: EchoUpstream = await startEchoUpstream('site');
  started.push(upstream);
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('site', [{ port, protocol: 'HTTPS', hosts: ['site.example.com'], credentialName: 'site-cert' }]),
    'secret.yaml': tlsSecretYaml('site-cert', 'istio-system', first),
    'service.yaml': serviceEntryYaml('site', 'site.internal', [{ port: upstream.port }]),
    'route.yaml': route('site.example.com', 'site.internal', 'site'),
  });
  const gw: GatewayProcess = await startGateway(dir);
  started.push(gw);

  const longLived = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const opened = await getVia(longLived, port, ca.certPem);
    assert.deepEqual([opened.status, opened.serial], [200, serialOf(first)]);

    writeConfig(dir, { 'secret.yaml': tlsSecretYaml('site-cert', 'istio-system', second) });
    const fresh = () => getVia(new https.Agent({ keepAlive: false }), port, ca.certPem);
    await waitFor(async () => (await fresh()).serial === serialOf(second), { what: 'the replaced certificate on a new handshake' });

    const kept = await getVia(longLived, port, ca.certPem);
    assert.equal(kept.status, 200);
    assert.equal(kept.reused, true, 'the connection opened before the swap was reused');
    assert.equal(kept.serial, serialOf(first), 'and it still runs on the certificate it was opened with');

    // A key that does not belong to the certificate: rejected with a warning, the last good one serves on.
    writeConfig(dir, { 'secret.yaml': tlsSecretYaml('site-cert', 'istio-system', { certPem: first.certPem, keyPem: second.keyPem }) });
    await waitFor(
      async () => (await request({ port: gw.adminPort, path: '/diagnostics' })).body.includes('GH_CFG_SECRET_KEPT'),
      { what: 'the held-back Secret to be reported at /diagnostics' },
    );
    assert.match(gw.stderr(), /GH_CFG_SECRET_KEPT Secret istio-system\/site-cert changed and cannot be used \(the private key does not match the certificate\)/);
    const afterBroken = await fresh();
    assert.deepEqual([afterBroken.status, afterBroken.serial], [200, serialOf(second)]);
  } finally {
    longLived.destroy();
  }
});

test('the gateway mesh certificate renews itself and ISTIO_MUTUAL requests never fail across the renewal', async () => {
  const [port] = (await freePorts(1)) as [number];
  const caDir = mkdtempSync(join(tmpdir(), 'gatehouse-rotation-ca-'));
  const { authority } = await MeshAuthority.loadOrCreate({ stateDir: caDir });
  const identity = await issueWorkloadCertificate(authority, { namespace: 'shop', serviceAccount: 'cart' });
  const upstream: MeshUpstream = await startMeshUpstream('cart', { chainPem: identity.chainPem, keyPem: identity.keyPem, rootPem: authority.rootPem });
  started.push(upstream);
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('shop', [{ port, protocol: 'HTTP', hosts: ['cart.example'] }]),
    'service.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cart, namespace: shop}
spec:
  hosts: [cart.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints:
  - {address: 127.0.0.1, ports: {http: ${upstream.port}}, serviceAccount: cart}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cart, namespace: shop}
spec:
  host: cart.shop.svc.cluster.local
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
`,
    'route.yaml': route('cart.example', 'cart.shop.svc.cluster.local', 'shop'),
  });
  // Certificates are backdated a minute, so a 64 s lifetime is renewed about 2 s after issue.
  const gw = await startGateway(dir, { args: ['--ca-dir', caDir, '--workload-cert-ttl', '64s'] });
  started.push(gw);

  const statuses = new Map<number, number>();
  await waitFor(
    async () => {
      const r = await request({ port, authority: 'cart.example', path: '/renewal' });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      return upstream.clientCertificates.length >= 2;
    },
    { timeoutMs: 20_000, what: 'the upstream to see a renewed client certificate' },
  );
  assert.deepEqual([...statuses.keys()], [200], `every request succeeded: ${JSON.stringify([...statuses])}`);
  assert.match(gw.stderr(), /mesh identity spiffe:\/\/cluster\.local\/ns\/istio-system\/sa\/istio-ingressgateway-service-account renewed/);
});
