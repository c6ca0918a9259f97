// Plain HTTP listener behaviour, over real sockets, for both mounts of the proxy core (fastify and
// raw node:http): routing by host and path, local replies (404 NR, 301 requireTls, redirect, direct
// response), edge headers, header operations, rewrite, and hop-by-hop stripping both ways.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import type { DataPath } from '../../gateway/listeners/mount.js';
import { request } from './support/client.js';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpListener, ops, prefix, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream, type EchoReport, type EchoUpstream } from './support/upstream.js';

for (const dataPath of ['http1', 'node', 'fastify'] as DataPath[]) {
  describe(`HTTP routing (${dataPath} mount)`, () => {
    let a: EchoUpstream;
    let b: EchoUpstream;
    let gw: TestPlane;
    let port: number;

    before(async () => {
      a = await startEchoUpstream('a');
      b = await startEchoUpstream('b');
      const ca = cluster('a.default.svc.cluster.local', [{ port: a.port }]);
      const cb = cluster('b.default.svc.cluster.local', [{ port: b.port }]);
      const table = routeTable('http.80', [
        vhost(['a.example.com'], [
          route('a-api', forward([{ cluster: ca.name, weight: 100, requestHeaders: ops({ set: { 'x-dest': 'a' } }), responseHeaders: ops({ add: { 'x-dest-resp': 'a' } }) }], { uri: '/v2/' }), {
            match: [prefix('/api/')],
            requestHeaders: ops({ set: { 'x-route': 'api' }, add: { 'x-added': 'one' }, remove: ['x-drop-me'] }),
            responseHeaders: ops({ set: { 'x-resp-route': 'api' }, remove: ['x-upstream-secret'] }),
          }),
          route('a-old', { type: 'redirect', uri: '/new', code: 302 }, { match: [prefix('/old')] }),
          route('a-teapot', { type: 'direct', status: 418, body: 'short and stout' }, { match: [prefix('/teapot')] }),
          route('a-host', forward([ca.name], { authority: 'internal.a' }), { match: [prefix('/rehost')] }),
          route('a-default', forward([ca.name])),
        ]),
        vhost(['*.b.example.com'], [route('b-all', forward([cb.name]))]),
        vhost(['secure.example.com'], [route('secure', forward([ca.name]))], true),
      ]);
      gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [table], clusters: [ca, cb] }), { dataPath });
      port = gw.port(80);
    });

    after(async () => {
      await gw.close();
      await a.close();
      await b.close();
    });

    const lastAt = (u: EchoUpstream): EchoReport => {
      const r = u.received.at(-1);
      assert.ok(r, `no request reached upstream ${u.name}`);
      return r;
    };

    test('routes by host to the right upstream, exact and wildcard', async () => {
      const ra = await request({ port, host: 'a.example.com', path: '/hello?x=1' });
      assert.equal(ra.status, 200);
      assert.equal(ra.headers['x-upstream'], 'a');
      assert.equal(lastAt(a).url, '/hello?x=1');
      const rb = await request({ port, host: 'Shop.B.Example.COM.:80', path: '/' });
      assert.equal(rb.status, 200);
      assert.equal(rb.headers['x-upstream'], 'b');
      assert.equal(lastAt(b).headers.host, 'Shop.B.Example.COM.:80', 'Host is forwarded as the client sent it');
    });

    test('unknown host is 404 with no upstream contacted', async () => {
      const before = a.received.length + b.received.length;
      const r = await request({ port, host: 'nobody.example.org' });
      assert.equal(r.status, 404);
      assert.equal(a.received.length + b.received.length, before);
      assert.match(gw.accessLog.at(-1) ?? '', / 404 NR route_not_found /);
    });

    test('malformed Host is 400 and never forwarded', async () => {
      const before = a.received.length;
      const r = await request({ port, host: 'a.example.com/evil' });
      assert.equal(r.status, 400);
      assert.equal(a.received.length, before);
    });

    test('httpsRedirect answers 301 to https with path and query, port kept unless :80', async () => {
      const r = await request({ port, host: 'secure.example.com', path: '/p/q?x=1&y=2' });
      assert.equal(r.status, 301);
      assert.equal(r.headers.location, 'https://secure.example.com/p/q?x=1&y=2');
      const r2 = await request({ port, host: 'secure.example.com:8080', path: '/p' });
      assert.equal(r2.headers.location, 'https://secure.example.com:8080/p');
      const r3 = await request({ port, host: 'secure.example.com:80', path: '/p' });
      assert.equal(r3.headers.location, 'https://secure.example.com/p');
    });

    test('redirect and direct response actions', async () => {
      const r = await request({ port, host: 'a.example.com', path: '/old/thing?q=1' });
      assert.equal(r.status, 302);
      assert.equal(r.headers.location, 'http://a.example.com/new?q=1');
      const d = await request({ port, host: 'a.example.com', path: '/teapot' });
      assert.equal(d.status, 418);
      assert.equal(d.body, 'short and stout');
    });

    test('edge headers, header ops, prefix rewrite and response header ops', async () => {
      const r = await request({
        port,
        host: 'a.example.com',
        path: '/api/users?id=7',
        headers: {
          'x-forwarded-for': '203.0.113.9',
          'x-request-id': 'client-id-1',
          'x-drop-me': 'bye',
          'x-added': 'zero',
          'x-forwarded-client-cert': 'By=forged',
          'x-envoy-retry-on': '5xx',
        },
      });
      assert.equal(r.status, 200);
      const seen = lastAt(a);
      assert.equal(seen.url, '/v2/users?id=7');
      assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(seen.headers['x-request-id'], 'client-id-1');
      assert.equal(seen.headers['x-route'], 'api');
      assert.equal(seen.headers['x-dest'], 'a');
      assert.equal(seen.headers['x-added'], 'zero, one');
      assert.equal(seen.headers['x-drop-me'], undefined);
      assert.equal(seen.headers['x-forwarded-client-cert'], undefined, 'a client-supplied XFCC passed the edge');
      assert.equal(seen.headers['x-envoy-retry-on'], undefined, 'an x-envoy-* header passed the edge');
      assert.equal(seen.headers['x-envoy-external-address'], '127.0.0.1');
      assert.equal(r.headers['x-resp-route'], 'api');
      assert.equal(r.headers['x-dest-resp'], 'a');

      await request({ port, host: 'a.example.com', path: '/plain' });
      const generated = lastAt(a).headers['x-request-id'];
      assert.match(String(generated), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    test('authority rewrite sets the upstream Host', async () => {
      await request({ port, host: 'a.example.com', path: '/rehost' });
      assert.equal(lastAt(a).headers.host, 'internal.a');
    });

    test('hop-by-hop headers are stripped both ways; a chunked POST streams through', async () => {
      const parts = Array.from({ length: 20 }, (_, i) => Buffer.alloc(4096, 48 + (i % 10)));
      const body = Readable.from(parts);
      const r = await request({
        port,
        method: 'POST',
        host: 'a.example.com',
        path: '/upload',
        body,
        headers: { connection: 'keep-alive, x-hop-request', 'x-hop-request': 'secret', 'keep-alive': 'timeout=5', te: 'gzip', 'proxy-connection': 'keep-alive', 'transfer-encoding': 'chunked' },
      });
      assert.equal(r.status, 200);
      const seen = lastAt(a);
      assert.equal(seen.method, 'POST');
      assert.equal(seen.bodyBytes, 20 * 4096);
      for (const h of ['x-hop-request', 'keep-alive', 'te', 'proxy-connection']) assert.equal(seen.headers[h], undefined, `${h} reached the upstream`);
      assert.ok(!seen.rawHeaderNames.includes('x-hop-request'));
      // Response: the upstream's hop-by-hop headers do not reach the client.
      assert.equal(r.headers['x-hop-response'], undefined);
      // Node may announce its own keep-alive for this hop; the upstream's value must not pass through.
      assert.notEqual(r.headers['keep-alive'], 'timeout=30');
      assert.equal(r.headers['x-upstream'], 'a');
    });

    test('a streamed (chunked) upstream response arrives whole', async () => {
      const r = await request({ port, host: 'a.example.com', path: '/stream' });
      assert.equal(r.status, 200);
      assert.equal(r.body.split('\n').filter(Boolean).length, 10);
    });
  });
}
