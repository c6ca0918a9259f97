// Upstream failures become Envoy's statuses and response flags, and a response that breaks after it
// started is cut off rather than ended cleanly.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { request } from './support/client.js';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpListener, prefix, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { closedPort, startBrokenUpstream, startEchoUpstream, type EchoUpstream } from './support/upstream.js';
import { waitFor } from './support/wait.js';

let echo: EchoUpstream;
let broken: Awaited<ReturnType<typeof startBrokenUpstream>>;
let gw: TestPlane;
let port: number;

before(async () => {
  echo = await startEchoUpstream('echo');
  broken = await startBrokenUpstream();
  const live = cluster('echo.default.svc.cluster.local', [{ port: echo.port }]);
  const refused = cluster('down.default.svc.cluster.local', [{ port: await closedPort() }]);
  const empty = cluster('empty.default.svc.cluster.local', []);
  const garbage = cluster('garbage.default.svc.cluster.local', [{ port: broken.port }]);
  const table = routeTable('http.80', [
    vhost(['*'], [
      route('uf', forward([refused.name]), { match: [prefix('/uf')] }),
      route('uh', forward([empty.name]), { match: [prefix('/uh')] }),
      route('nc', forward(['outbound|80||missing.default.svc.cluster.local']), { match: [prefix('/nc')] }),
      route('upe', forward([garbage.name]), { match: [prefix('/upe')] }),
      route('ut', forward([live.name]), { match: [prefix('/hang')], timeoutMs: 200 }),
      route('rest', forward([live.name])),
    ]),
  ]);
  gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [table], clusters: [live, refused, empty, garbage] }));
  port = gw.port(80);
});

after(async () => {
  await gw.close();
  await echo.close();
  await broken.close();
});

function lastLogFor(path: string): string {
  const line = [...gw.accessLog].reverse().find((l) => l.includes(` ${path} `));
  assert.ok(line, `no access log line for ${path}`);
  return line;
}

test('nothing listening: 503 UF', async () => {
  const r = await request({ port, path: '/uf' });
  assert.equal(r.status, 503);
  assert.match(r.body, /connection failure/);
  await waitFor(() => gw.accessLog.some((l) => l.includes(' /uf ')), 'the /uf access log line');
  assert.match(lastLogFor('/uf'), /" 503 UF /);
});

test('cluster without endpoints: 503 UH', async () => {
  const r = await request({ port, path: '/uh' });
  assert.equal(r.status, 503);
  assert.equal(r.body, 'no healthy upstream');
  await waitFor(() => gw.accessLog.some((l) => l.includes(' /uh ')), 'the /uh access log line');
  assert.match(lastLogFor('/uh'), /" 503 UH /);
});

test('route to a cluster the snapshot lacks: 503 NC', async () => {
  const r = await request({ port, path: '/nc' });
  assert.equal(r.status, 503);
  await waitFor(() => gw.accessLog.some((l) => l.includes(' /nc ')), 'the /nc access log line');
  assert.match(lastLogFor('/nc'), /" 503 NC /);
});

test('an upstream that does not speak HTTP: 502 UPE', async () => {
  const r = await request({ port, path: '/upe' });
  assert.equal(r.status, 502);
  await waitFor(() => gw.accessLog.some((l) => l.includes(' /upe ')), 'the /upe access log line');
  assert.match(lastLogFor('/upe'), /" 502 UPE /);
});

test('a hung upstream past the route timeout: 504 UT', async () => {
  const started = Date.now();
  const r = await request({ port, path: '/hang', timeoutMs: 5_000 });
  assert.equal(r.status, 504);
  assert.equal(r.body, 'upstream request timeout');
  assert.ok(Date.now() - started >= 150, 'answered before the route timeout');
  await waitFor(() => gw.accessLog.some((l) => l.includes(' /hang ')), 'the /hang access log line');
  assert.match(lastLogFor('/hang'), /" 504 UT /);
});

test('upstream reset mid-body aborts the client response instead of ending it', async () => {
  const outcome = await new Promise<{ status: number; bytes: number; aborted: boolean; completed: boolean }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/reset-mid-body', headers: { host: 'x.example.com' }, agent: false });
    const timer = setTimeout(() => reject(new Error('client timed out waiting for the abort')), 5_000);
    req.on('error', reject);
    req.on('response', (res) => {
      let bytes = 0;
      let aborted = false;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, bytes, aborted, completed: res.complete });
      });
    });
    req.end();
  });
  assert.equal(outcome.status, 200);
  assert.ok(outcome.bytes < 100_000, 'the client got the whole declared body');
  assert.equal(outcome.completed, false, 'the response ended cleanly although the upstream broke');
  assert.equal(outcome.aborted, true);
  await waitFor(() => gw.accessLog.some((l) => l.includes(' /reset-mid-body ')), 'the reset access log line');
  assert.match(lastLogFor('/reset-mid-body'), /" 200 UC /);
});

test('a client that goes away aborts the upstream request (DC)', async () => {
  const before = echo.received.length;
  const req = httpRequest({ host: '127.0.0.1', port, path: '/gated', headers: { host: 'x.example.com' }, agent: false });
  req.on('error', () => undefined);
  req.end();
  await waitFor(() => echo.gated.length > 0 && echo.received.length > before, 'the request to reach the upstream');
  const upstreamRes = echo.gated[0];
  assert.ok(upstreamRes);
  let upstreamClosed = false;
  upstreamRes.on('close', () => (upstreamClosed = true));
  req.destroy();
  await waitFor(() => upstreamClosed, 'the upstream request to be cancelled');
  echo.gated.splice(0);
  await waitFor(() => gw.accessLog.some((l) => l.includes(' /gated ')), 'the /gated access log line');
  assert.match(lastLogFor('/gated'), /" 0 DC /);
  await waitFor(() => gw.plane.inFlight === 0, 'in-flight to return to zero');
});

test('the gateway is still healthy after all of that', async () => {
  const r = await request({ port, path: '/fine' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'echo');
});
