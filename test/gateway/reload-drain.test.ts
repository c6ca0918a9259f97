// Hot reload and drain: apply() swaps routes while a request on the old snapshot completes, adds and
// removes listeners, refuses a snapshot whose port cannot bind; drain() lets in-flight requests finish
// and cuts off what outlives its timeout.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { h2request, h2session, request, type Reply } from './support/client.js';
import { createTestCa } from './support/pki.js';
import { startPlane } from './support/plane.js';
import { cluster, forward, httpListener, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream } from './support/upstream.js';
import { waitFor } from './support/wait.js';

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

function tableTo(clusterName: string) {
  return routeTable('http.80', [vhost(['*'], [route('all', forward([clusterName]))])]);
}

test('apply swaps routes while a request on the old snapshot completes; listeners come and go', async () => {
  const a = await startEchoUpstream('a');
  const b = await startEchoUpstream('b');
  const ca = cluster('a.default.svc.cluster.local', [{ port: a.port }]);
  const cb = cluster('b.default.svc.cluster.local', [{ port: b.port }]);
  const gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [tableTo(ca.name)], clusters: [ca] }), {
    portMap: new Map([[80, 0], [81, 0]]),
  });
  try {
    const port = gw.port(80);
    assert.equal(gw.plane.ready, true);
    const inFlight = request({ port, path: '/gated', timeoutMs: 5_000 });
    await waitFor(() => a.gated.length === 1, 'the old-snapshot request to reach a');

    // The new snapshot routes everything to b and drops cluster a entirely.
    const second = snapshot({ listeners: [httpListener(80, 'http.80'), httpListener(81, 'http.80')], routeTables: [tableTo(cb.name)], clusters: [cb] });
    await gw.plane.apply(second);
    assert.equal(gw.plane.current, second);
    const now = await request({ port, path: '/after' });
    assert.equal(now.headers['x-upstream'], 'b');
    const added = gw.port(81);
    assert.equal((await request({ port: added, path: '/on-81' })).headers['x-upstream'], 'b');

    a.releaseGated();
    const old: Reply = await inFlight;
    assert.equal(old.status, 200);
    assert.equal(old.headers['x-upstream'], 'a', 'the in-flight request finished on the snapshot it started on');

    // Removing port 81 closes its listener.
    await gw.plane.apply(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [tableTo(cb.name)], clusters: [cb] }));
    await waitFor(() => refuses(added), 'the removed listener to stop accepting');
    assert.equal((await request({ port, path: '/still' })).status, 200);
  } finally {
    await gw.close();
    await a.close();
    await b.close();
  }
});

test('a snapshot whose new port cannot bind is rejected and the old one keeps serving', async () => {
  const a = await startEchoUpstream('a');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as { port: number }).port;
  const ca = cluster('a.default.svc.cluster.local', [{ port: a.port }]);
  const first = snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [tableTo(ca.name)], clusters: [ca] });
  const gw = await startPlane(first, { portMap: new Map([[80, 0], [81, taken]]) });
  try {
    const bad = snapshot({ listeners: [httpListener(80, 'http.80'), httpListener(81, 'http.80')], routeTables: [tableTo(ca.name)], clusters: [ca] });
    await assert.rejects(gw.plane.apply(bad), (err: Error & { code?: string }) => err.code === 'GH_ERR_LISTEN');
    assert.equal(gw.plane.current, first);
    assert.equal((await request({ port: gw.port(80), path: '/ok' })).status, 200);
  } finally {
    await gw.close();
    await a.close();
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

test('drain stops accepting, lets the in-flight request finish with connection: close, then resolves', async () => {
  const a = await startEchoUpstream('a');
  const ca = cluster('a.default.svc.cluster.local', [{ port: a.port }]);
  const gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [tableTo(ca.name)], clusters: [ca] }));
  try {
    const port = gw.port(80);
    const inFlight = request({ port, path: '/gated', timeoutMs: 5_000 });
    await waitFor(() => a.gated.length === 1, 'the request to reach the upstream');
    let drained = false;
    const draining = gw.plane.drain(5_000).then(() => (drained = true));
    await waitFor(() => refuses(port), 'the listener to stop accepting');
    assert.equal(drained, false, 'drain finished while a request was in flight');
    assert.equal(gw.plane.ready, false);
    a.releaseGated();
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close');
    await draining;
    assert.equal(gw.plane.inFlight, 0);
  } finally {
    await gw.close();
    await a.close();
  }
});

test('drain cuts off a request that outlives the timeout', async () => {
  const a = await startEchoUpstream('a');
  const ca = cluster('a.default.svc.cluster.local', [{ port: a.port }]);
  const gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [tableTo(ca.name)], clusters: [ca] }));
  try {
    const port = gw.port(80);
    const outcome = new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/hang', headers: { host: 'x' }, agent: false });
      req.on('error', (err) => resolve(`error: ${err.message}`));
      req.on('response', (res) => resolve(`status ${res.statusCode}`));
      req.end();
    });
    await waitFor(() => a.received.some((r) => r.url === '/hang'), 'the request to reach the upstream');
    const started = Date.now();
    await gw.plane.drain(200);
    const took = Date.now() - started;
    // The in-flight request was given its grace period before being cut off (a hang is the runner's timeout).
    assert.ok(took >= 150, `drain cut the request off after ${took} ms, before its 200 ms`);
    assert.match(await outcome, /^error/);
  } finally {
    await gw.close();
    await a.close();
  }
});

test('a port whose protocol changes gets its server replaced (HTTP → HTTPS)', async () => {
  const ca = createTestCa('swap-ca');
  const a = await startEchoUpstream('a');
  const c = cluster('a.default.svc.cluster.local', [{ port: a.port }]);
  const gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [tableTo(c.name)], clusters: [c] }));
  try {
    const plainPort = gw.port(80);
    assert.equal((await request({ port: plainPort, path: '/plain' })).status, 200);
    const leaf = ca.issue('a.example.com', ['DNS:a.example.com']);
    const https = snapshot({
      listeners: [httpsListener(80, [tlsChain('https.80', ['a.example.com'], 'http.80', { secret: 'istio-system/a' })])],
      routeTables: [tableTo(c.name)],
      clusters: [c],
      secrets: [{ name: 'istio-system/a', ...leaf }],
    });
    await gw.plane.apply(https);
    const r = await request({ port: gw.port(80), host: 'a.example.com', path: '/tls', tls: { servername: 'a.example.com', ca: ca.certPem } });
    assert.equal(r.status, 200);
    assert.equal(a.received.at(-1)?.headers['x-forwarded-proto'], 'https');
  } finally {
    await gw.close();
    await a.close();
    ca.dispose();
  }
});

test('drain sends GOAWAY to h2 sessions and lets their in-flight stream finish', async () => {
  const ca = createTestCa('drain-ca');
  const a = await startEchoUpstream('a');
  const c = cluster('a.default.svc.cluster.local', [{ port: a.port }]);
  const leaf = ca.issue('a.example.com', ['DNS:a.example.com']);
  const gw = await startPlane(
    snapshot({
      listeners: [httpsListener(443, [tlsChain('https.443', ['a.example.com'], 'http.80', { secret: 'istio-system/a' })])],
      routeTables: [tableTo(c.name)],
      clusters: [c],
      secrets: [{ name: 'istio-system/a', ...leaf }],
    }),
  );
  const session = await h2session(gw.port(443), 'a.example.com', ca.certPem);
  try {
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    const inFlight = h2request(session, 'a.example.com', '/gated');
    await waitFor(() => a.gated.length === 1, 'the h2 request to reach the upstream');
    const draining = gw.plane.drain(5_000);
    await waitFor(() => goaway, 'GOAWAY from the gateway');
    a.releaseGated();
    const r = await inFlight;
    assert.equal(r.status, 200);
    await draining;
  } finally {
    session.destroy();
    await gw.close();
    await a.close();
    ca.dispose();
  }
});

test('endpoint changes keep the surviving endpoint\'s upstream connections warm', async () => {
  const a = await startEchoUpstream('a');
  const b = await startEchoUpstream('b');
  const one = cluster('svc.default.svc.cluster.local', [{ port: a.port }]);
  const gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [tableTo(one.name)], clusters: [one] }));
  try {
    const port = gw.port(80);
    await request({ port, path: '/first' });
    const firstConnection = a.received.at(-1)?.remotePort;
    const two = cluster('svc.default.svc.cluster.local', [{ port: a.port }, { port: b.port }]);
    await gw.plane.apply(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [tableTo(two.name)], clusters: [two] }));
    for (let i = 0; i < 4; i++) await request({ port, path: `/again-${i}` });
    const later = a.received.filter((r) => r.url.startsWith('/again'));
    assert.ok(later.length >= 1, 'round robin never reached a');
    assert.ok(b.received.some((r) => r.url.startsWith('/again')), 'the new endpoint b got no traffic');
    for (const r of later) assert.equal(r.remotePort, firstConnection, 'a got a new connection after the endpoint change');
  } finally {
    await gw.close();
    await a.close();
    await b.close();
  }
});
