// gRPC through the gateway: h2 from the client, h2c to an HTTP2 cluster, `te: trailers` kept, response
// trailers (grpc-status) relayed, and the request counted as request_protocol="grpc".
import assert from 'node:assert/strict';
import { createServer as createH2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { test } from 'node:test';
import { h2session } from './support/client.js';
import { createTestCa } from './support/pki.js';
import { startPlane } from './support/plane.js';
import { cluster, forward, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';

test('a unary gRPC call is proxied with its trailers and counted as grpc', async () => {
  const ca = createTestCa('grpc-ca');
  let seen: IncomingHttpHeaders = {};
  let bodyBytes = 0;
  const upstream = createH2Server();
  upstream.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    seen = headers;
    stream.on('data', (c: Buffer) => (bodyBytes += c.length));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const c = cluster('grpc.default.svc.cluster.local', [{ port: (upstream.address() as { port: number }).port }], { protocol: 'HTTP2' });
  const leaf = ca.issue('grpc.example.com', ['DNS:grpc.example.com']);
  const gw = await startPlane(
    snapshot({
      listeners: [httpsListener(443, [tlsChain('https.443', ['grpc.example.com'], 't', { secret: 'istio-system/g' })])],
      routeTables: [routeTable('t', [vhost(['grpc.example.com'], [route('grpc', forward([c.name]))])])],
      clusters: [c],
      secrets: [{ name: 'istio-system/g', ...leaf }],
    }),
  );
  const session = await h2session(gw.port(443), 'grpc.example.com', ca.certPem);
  try {
    const result = await new Promise<{ status: number; trailers: IncomingHttpHeaders; bytes: number }>((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/pkg.Service/Method',
        ':authority': 'grpc.example.com',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const timer = setTimeout(() => reject(new Error('gRPC call timed out')), 5_000);
      let status = 0;
      let bytes = 0;
      let trailers: IncomingHttpHeaders = {};
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (c: Buffer) => (bytes += c.length));
      stream.on('error', reject);
      stream.on('close', () => {
        clearTimeout(timer);
        resolve({ status, trailers, bytes });
      });
      stream.end(Buffer.from([0, 0, 0, 0, 3, 10, 1, 65]));
    });
    assert.equal(result.status, 200);
    assert.equal(result.bytes, 7);
    assert.equal(result.trailers['grpc-status'], '0');
    assert.equal(result.trailers['grpc-message'], 'ok');
    assert.equal(seen.te, 'trailers');
    assert.equal(bodyBytes, 8);
    const metrics = await gw.registry.metrics();
    assert.match(metrics, /istio_requests_total\{[^}]*request_protocol="grpc",response_code="200",grpc_response_status="0"[^}]*\} 1/);
  } finally {
    session.close();
    await gw.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
    ca.dispose();
  }
});
