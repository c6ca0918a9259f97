// Clients that misbehave or vanish cost their own request and nothing else: no crash, no leak of
// in-flight accounting, the upstream request is cancelled.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { h2session, request } from './support/client.js';
import { createTestCa, type TestCa } from './support/pki.js';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpListener, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream, type EchoUpstream } from './support/upstream.js';
import { waitFor } from './support/wait.js';

let ca: TestCa;
let up: EchoUpstream;
let gw: TestPlane;

before(async () => {
  ca = createTestCa('aborts-ca');
  up = await startEchoUpstream('up');
  const c = cluster('up.default.svc.cluster.local', [{ port: up.port }]);
  const table = routeTable('t', [vhost(['*'], [route('all', forward([c.name]))])]);
  const leaf = ca.issue('a.example.com', ['DNS:a.example.com']);
  gw = await startPlane(
    snapshot({
      listeners: [httpListener(80, 't'), httpsListener(443, [tlsChain('https.443', ['a.example.com'], 't', { secret: 'istio-system/a' })])],
      routeTables: [table],
      clusters: [c],
      secrets: [{ name: 'istio-system/a', ...leaf }],
    }),
  );
});

after(async () => {
  await gw.close();
  await up.close();
  ca.dispose();
});

test('an h2 client that resets its stream mid-request cancels the upstream request (DC)', async () => {
  const session = await h2session(gw.port(443), 'a.example.com', ca.certPem);
  try {
    const stream = session.request({ ':method': 'GET', ':path': '/gated', ':authority': 'a.example.com' });
    stream.on('error', () => undefined);
    stream.end();
    await waitFor(() => up.gated.length === 1, 'the request to reach the upstream');
    const upstreamRes = up.gated[0];
    assert.ok(upstreamRes);
    let cancelled = false;
    upstreamRes.on('close', () => (cancelled = true));
    stream.close(0x8 /* CANCEL */);
    await waitFor(() => cancelled, 'the upstream request to be cancelled');
    up.gated.splice(0);
    await waitFor(() => gw.plane.inFlight === 0, 'in-flight to drop to zero');
    await waitFor(() => gw.accessLog.some((l) => l.includes('"GET /gated HTTP/2" 0 DC')), 'a DC access log line');
  } finally {
    session.destroy();
  }
});

test('garbage on the TLS port and a half-sent HTTP request do not disturb the gateway', async () => {
  for (const [port, bytes] of [
    [gw.port(443), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'],
    [gw.port(80), 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial'],
    [gw.port(80), '\x16\x03\x01garbage'],
  ] as const) {
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(bytes);
        setImmediate(() => s.destroy());
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
  }
  await waitFor(() => gw.plane.inFlight === 0, 'in-flight to drop to zero');
  const r = await request({ port: gw.port(80), path: '/after' });
  assert.equal(r.status, 200);
});
