// The HTTPS listener hands every TLS connection that did not choose h2 (ALPN http/1.1, or no ALPN at
// all) to Gatehouse's HTTP/1 server, and h2 ones to node's HTTP/2 server. Both kinds of HTTPS listener
// are covered: one whose single chain serves any name, one with a chain per name (ClientHello pre-read).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { h2request, h2session } from './support/client.js';
import { createTestCa, type TestCa } from './support/pki.js';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';
import { CL_BODY, startHttp1Upstream, type EchoBody, type Http1Upstream } from './support/http1-upstream.js';
import { WireConnection, type WireResponse } from './support/http1-wire.js';
import { waitFor } from './support/wait.js';

const NAME = 'a.example.com';
const HOST = `Host: ${NAME}\r\n`;

function echoOf(res: WireResponse): EchoBody {
  assert.equal(res.status, 200, `expected 200, got ${res.statusLine}: ${res.body.toString('latin1')}`);
  return JSON.parse(res.body.toString('latin1')) as EchoBody;
}

interface AccessLine {
  readonly path: string;
  readonly protocol: string;
  readonly response_code: number;
}

describe('HTTP/1.1 over TLS is served by the http1 server, h2 by HTTP/2', () => {
  let ca: TestCa;
  let upstream: Http1Upstream;
  let gw: TestPlane;

  before(async () => {
    ca = createTestCa('h1-tls-ca');
    const cert = ca.issue(NAME, [`DNS:${NAME}`, 'DNS:b.example.com']);
    upstream = await startHttp1Upstream();
    const c = cluster('web.default.svc.cluster.local', [{ port: upstream.port }]);
    const table = routeTable('https.routes', [vhost(['*'], [route('web', forward([c.name]))])]);
    const secret = { name: 'istio-system/cert', ...cert };
    gw = await startPlane(
      snapshot({
        listeners: [
          httpsListener(443, [tlsChain('https.443', ['*'], 'https.routes', { secret: secret.name })]),
          httpsListener(8443, [
            tlsChain('https.8443.a', [NAME], 'https.routes', { secret: secret.name }),
            tlsChain('https.8443.b', ['b.example.com'], 'https.routes', { secret: secret.name }),
          ]),
        ],
        routeTables: [table],
        clusters: [c],
        secrets: [secret],
      }),
      { dataPath: 'http1', format: 'json' },
    );
  });

  after(async () => {
    await gw?.close();
    await upstream?.close();
    ca?.dispose();
  });

  const logged = (path: string): AccessLine | undefined => gw.accessLog.map((l) => JSON.parse(l) as AccessLine).find((l) => l.path === path);

  for (const [listener, gatewayPort] of [
    ['single-chain listener', 443],
    ['per-name chains listener', 8443],
  ] as const) {
    for (const alpn of [['http/1.1'], undefined]) {
      const offer = alpn ? 'ALPN http/1.1' : 'no ALPN';
      it(`${listener}, ${offer}: a GET and a pipelined pair are answered in order`, async () => {
        const tag = `${gatewayPort}-${alpn ? 'alpn' : 'none'}`;
        const conn = await WireConnection.openTls(gw.port(gatewayPort), { servername: NAME, ca: ca.certPem, ...(alpn ? { alpn } : {}) });
        try {
          const negotiated = (conn.socket as import('node:tls').TLSSocket).alpnProtocol;
          assert.equal(negotiated, alpn ? 'http/1.1' : false);
          conn.send(`GET /cl HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
          const first = await conn.next();
          assert.equal(first.status, 200);
          assert.equal(first.body.toString('latin1'), CL_BODY);
          conn.send(`GET /echo?t=${tag}&n=1 HTTP/1.1\r\n${HOST}\r\nPOST /echo?t=${tag}&n=2 HTTP/1.1\r\n${HOST}Content-Length: 4\r\n\r\nbody`, ['GET', 'POST']);
          const a = echoOf(await conn.next());
          const b = echoOf(await conn.next());
          assert.deepEqual([a.url, b.url, b.body], [`/echo?t=${tag}&n=1`, `/echo?t=${tag}&n=2`, 'body']);
          // The request was forwarded as an HTTPS one.
          assert.equal(a.headers['x-forwarded-proto'], 'https');
          await waitFor(() => logged(`/echo?t=${tag}&n=2`) !== undefined, 'the access log line');
          assert.equal(logged(`/echo?t=${tag}&n=2`)?.protocol, 'HTTP/1.1');
        } finally {
          conn.close();
        }
      });
    }
  }

  it('holds a pipelined request behind a slow one over TLS too (the http1 server, not node\'s, serves it)', async () => {
    const conn = await WireConnection.openTls(gw.port(443), { servername: NAME, ca: ca.certPem, alpn: ['http/1.1'] });
    try {
      conn.send(`GET /gated?t=tls-slow HTTP/1.1\r\n${HOST}\r\nGET /echo?t=tls-behind HTTP/1.1\r\n${HOST}\r\n`, ['GET', 'GET']);
      await waitFor(() => upstream.arrivals.some((a) => a.url === '/gated?t=tls-slow'), 'the slow request to reach the upstream');
      // Another request answered since: the gateway has had every chance to send the second one on.
      const other = await WireConnection.openTls(gw.port(443), { servername: NAME, ca: ca.certPem, alpn: ['http/1.1'] });
      try {
        other.send(`GET /echo?t=tls-other HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
        echoOf(await other.next());
      } finally {
        other.close();
      }
      assert.equal(upstream.arrivals.filter((a) => a.url === '/echo?t=tls-behind').length, 0, 'the pipelined request was forwarded before the first was answered');
      upstream.release();
      assert.equal(echoOf(await conn.next()).url, '/gated?t=tls-slow');
      assert.equal(echoOf(await conn.next()).url, '/echo?t=tls-behind');
    } finally {
      upstream.release();
      conn.close();
    }
  });

  for (const gatewayPort of [443, 8443]) {
    it(`port ${gatewayPort}: ALPN h2 is served by HTTP/2`, async () => {
      const session = await h2session(gw.port(gatewayPort), NAME, ca.certPem);
      try {
        assert.equal(session.alpnProtocol, 'h2');
        const path = `/echo?t=h2-${gatewayPort}`;
        const reply = await h2request(session, NAME, path);
        assert.equal(reply.status, 200);
        assert.equal((JSON.parse(reply.body) as EchoBody).url, path);
        await waitFor(() => logged(path) !== undefined, 'the access log line');
        assert.equal(logged(path)?.protocol, 'HTTP/2');
      } finally {
        session.close();
      }
    });
  }
});
