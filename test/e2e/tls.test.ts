// TLS termination by the real gateway: the certificate is chosen by SNI among several on one port, the
// client verifies it against the issuing CA, ALPN offers h2 and http/1.1, the minimum version is TLS 1.2,
// and the HTTP server redirects to https.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { createCA, issueLeaf, tlsSecretYaml, type CertificateAuthority } from '../support/pki.js';
import { freePorts } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { gatewayYaml, serviceEntryYaml } from './manifests.js';

let gw: GatewayProcess;
let httpPort: number;
let httpsPort: number;
let caA: CertificateAuthority;
let caB: CertificateAuthority;
let upA: EchoUpstream;
let upB: EchoUpstream;

before(async () => {
  [httpPort, httpsPort] = (await freePorts(2)) as [number, number];
  caA = createCA('CA A');
  caB = createCA('CA B', 'rsa');
  upA = await startEchoUpstream('a');
  upB = await startEchoUpstream('b');
  const dir = makeConfigDir({
    'gateway.yaml': [
      gatewayYaml('public', [
        { port: httpPort, protocol: 'HTTP', hosts: ['a.example.com', 'b.example.com'], httpsRedirect: true },
        { port: httpsPort, protocol: 'HTTPS', hosts: ['a.example.com'], credentialName: 'a-cert', portName: 'https-a' },
        { port: httpsPort, protocol: 'HTTPS', hosts: ['b.example.com'], credentialName: 'b-cert', portName: 'https-b' },
      ]),
    ].join(''),
    'secrets.yaml': [
      tlsSecretYaml('a-cert', 'istio-system', issueLeaf(caA, ['a.example.com'])),
      tlsSecretYaml('b-cert', 'istio-system', issueLeaf(caB, ['b.example.com'], { kind: 'rsa' })),
    ].join('---\n'),
    'services.yaml': [
      serviceEntryYaml('a', 'a.internal', [{ port: upA.port }]),
      serviceEntryYaml('b', 'b.internal', [{ port: upB.port }]),
    ].join('---\n'),
    'routes.yaml': `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: a, namespace: default }
spec:
  hosts: [a.example.com]
  gateways: [istio-system/public]
  http:
  - route:
    - destination: { host: a.internal }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b, namespace: default }
spec:
  hosts: [b.example.com]
  gateways: [istio-system/public]
  http:
  - route:
    - destination: { host: b.internal }
`,
  });
  gw = await startGateway(dir);
});

after(async () => {
  await gw?.stop();
  await upA?.close();
  await upB?.close();
});

test('SNI selects the certificate: each host is served its own, verified against its own CA', async () => {
  const a = await request({ port: httpsPort, authority: 'a.example.com', path: '/', tls: { ca: caA.certPem } });
  assert.equal(a.status, 200);
  assert.equal(a.headers['x-upstream'], 'a');
  assert.equal(a.json().headers['x-forwarded-proto'], 'https');
  const b = await request({ port: httpsPort, authority: 'b.example.com', path: '/', tls: { ca: caB.certPem } });
  assert.equal(b.headers['x-upstream'], 'b');
  await assert.rejects(
    request({ port: httpsPort, authority: 'b.example.com', path: '/', tls: { ca: caA.certPem } }),
    /self-signed|unable to verify|certificate/i,
    "b's certificate does not chain to CA A",
  );
});

test('ALPN negotiates h2 and the request is routed over HTTP/2', async () => {
  const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { ca: caA.certPem, servername: 'a.example.com' });
  try {
    const { status, upstream, alpn } = await new Promise<{ status: number; upstream: string; alpn: string }>((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':path': '/h2', ':authority': 'a.example.com' });
      stream.on('response', (headers) => {
        stream.resume();
        stream.on('end', () =>
          resolve({ status: Number(headers[':status']), upstream: String(headers['x-upstream']), alpn: String(session.alpnProtocol) }),
        );
      });
      stream.on('error', reject);
      stream.end();
    });
    assert.equal(alpn, 'h2');
    assert.equal(status, 200);
    assert.equal(upstream, 'a');
  } finally {
    session.close();
  }
});

test('TLS 1.1 is refused; TLS 1.2 and 1.3 are accepted', async () => {
  const handshake = (minVersion: tls.SecureVersion, maxVersion: tls.SecureVersion) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ port: httpsPort, host: '127.0.0.1', servername: 'a.example.com', ca: caA.certPem, minVersion, maxVersion });
      s.once('secureConnect', () => {
        const v = s.getProtocol() ?? '';
        s.destroy();
        resolve(v);
      });
      s.once('error', reject);
    });
  assert.equal(await handshake('TLSv1.2', 'TLSv1.2'), 'TLSv1.2');
  assert.equal(await handshake('TLSv1.3', 'TLSv1.3'), 'TLSv1.3');
  await assert.rejects(handshake('TLSv1', 'TLSv1.1'));
});

test('an SNI no server covers gets no certificate: the handshake is refused', async () => {
  await assert.rejects(
    request({ port: httpsPort, authority: 'c.example.com', path: '/', tls: { ca: caA.certPem } }),
  );
});

test('the plaintext port redirects to https with 301, keeping the path and query', async () => {
  const r = await request({ port: httpPort, authority: 'a.example.com', path: '/cart?id=7' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, 'https://a.example.com/cart?id=7');
});
