// TLS posture at the edge: TLS 1.2 minimum, forward-secret AEAD suites only unless a Gateway names
// others, no renegotiation, ALPN for h2 and http/1.1.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { createDataPlane, type DataPlaneInternals } from '../../gateway/index.js';
import { createTestCa, type TestCa } from './support/pki.js';
import { cluster, forward, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream, type EchoUpstream } from './support/upstream.js';

let ca: TestCa;
let up: EchoUpstream;
let plane: DataPlaneInternals;
let port: number;
let multiPort: number;

before(async () => {
  ca = createTestCa('tls-edge-ca');
  up = await startEchoUpstream('up');
  const c = cluster('up.default.svc.cluster.local', [{ port: up.port }]);
  const leaf = ca.issue('tls.example.com', ['DNS:tls.example.com']);
  const a = ca.issue('a.example.com', ['DNS:a.example.com']);
  const b = ca.issue('b.example.com', ['DNS:b.example.com']);
  plane = createDataPlane({
    bindAddress: '127.0.0.1',
    portMap: new Map([[443, 0], [8443, 0]]),
    registry: new Registry(),
    accessLogFormat: 'off',
    log: () => undefined,
    retireGraceMs: 500,
  });
  await plane.apply(
    snapshot({
      listeners: [
        httpsListener(443, [tlsChain('t', ['tls.example.com'], 't', { secret: 'ns/t' })]),
        httpsListener(8443, [tlsChain('a', ['a.example.com'], 'ab', { secret: 'ns/a' }), tlsChain('b', ['b.example.com'], 'ab', { secret: 'ns/b' })]),
      ],
      routeTables: [
        routeTable('t', [vhost(['tls.example.com'], [route('r', forward([c.name]))])]),
        routeTable('ab', [vhost(['a.example.com', 'b.example.com'], [route('r', forward([c.name]))])]),
      ],
      clusters: [c],
      secrets: [{ name: 'ns/t', ...leaf }, { name: 'ns/a', ...a }, { name: 'ns/b', ...b }],
    }),
  );
  port = plane.boundPort(443) as number;
  multiPort = plane.boundPort(8443) as number;
});

after(async () => {
  await plane?.drain(200);
  await up?.close();
  ca?.dispose();
});

/** Handshakes with `opts`; resolves with the connected socket (caller destroys it) or the error. */
function handshake(opts: Partial<ConnectionOptions>): Promise<TLSSocket | Error> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'tls.example.com', ca: ca.certPem, ...opts });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(new Error('handshake timed out'));
    }, 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

// The client is made willing to speak what the gateway must refuse (OpenSSL's level 0 allows it).
const LEGACY = 'DEFAULT:@SECLEVEL=0';

test('TLS 1.0 and 1.1 are refused', async () => {
  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    const r = await handshake({ minVersion: version, maxVersion: version, ciphers: LEGACY });
    assert.ok(r instanceof Error, `${version} was accepted`);
  }
});

test('TLS 1.2 CBC and non-forward-secret suites are refused; ECDHE AEAD is accepted', async () => {
  for (const cipher of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-SHA256']) {
    const r = await handshake({ maxVersion: 'TLSv1.2', ciphers: `${cipher}:@SECLEVEL=0` });
    if (!(r instanceof Error)) r.destroy();
    assert.ok(r instanceof Error, `${cipher} was accepted`);
  }
  for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    const r = await handshake({ maxVersion: 'TLSv1.2', ciphers: cipher });
    assert.ok(!(r instanceof Error), `${cipher}: ${String(r)}`);
    assert.equal(r.getCipher().standardName.includes('ECDHE'), true);
    r.destroy();
  }
});

test('TLS 1.3 is accepted and ALPN offers h2 and http/1.1', async () => {
  for (const alpn of ['h2', 'http/1.1']) {
    const r = await handshake({ minVersion: 'TLSv1.3', ALPNProtocols: [alpn] });
    assert.ok(!(r instanceof Error), String(r));
    assert.equal(r.getProtocol(), 'TLSv1.3');
    assert.equal(r.alpnProtocol, alpn);
    r.destroy();
  }
});

test('client-initiated renegotiation is refused', async () => {
  const r = await handshake({ maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] });
  assert.ok(!(r instanceof Error), String(r));
  const outcome = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), 5000);
    r.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    r.on('error', () => undefined);
    const started = r.renegotiate({ rejectUnauthorized: false }, (err) => {
      clearTimeout(timer);
      resolve(err ? 'refused' : 'renegotiated');
    });
    if (!started) resolve('refused');
  });
  r.destroy();
  assert.notEqual(outcome, 'renegotiated');
});

/** One request on a fresh connection, optionally resuming `session`. */
function fetchOnce(opts: Partial<ConnectionOptions>): Promise<{ reused: boolean; statusLine: string; session: Buffer | undefined }> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    let text = '';
    let reused = false;
    const servername = opts.servername ?? 'tls.example.com';
    const s = tlsConnect({ host: '127.0.0.1', port, servername, ca: ca.certPem, ALPNProtocols: ['http/1.1'], ...opts });
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on('session', (sess: Buffer) => (session = sess));
    s.on('secureConnect', () => {
      reused = s.isSessionReused();
      s.write(`GET /r HTTP/1.1\r\nHost: tls.example.com\r\nConnection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ reused, statusLine: text.split('\r\n')[0] ?? '', session });
    });
  });
}

test('sessions resume on a listener whose only chain is SIMPLE TLS, for TLS 1.2 and 1.3', async () => {
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const first = await fetchOnce({ maxVersion });
    assert.equal(first.statusLine, 'HTTP/1.1 200 OK');
    assert.ok(first.session, `${maxVersion}: no session to resume`);
    const second = await fetchOnce({ maxVersion, session: first.session });
    assert.equal(second.reused, true, `${maxVersion}: the session was not resumed`);
    assert.equal(second.statusLine, 'HTTP/1.1 200 OK', `${maxVersion}: a resumed connection was not served`);
    // TLS 1.2 resumption reports the session's own SNI, so another name still lands on the listener's
    // only chain (same certificate and routes: nothing crosses a boundary); TLS 1.3 reports the new one.
    if (maxVersion === 'TLSv1.2') continue;
    const elsewhere = await fetchOnce({ maxVersion, session: first.session, servername: 'other.example.com', checkServerIdentity: () => undefined });
    assert.notEqual(elsewhere.statusLine, 'HTTP/1.1 200 OK', `${maxVersion}: a session resumed under an SNI the chain does not serve`);
  }
});

test('a request for a host whose certificate differs from the SNI-selected one gets 421', async () => {
  const ask = (host: string) =>
    new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: multiPort, servername: 'a.example.com', ca: ca.certPem, ALPNProtocols: ['http/1.1'] });
      let text = '';
      const timer = setTimeout(() => s.destroy(), 5000);
      s.on('secureConnect', () => s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('error', () => undefined);
      s.on('close', () => {
        clearTimeout(timer);
        resolve(text.split('\r\n')[0] ?? '');
      });
    });
  assert.equal(await ask('a.example.com'), 'HTTP/1.1 200 OK');
  assert.equal(await ask('b.example.com'), 'HTTP/1.1 421 Misdirected Request');
});
