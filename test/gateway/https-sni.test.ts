// HTTPS termination with real certificates: the chain (and so the certificate and route table) is
// chosen by SNI, ALPN offers h2 and http/1.1, client certificates are enforced per chain, and a chain
// whose secret is missing refuses the handshake.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { h2request, h2session, request } from './support/client.js';
import { createTestCa, type Pem, type TestCa } from './support/pki.js';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream, type EchoUpstream } from './support/upstream.js';

let serverCa: TestCa;
let clientCa: TestCa;
let otherCa: TestCa;
let goodClient: Pem;
let wrongSanClient: Pem;
let strangerClient: Pem;
let a: EchoUpstream;
let b: EchoUpstream;
let gw: TestPlane;
let port: number;

before(async () => {
  serverCa = createTestCa('server-ca');
  clientCa = createTestCa('client-ca');
  otherCa = createTestCa('other-ca');
  const certA = serverCa.issue('a.example.com', ['DNS:a.example.com']);
  const certB = serverCa.issue('b.example.com', ['DNS:*.b.example.com']);
  const certM = serverCa.issue('mtls.example.com', ['DNS:mtls.example.com', 'DNS:optional.example.com']);
  goodClient = clientCa.issue('client', ['URI:spiffe://cluster.local/ns/default/sa/client'], 'client');
  wrongSanClient = clientCa.issue('other', ['URI:spiffe://cluster.local/ns/default/sa/other'], 'client');
  strangerClient = otherCa.issue('stranger', ['URI:spiffe://cluster.local/ns/default/sa/client'], 'client');
  a = await startEchoUpstream('a');
  b = await startEchoUpstream('b');
  const ca = cluster('a.default.svc.cluster.local', [{ port: a.port }]);
  const cb = cluster('b.default.svc.cluster.local', [{ port: b.port }]);
  const tableA = routeTable('https.443.a', [vhost(['a.example.com'], [route('a', forward([ca.name]))])]);
  const tableB = routeTable('https.443.b', [vhost(['*.b.example.com'], [route('b', forward([cb.name]))])]);
  const tableM = routeTable('https.443.m', [vhost(['mtls.example.com', 'optional.example.com'], [route('m', forward([ca.name]))])]);
  const secrets = [
    { name: 'istio-system/a-cert', ...certA },
    { name: 'istio-system/b-cert', ...certB },
    { name: 'istio-system/m-cert', ...certM },
    { name: 'istio-system/client-ca', caPem: clientCa.certPem },
  ];
  const chains = [
    tlsChain('https.443.a', ['a.example.com'], 'https.443.a', { secret: 'istio-system/a-cert' }),
    tlsChain('https.443.b', ['*.b.example.com'], 'https.443.b', { secret: 'istio-system/b-cert' }),
    tlsChain('https.443.m', ['mtls.example.com'], 'https.443.m', {
      mode: 'MUTUAL',
      secret: 'istio-system/m-cert',
      clientCaSecret: 'istio-system/client-ca',
      subjectAltNames: ['spiffe://cluster.local/ns/default/sa/client'],
    }),
    tlsChain('https.443.o', ['optional.example.com'], 'https.443.m', {
      mode: 'OPTIONAL_MUTUAL',
      secret: 'istio-system/m-cert',
      clientCaSecret: 'istio-system/client-ca',
    }),
    tlsChain('https.443.v13', ['tls13.example.com'], 'https.443.a', { secret: 'istio-system/a-cert', minVersion: 'TLSv1.3' }),
    // The Secret is missing: Istio refuses these handshakes.
    tlsChain('https.443.nosecret', ['nosecret.example.com'], 'https.443.a', {}),
  ];
  gw = await startPlane(
    snapshot({ listeners: [httpsListener(443, chains)], routeTables: [tableA, tableB, tableM], clusters: [ca, cb], secrets }),
  );
  port = gw.port(443);
});

after(async () => {
  await gw.close();
  await a.close();
  await b.close();
  serverCa.dispose();
  clientCa.dispose();
  otherCa.dispose();
});

/** Completes a TLS handshake and reports the served certificate and ALPN, or the failure. */
function handshake(servername: string | undefined, opts: { alpn?: string[]; client?: Pem } = {}): Promise<{ ok: true; cert: X509Certificate; alpn: string | false; socket: TLSSocket } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ...(servername ? { servername } : {}),
      ca: serverCa.certPem,
      ALPNProtocols: opts.alpn ?? ['h2', 'http/1.1'],
      ...(opts.client ? { cert: opts.client.certPem, key: opts.client.keyPem } : {}),
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, error: 'timeout' });
    }, 5_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const raw = socket.getPeerX509Certificate();
      if (!raw) return resolve({ ok: false, error: 'no certificate' });
      resolve({ ok: true, cert: raw, alpn: socket.alpnProtocol ?? false, socket });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, error: err.message });
    });
  });
}

test('SNI selects the certificate, and it verifies against its CA', async () => {
  const ha = await handshake('a.example.com');
  assert.ok(ha.ok, `handshake for a failed: ${!ha.ok ? ha.error : ''}`);
  assert.equal(ha.cert.checkHost('a.example.com'), 'a.example.com');
  assert.ok(ha.cert.verify(new X509Certificate(serverCa.certPem).publicKey));
  ha.socket.destroy();
  const hb = await handshake('shop.b.example.com');
  assert.ok(hb.ok);
  assert.equal(hb.cert.checkHost('shop.b.example.com'), '*.b.example.com');
  assert.equal(hb.cert.checkHost('a.example.com'), undefined);
  hb.socket.destroy();
});

test('HTTPS requests route by the chain chosen for the SNI', async () => {
  const ra = await request({ port, host: 'a.example.com', tls: { servername: 'a.example.com', ca: serverCa.certPem } });
  assert.equal(ra.status, 200);
  assert.equal(ra.headers['x-upstream'], 'a');
  assert.equal(a.received.at(-1)?.headers['x-forwarded-proto'], 'https');
  const rb = await request({ port, host: 'x.b.example.com', tls: { servername: 'x.b.example.com', ca: serverCa.certPem } });
  assert.equal(rb.headers['x-upstream'], 'b');
  // a.example.com is another chain's, with another certificate: the SNI chain never serves it (421,
  // Misdirected Request, so a client that coalesced connections retries on a fresh one).
  const crossed = await request({ port, host: 'a.example.com', tls: { servername: 'x.b.example.com', ca: serverCa.certPem } });
  assert.equal(crossed.status, 421);
});

test('ALPN negotiates h2, and an h2 request is proxied', async () => {
  const h = await handshake('a.example.com');
  assert.ok(h.ok);
  assert.equal(h.alpn, 'h2');
  h.socket.destroy();
  const h1 = await handshake('a.example.com', { alpn: ['http/1.1'] });
  assert.ok(h1.ok);
  assert.equal(h1.alpn, 'http/1.1');
  h1.socket.destroy();
  const session = await h2session(port, 'a.example.com', serverCa.certPem);
  try {
    const r = await h2request(session, 'a.example.com', '/h2?x=1');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-upstream'], 'a');
    const seen = a.received.at(-1);
    assert.equal(seen?.url, '/h2?x=1');
    assert.equal(seen?.headers.host, 'a.example.com');
    assert.ok(!Object.keys(seen?.headers ?? {}).some((h) => h.startsWith(':')), 'pseudo-headers reached the upstream');
    assert.match(gw.accessLog.at(-1) ?? '', /"GET \/h2\?x=1 HTTP\/2" 200 /);
  } finally {
    session.close();
  }
});

test('unknown SNI and a chain without its secret refuse the handshake', async () => {
  const unknown = await handshake('nobody.example.org');
  assert.equal(unknown.ok, false);
  const noSecret = await handshake('nosecret.example.com');
  assert.equal(noSecret.ok, false);
  const noSni = await handshake(undefined);
  assert.equal(noSni.ok, false, 'no catch-all chain: a client without SNI is refused');
});

/** A request over mTLS; resolves to the status, or to 'refused' when the connection is refused. */
async function mtlsRequest(servername: string, client?: Pem): Promise<number | 'refused'> {
  try {
    const r = await request({
      port,
      host: servername,
      tls: { servername, ca: serverCa.certPem, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) },
    });
    return r.status;
  } catch {
    return 'refused';
  }
}

test('MUTUAL: only a client certificate from the chain CA with an accepted SAN gets through', async () => {
  assert.equal(await mtlsRequest('mtls.example.com', goodClient), 200);
  const xfcc = String(a.received.at(-1)?.headers['x-forwarded-client-cert']);
  assert.match(xfcc, /^Hash=[0-9a-f]{64};Subject="CN=client";URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/client$/);
  assert.equal(await mtlsRequest('mtls.example.com'), 'refused', 'no client certificate');
  assert.equal(await mtlsRequest('mtls.example.com', strangerClient), 'refused', 'certificate from another CA');
  assert.equal(await mtlsRequest('mtls.example.com', wrongSanClient), 'refused', 'SAN not listed');
});

test('OPTIONAL_MUTUAL: no certificate is fine, a bad one is refused', async () => {
  assert.equal(await mtlsRequest('optional.example.com'), 200);
  assert.equal(a.received.at(-1)?.headers['x-forwarded-client-cert'], undefined);
  assert.equal(await mtlsRequest('optional.example.com', goodClient), 200);
  assert.equal(await mtlsRequest('optional.example.com', strangerClient), 'refused');
});

test('SIMPLE chains do not ask for a client certificate; MUTUAL chains do', async () => {
  const simple = await sClient('a.example.com');
  assert.match(simple, /No client certificate CA names sent/);
  const mutual = await sClient('mtls.example.com');
  assert.match(mutual, /Acceptable client certificate CA names[\s\S]*CN ?= ?client-ca/);
});

/** The openssl CLI's view of the handshake (it prints whether a CertificateRequest came). */
function sClient(servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-tls1_2'],
      { timeout: 10_000 },
      (_err, stdout, stderr) => (stdout || stderr ? resolve(stdout + stderr) : reject(new Error('openssl s_client printed nothing'))),
    );
    child.stdin?.end();
  });
}

test("a chain's minimum TLS version is enforced even though node negotiates before SNI", async () => {
  const tooOld = await new Promise<string>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'tls13.example.com', ca: serverCa.certPem, maxVersion: 'TLSv1.2', checkServerIdentity: () => undefined });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, 5_000);
    s.on('error', (err) => {
      clearTimeout(timer);
      resolve(`error: ${err.message}`);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n'));
    s.on('data', (d: Buffer) => {
      clearTimeout(timer);
      s.destroy();
      resolve(`answered: ${d.toString().split('\r\n')[0]}`);
    });
  });
  assert.ok(tooOld === 'closed' || tooOld.startsWith('error'), `a TLS 1.2 client was served: ${tooOld}`);
  const modern = await handshake('tls13.example.com');
  assert.ok(modern.ok, 'a TLS 1.3 client is refused');
  assert.equal(modern.socket.getProtocol(), 'TLSv1.3');
  modern.socket.destroy();
});
