// TLS session resumption on listeners with several chains: each chain's context has its own ticket keys,
// so a session resumes on the chain that made it and nowhere else, whatever certificate they share.
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

test('a stored session resumes on the chain that issued it only, never on another chain or a MUTUAL one', async () => {
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
      assert.ok(first.session, `${maxVersion}: no session issued`);
      const second = await get(gw.port(443), 'b.example.com', ca.certPem, { maxVersion, session: first.session });
      assert.equal(second.reused, true, `${maxVersion}: the session was not resumed on its own chain`);
      assert.equal(second.statusLine, 'HTTP/1.1 200 OK', `${maxVersion}: the resumed connection was not served`);
      const other = await get(gw.port(443), 'a.example.com', ca.certPem, { maxVersion, session: first.session });
      assert.equal(other.reused, false, `${maxVersion}: chain b's session resumed on chain a`);
      assert.equal(other.statusLine, 'HTTP/1.1 200 OK', `${maxVersion}: chain a did not serve after a full handshake`);
    }
    // Same certificate on both ports: a SIMPLE chain's session must not stand in for a client certificate.
    const simple = await get(gw.port(443), 'a.example.com', ca.certPem, {});
    assert.ok(simple.session);
    const anonymous = await get(gw.port(8443), 'a.example.com', ca.certPem, { session: simple.session });
    assert.equal(anonymous.reused, false, 'a SIMPLE chain\'s session resumed on a MUTUAL chain');
    assert.notEqual(anonymous.statusLine, 'HTTP/1.1 200 OK', 'a client without a certificate got in with a stored session');
    const m1 = await get(gw.port(8443), 'a.example.com', ca.certPem, { client });
    assert.equal(m1.statusLine, 'HTTP/1.1 200 OK');
    const m2 = await get(gw.port(8443), 'a.example.com', ca.certPem, { client, ...(m1.session ? { session: m1.session } : {}) });
    assert.equal(m2.reused, true, 'a mutual-TLS chain did not resume its own session');
    assert.equal(m2.statusLine, 'HTTP/1.1 200 OK');
  } finally {
    await gw.close();
    await up.close();
    ca.dispose();
    clientCa.dispose();
  }
});
