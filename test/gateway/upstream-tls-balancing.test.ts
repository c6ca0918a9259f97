// The upstream side: TLS origination from the cluster (SIMPLE with a CA and SAN check, MUTUAL with a
// client identity), h2c to HTTP2 clusters, and load balancing across endpoints.
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createH2Server, type Http2Server } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import type { Cluster } from '../../core/snapshot.js';
import { request } from './support/client.js';
import { createTestCa, type TestCa } from './support/pki.js';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpListener, prefix, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream, type EchoUpstream } from './support/upstream.js';
import { waitFor } from './support/wait.js';

let serverCa: TestCa;
let clientCa: TestCa;
let simple: HttpsServer;
let mutual: HttpsServer;
let h2c: Http2Server;
let e1: EchoUpstream;
let e2: EchoUpstream;
let gw: TestPlane;
let port: number;

function listen(server: HttpsServer | Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

before(async () => {
  serverCa = createTestCa('upstream-ca');
  clientCa = createTestCa('gateway-client-ca');
  const backend = serverCa.issue('backend.internal', ['DNS:backend.internal', 'URI:spiffe://cluster.local/ns/default/sa/backend']);
  const gatewayIdentity = clientCa.issue('gateway', ['URI:spiffe://cluster.local/ns/istio-system/sa/ingress'], 'client');
  simple = createHttpsServer({ cert: backend.certPem, key: backend.keyPem }, (req, res) => {
    res.writeHead(200, { 'x-upstream': 'simple', 'x-sni': (req.socket as TLSSocket).servername || '' });
    res.end('ok');
  });
  mutual = createHttpsServer({ cert: backend.certPem, key: backend.keyPem, ca: clientCa.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.writeHead(200, { 'x-upstream': 'mutual', 'x-client-cn': String(peer.subject?.CN ?? '') });
    res.end('ok');
  });
  h2c = createH2Server((req, res) => {
    res.writeHead(200, { 'x-upstream': 'h2c', 'x-http-version': req.httpVersion });
    res.end('ok');
  });
  const [simplePort, mutualPort, h2cPort] = [await listen(simple), await listen(mutual), await listen(h2c)];
  e1 = await startEchoUpstream('e1');
  e2 = await startEchoUpstream('e2');

  const secrets = [
    { name: 'istio-system/upstream-ca', caPem: serverCa.certPem },
    { name: 'istio-system/gateway-identity', ...gatewayIdentity, caPem: serverCa.certPem },
  ];
  const tlsBase = { subjectAltNames: [] as string[], insecureSkipVerify: false };
  const clusters: Cluster[] = [
    cluster('simple.default.svc.cluster.local', [{ port: simplePort }], { tls: { ...tlsBase, mode: 'SIMPLE', sni: 'backend.internal', caPem: serverCa.certPem } }),
    cluster('wrongca.default.svc.cluster.local', [{ port: simplePort }], { tls: { ...tlsBase, mode: 'SIMPLE', sni: 'backend.internal', caPem: clientCa.certPem } }),
    cluster('san.default.svc.cluster.local', [{ port: simplePort }], {
      tls: { ...tlsBase, mode: 'SIMPLE', sni: 'backend.internal', secret: 'istio-system/upstream-ca', subjectAltNames: ['spiffe://cluster.local/ns/default/sa/backend'] },
    }),
    cluster('badsan.default.svc.cluster.local', [{ port: simplePort }], {
      tls: { ...tlsBase, mode: 'SIMPLE', sni: 'backend.internal', secret: 'istio-system/upstream-ca', subjectAltNames: ['spiffe://cluster.local/ns/default/sa/other'] },
    }),
    cluster('mutual.default.svc.cluster.local', [{ port: mutualPort }], { tls: { ...tlsBase, mode: 'MUTUAL', sni: 'backend.internal', secret: 'istio-system/gateway-identity' } }),
    cluster('h2c.default.svc.cluster.local', [{ port: h2cPort }], { protocol: 'HTTP2' }),
    cluster('rr.default.svc.cluster.local', [{ port: e1.port }, { port: e2.port }]),
    cluster('lr.default.svc.cluster.local', [{ port: e1.port }, { port: e2.port }], { loadBalancer: 'LEAST_REQUEST' }),
    cluster('dns.example.internal', [{ address: 'localhost', port: e1.port }], { discovery: 'DNS' }),
  ];
  const byPrefix = (p: string, c: Cluster) => route(p, forward([c.name]), { match: [prefix(`/${p}`)] });
  const table = routeTable('http.80', [
    vhost(['*'], ['simple', 'wrongca', 'san', 'badsan', 'mutual', 'h2c', 'rr', 'lr', 'dns'].map((p, i) => byPrefix(p, clusters[i] as Cluster))),
  ]);
  gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [table], clusters, secrets }));
  port = gw.port(80);
});

after(async () => {
  await gw.close();
  for (const s of [simple, mutual]) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await new Promise<void>((resolve) => h2c.close(() => resolve()));
  await e1.close();
  await e2.close();
  serverCa.dispose();
  clientCa.dispose();
});

test('SIMPLE TLS to the upstream verifies its certificate against the cluster CA and sends the SNI', async () => {
  const r = await request({ port, path: '/simple' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'simple');
  assert.equal(r.headers['x-sni'], 'backend.internal');
  const wrong = await request({ port, path: '/wrongca' });
  assert.equal(wrong.status, 503);
  assert.match(wrong.body, /connection failure/);
});

test('subjectAltNames decide which upstream certificates are accepted', async () => {
  assert.equal((await request({ port, path: '/san' })).status, 200);
  assert.equal((await request({ port, path: '/badsan' })).status, 503);
});

test('MUTUAL presents the gateway identity to the upstream', async () => {
  const r = await request({ port, path: '/mutual' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-client-cn'], 'gateway');
});

test('HTTP2 clusters get h2 with prior knowledge', async () => {
  const r = await request({ port, path: '/h2c' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-http-version'], '2.0');
});

test('ROUND_ROBIN spreads requests evenly over the endpoints', async () => {
  const counts = { e1: 0, e2: 0 } as Record<string, number>;
  for (let i = 0; i < 10; i++) {
    const r = await request({ port, path: '/rr' });
    counts[String(r.headers['x-upstream'])]! += 1;
  }
  assert.deepEqual(counts, { e1: 5, e2: 5 });
});

test('LEAST_REQUEST avoids the endpoint with a request in flight', async () => {
  const held = request({ port, path: '/lr/gated', timeoutMs: 5_000 });
  await waitFor(() => e1.gated.length + e2.gated.length === 1, 'one request held at an endpoint');
  const busy = e1.gated.length === 1 ? 'e1' : 'e2';
  for (let i = 0; i < 6; i++) {
    const r = await request({ port, path: '/lr' });
    assert.notEqual(r.headers['x-upstream'], busy, 'a request went to the busy endpoint');
  }
  e1.releaseGated();
  e2.releaseGated();
  assert.equal((await held).status, 200);
});

test('DNS clusters resolve their endpoint host names when connecting', async () => {
  const r = await request({ port, path: '/dns' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'e1');
});
