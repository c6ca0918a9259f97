// TLS session resumption skips node's SNI callback (and a resumed TLS 1.2 session does not report its
// SNI), so the chain, its certificate policy and its route table could not be known. The gateway issues
// no tickets: a client offering a stored session gets a full handshake and is served normally.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { createTestCa, type Pem } from './support/pki.js';
import { startPlane } from './support/plane.js';
import { cluster, forward, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream } from './support/upstream.js';

interface Outcome {
  readonly reused: boolean;
  readonly statusLine: string;
  readonly session: Buffer | undefined;
}

/** One HTTP/1.1 request over a fresh TLS connection, optionally resuming `session`. */
function get(port: number, servername: string, ca: string, opts: Partial<ConnectionOptions> & { client?: Pem }): Promise<Outcome> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    let text = '';
    let reused = false;
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      servername,
      ca,
      ALPNProtocols: ['http/1.1'],
      ...(opts.client ? { cert: opts.client.certPem, key: opts.client.keyPem } : {}),
      ...opts,
    });
    const timer = setTimeout(() => s.destroy(), 5_000);
    s.on('session', (sess: Buffer) => (session = sess));
    s.on('secureConnect', () => {
      reused = s.isSessionReused();
      s.write(`GET /x HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ reused, statusLine: text.split('\r\n')[0] ?? '', session });
    });
  });
}

test('clients offering stored sessions get full handshakes and are served by their SNI chain', async () => {
  const ca = createTestCa('resume-ca');
  const clientCa = createTestCa('resume-client-ca');
  const up = await startEchoUpstream('up');
  const c = cluster('up.default.svc.cluster.local', [{ port: up.port }]);
  const a = ca.issue('a.example.com', ['DNS:a.example.com']);
  const b = ca.issue('b.example.com', ['DNS:b.example.com']);
  const client = clientCa.issue('client', ['URI:spiffe://x/client'], 'client');
  const tableA = routeTable('ta', [vhost(['a.example.com'], [route('a', forward([c.name]))])]);
  const tableB = routeTable('tb', [vhost(['b.example.com'], [route('b', forward([c.name]))])]);
  const gw = await startPlane(
    snapshot({
      listeners: [
        httpsListener(443, [
          tlsChain('a', ['a.example.com'], 'ta', { secret: 'ns/a' }),
          tlsChain('b', ['b.example.com'], 'tb', { secret: 'ns/b' }),
        ]),
        httpsListener(8443, [tlsChain('m', ['a.example.com'], 'ta', { secret: 'ns/a', mode: 'MUTUAL', clientCaSecret: 'ns/client-ca' })]),
      ],
      routeTables: [tableA, tableB],
      clusters: [c],
      secrets: [{ name: 'ns/a', ...a }, { name: 'ns/b', ...b }, { name: 'ns/client-ca', caPem: clientCa.certPem }],
    }),
  );
  try {
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await get(gw.port(443), 'b.example.com', ca.certPem, { maxVersion });
      assert.equal(first.statusLine, 'HTTP/1.1 200 OK', `${maxVersion} first`);
      const second = await get(gw.port(443), 'b.example.com', ca.certPem, { maxVersion, ...(first.session ? { session: first.session } : {}) });
      assert.equal(second.reused, false, `${maxVersion}: a session was resumed`);
      assert.equal(second.statusLine, 'HTTP/1.1 200 OK', `${maxVersion}: the second connection was not served`);
    }
    const m1 = await get(gw.port(8443), 'a.example.com', ca.certPem, { client });
    assert.equal(m1.statusLine, 'HTTP/1.1 200 OK');
    const m2 = await get(gw.port(8443), 'a.example.com', ca.certPem, { client, ...(m1.session ? { session: m1.session } : {}) });
    assert.equal(m2.reused, false, 'a mutual-TLS listener resumed a session');
    assert.equal(m2.statusLine, 'HTTP/1.1 200 OK');
    const anonymous = await get(gw.port(8443), 'a.example.com', ca.certPem, m1.session ? { session: m1.session } : {});
    assert.notEqual(anonymous.statusLine, 'HTTP/1.1 200 OK', 'a client without a certificate got in with a stored session');
  } finally {
    await gw.close();
    await up.close();
    ca.dispose();
    clientCa.dispose();
  }
});
