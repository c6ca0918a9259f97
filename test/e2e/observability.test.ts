// What an operator sees: Istio-named metrics on the stats port, one access-log line per request in
// Istio's default format, the compiled config on the loopback-only admin port with keys redacted.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { createCA, issueLeaf, tlsSecretYaml } from '../support/pki.js';
import { freePorts } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { gatewayYaml, serviceEntryYaml } from './manifests.js';

let gw: GatewayProcess;
let port: number;
let httpsPort: number;
let web: EchoUpstream;

before(async () => {
  web = await startEchoUpstream('web');
  [port, httpsPort] = (await freePorts(2)) as [number, number];
  const ca = createCA('obs');
  gw = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [
        { port, protocol: 'HTTP' },
        { port: httpsPort, protocol: 'HTTPS', credentialName: 'edge-cert' },
      ]),
      'secret.yaml': tlsSecretYaml('edge-cert', 'istio-system', issueLeaf(ca, ['obs.example.com'])),
      'se.yaml': serviceEntryYaml('web', 'web.shop.svc.cluster.local', [{ port: web.port }], 'shop'),
      'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: shop }
spec:
  hosts: ["obs.example.com"]
  gateways: [istio-system/edge]
  http:
  - name: web-route
    route:
    - destination: { host: web }
`,
    }),
  );
});

after(async () => {
  await gw?.stop();
  await web?.close();
});

test('istio_requests_total counts requests with Istio label names, including 404 NR from the gateway', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await request({ port, authority: 'obs.example.com', path: '/m' })).status, 200);
  assert.equal((await request({ port, authority: 'nobody.example.com', path: '/' })).status, 404);
  const text = (await request({ port: gw.statsPort, path: '/stats/prometheus' })).body;
  const ok = text.split('\n').find((l) => l.startsWith('istio_requests_total{') && l.includes('response_code="200"'));
  assert.ok(ok, text.slice(0, 2000));
  assert.match(ok, /reporter="source"/);
  assert.match(ok, /destination_service="web\.shop\.svc\.cluster\.local"/);
  assert.match(ok, /destination_service_name="web"/);
  assert.match(ok, /destination_service_namespace="shop"/);
  assert.match(ok, /response_flags="-"/);
  assert.equal(Number(ok.slice(ok.lastIndexOf(' ') + 1)), 3);
  assert.ok(text.split('\n').some((l) => l.startsWith('istio_requests_total{') && l.includes('response_code="404"') && l.includes('response_flags="NR"')));
  assert.match(text, /istio_request_duration_milliseconds_bucket\{[^}]*le="0.5"/);
  assert.match(text, /istio_request_bytes_bucket/);
  assert.match(text, /istio_response_bytes_bucket/);
});

test('each request writes one access-log line in Istio text format with flags, cluster and route', async () => {
  await request({ port, authority: 'obs.example.com', path: '/logged?x=1', headers: { 'user-agent': 'obs-test', 'x-request-id': 'rid-42' } });
  await waitFor(() => gw.stdout().includes('rid-42'), { what: 'the access-log line' });
  const line = gw.stdout().split('\n').find((l) => l.includes('rid-42'))!;
  assert.match(line, /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "GET \/logged\?x=1 HTTP\/1\.1" 200 - /);
  assert.match(line, /"obs-test"/);
  assert.match(line, /"obs\.example\.com"/);
  assert.match(line, /outbound\|80\|\|web\.shop\.svc\.cluster\.local/);
  assert.match(line, /web-route/);
  await request({ port, authority: 'nobody.example.com', path: '/nr', headers: { 'x-request-id': 'rid-nr' } });
  await waitFor(() => gw.stdout().includes('rid-nr'));
  assert.match(gw.stdout().split('\n').find((l) => l.includes('rid-nr'))!, /" 404 NR /);
});

test('the admin port dumps the live snapshot with private keys redacted, and lists clusters', async () => {
  const dump = await request({ port: gw.adminPort, path: '/config_dump' });
  assert.equal(dump.status, 200);
  assert.doesNotMatch(dump.body, /PRIVATE KEY/);
  const snapshot = dump.json();
  assert.ok(snapshot.version >= 1);
  assert.deepEqual(snapshot.listeners.map((l: { port: number }) => l.port).sort(), [port, httpsPort].sort());
  assert.equal(snapshot.secrets['istio-system/edge-cert'].keyPem, '[redacted]');
  const clusters = (await request({ port: gw.adminPort, path: '/clusters' })).json();
  assert.ok(clusters.clusters.some((c: { name: string }) => c.name === 'outbound|80||web.shop.svc.cluster.local'));
});

test('the admin port listens on loopback only', async () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!external) return; // a machine with loopback only has nothing else to be reachable on
  const reachable = await new Promise<boolean>((resolve) => {
    const s = net.connect(gw.adminPort, external.address);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  assert.equal(reachable, false);
});

test('readiness is 200 once the config is live', async () => {
  const r = await request({ port: gw.statusPort, path: '/healthz/ready' });
  assert.equal(r.status, 200);
});
