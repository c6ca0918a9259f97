// Istio's standard metrics and access-log formats, read back from real requests.
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { request } from './support/client.js';
import { startPlane } from './support/plane.js';
import { cluster, forward, httpListener, prefix, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream } from './support/upstream.js';
import { waitFor } from './support/wait.js';

function build(port: number) {
  const c = cluster('reviews.bookinfo.svc.cluster.local', [{ port }], { port: 9080 });
  const table = routeTable('http.80', [
    vhost(['reviews.example.com'], [route('bookinfo.reviews.0', forward([c.name]), { match: [prefix('/reviews')] })]),
  ]);
  return { c, snap: snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [table], clusters: [c] }) };
}

test('istio_requests_total and the duration/size histograms carry Istio labels', async () => {
  const up = await startEchoUpstream('reviews');
  const { c, snap } = build(up.port);
  const gw = await startPlane(snap);
  try {
    const port = gw.port(80);
    for (let i = 0; i < 3; i++) assert.equal((await request({ port, host: 'reviews.example.com', path: '/reviews/1' })).status, 200);
    assert.equal((await request({ port, host: 'reviews.example.com', path: '/nope' })).status, 404);
    await waitFor(() => gw.accessLog.length === 4, 'four access log lines');
    const text = await gw.registry.metrics();
    const ok = text.split('\n').find((l) => l.startsWith('istio_requests_total{') && l.includes('response_code="200"'));
    assert.ok(ok, `no 200 series in:\n${text.slice(0, 2000)}`);
    for (const label of [
      'reporter="source"',
      'source_workload="istio-ingressgateway"',
      'source_workload_namespace="istio-system"',
      `destination_service="${c.serviceHost}"`,
      'destination_service_name="reviews"',
      'destination_service_namespace="bookinfo"',
      'destination_app="reviews"',
      'destination_version="v1"',
      'request_protocol="http"',
      'response_flags="-"',
      'connection_security_policy="unknown"',
      'grpc_response_status=""',
    ]) assert.ok(ok.includes(label), `missing ${label} in ${ok}`);
    assert.match(ok, /\} 3$/);
    const nr = text.split('\n').find((l) => l.startsWith('istio_requests_total{') && l.includes('response_code="404"'));
    assert.ok(nr?.includes('response_flags="NR"') && nr.includes('destination_service="unknown"'), `404 series: ${nr}`);
    assert.match(text, /istio_request_duration_milliseconds_bucket\{le="0.5",/);
    assert.match(text, /istio_request_duration_milliseconds_bucket\{le="3600000",/);
    assert.match(text, /istio_request_bytes_bucket\{le="1000000000",/);
    assert.match(text, /istio_response_bytes_count\{[^}]*response_code="200"[^}]*\} 3/);
  } finally {
    await gw.close();
    await up.close();
  }
});

test('TEXT access log follows Istio default format', async () => {
  const up = await startEchoUpstream('reviews');
  const { c, snap } = build(up.port);
  const gw = await startPlane(snap);
  try {
    const port = gw.port(80);
    await request({
      port,
      host: 'reviews.example.com',
      method: 'POST',
      path: '/reviews/2?x=1',
      body: 'hello',
      headers: { 'user-agent': 'gh-test/1', 'x-request-id': 'rid-123', 'x-forwarded-for': '198.51.100.7' },
    });
    await waitFor(() => gw.accessLog.length === 1, 'an access log line');
    const line = gw.accessLog[0] ?? '';
    assert.ok(line.endsWith('\n'));
    const re =
      /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\] "POST \/reviews\/2\?x=1 HTTP\/1\.1" 200 - via_upstream - "-" 5 (\d+) (\d+) (\d+) "198\.51\.100\.7,127\.0\.0\.1" "gh-test\/1" "rid-123" "reviews\.example\.com" "127\.0\.0\.1:(\d+)" (\S+) - 127\.0\.0\.1:(\d+) 127\.0\.0\.1:(\d+) - bookinfo\.reviews\.0\n$/;
    const m = re.exec(line.replace(', 127.0.0.1', ',127.0.0.1'));
    assert.ok(m, `line does not match Istio's format: ${line}`);
    assert.equal(m[5], String(up.port));
    assert.equal(m[6], c.name);
    assert.ok(Number(m[2]) > 0, 'BYTES_SENT');
  } finally {
    await gw.close();
    await up.close();
  }
});

test('JSON access log uses Istio keys', async () => {
  const up = await startEchoUpstream('reviews');
  const { c, snap } = build(up.port);
  const gw = await startPlane(snap, { format: 'json' });
  try {
    await request({ port: gw.port(80), host: 'reviews.example.com', path: '/reviews/3' });
    await request({ port: gw.port(80), host: 'reviews.example.com', path: '/missing' });
    await waitFor(() => gw.accessLog.length === 2, 'two access log lines');
    const ok = JSON.parse(gw.accessLog[0] ?? '{}') as Record<string, unknown>;
    assert.equal(ok.method, 'GET');
    assert.equal(ok.path, '/reviews/3');
    assert.equal(ok.protocol, 'HTTP/1.1');
    assert.equal(ok.response_code, 200);
    assert.equal(ok.response_flags, '-');
    assert.equal(ok.upstream_cluster, c.name);
    assert.equal(ok.upstream_host, `127.0.0.1:${up.port}`);
    assert.equal(ok.route_name, 'bookinfo.reviews.0');
    assert.equal(ok.authority, 'reviews.example.com');
    assert.equal(typeof ok.request_id, 'string');
    assert.equal(typeof ok.start_time, 'string');
    assert.equal(typeof ok.duration, 'number');
    const nr = JSON.parse(gw.accessLog[1] ?? '{}') as Record<string, unknown>;
    assert.equal(nr.response_code, 404);
    assert.equal(nr.response_flags, 'NR');
    assert.equal(nr.upstream_cluster, null);
  } finally {
    await gw.close();
    await up.close();
  }
});

test('on one keep-alive connection each TEXT line and each routing decision is the request\'s own (Host, route, cluster, endpoint)', async () => {
  const reviews = await startEchoUpstream('reviews');
  const ratings = await startEchoUpstream('ratings');
  const r = cluster('reviews.bookinfo.svc.cluster.local', [{ port: reviews.port }], { port: 9080 });
  const t = cluster('ratings.bookinfo.svc.cluster.local', [{ port: ratings.port }], { port: 9080 });
  const table = routeTable('http.80', [
    vhost(['reviews.example.com'], [
      route('bookinfo.reviews.0', forward([r.name]), { match: [prefix('/reviews')] }),
      route('bookinfo.ratings.0', forward([t.name]), { match: [prefix('/ratings')] }),
    ]),
    vhost(['ratings.example.com'], [route('bookinfo.ratings.1', forward([t.name]), { match: [prefix('/')] })]),
  ]);
  const gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [table], clusters: [r, t] }));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  const get = (host: string, path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: gw.port(80), path, headers: { host }, agent }, (res) => {
        sockets.add(res.socket);
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  try {
    const asked: [string, string, number, string, string][] = [
      ['reviews.example.com', '/reviews/1', 200, `127.0.0.1:${reviews.port}`, 'bookinfo.reviews.0'],
      ['reviews.example.com', '/ratings/1', 200, `127.0.0.1:${ratings.port}`, 'bookinfo.ratings.0'],
      // Same cluster and endpoint as the request before, another route.
      ['ratings.example.com', '/x', 200, `127.0.0.1:${ratings.port}`, 'bookinfo.ratings.1'],
      ['REVIEWS.example.com:80', '/nope', 404, '-', '-'],
      ['unknown.example.com', '/reviews/1', 404, '-', '-'],
      ['reviews.example.com', '/reviews/2', 200, `127.0.0.1:${reviews.port}`, 'bookinfo.reviews.0'],
    ];
    for (const [host, path, status] of asked) assert.equal(await get(host, path), status, `${host}${path}`);
    assert.equal(sockets.size, 1, 'every request went over the one connection');
    await waitFor(() => gw.accessLog.length === asked.length, 'an access log line per request');
    asked.forEach(([host, path, status, endpoint, routeName], i) => {
      const line = gw.accessLog[i] ?? '';
      assert.ok(line.includes(`"GET ${path} HTTP/1.1" ${status} `), line);
      assert.ok(line.includes(`"${host}" "${endpoint}" `), `request ${i}: ${line}`);
      assert.ok(line.endsWith(` ${routeName}\n`), `request ${i}: ${line}`);
      const clusterName = endpoint === '-' ? '-' : endpoint.endsWith(`:${reviews.port}`) ? r.name : t.name;
      assert.ok(line.includes(`" ${clusterName} - 127.0.0.1:`), `request ${i}: ${line}`);
    });
  } finally {
    agent.destroy();
    await gw.close();
    await reviews.close();
    await ratings.close();
  }
});
