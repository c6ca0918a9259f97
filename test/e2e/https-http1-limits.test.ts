// HTTP/1.1 over TLS gets the same edge limits as plaintext HTTP: headers trickling in are cut off at the
// header deadline, an idle keep-alive connection is closed after the idle timeout, and the request
// header size limit is the edge's, not node's 16 KiB default. (The HTTPS listener is node's HTTP/2
// server with HTTP/1.1 allowed, which takes none of the HTTP/1 server options by itself.) The TLS
// handshake has its own deadline (--tls-handshake-timeout).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { createCA, issueLeaf, tlsSecretYaml, type CertificateAuthority } from '../support/pki.js';
import { freePorts } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { gatewayYaml, serviceEntryYaml } from './manifests.js';

const HOST = 'limits.example.com';
let gw: GatewayProcess;
let up: EchoUpstream;
let ca: CertificateAuthority;
let port: number;

before(async () => {
  [port] = (await freePorts(1)) as [number];
  ca = createCA('https limits CA');
  up = await startEchoUpstream('echo');
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('public', [{ port, protocol: 'HTTPS', hosts: [HOST], credentialName: 'limits-cert' }]),
    'secrets.yaml': tlsSecretYaml('limits-cert', 'istio-system', issueLeaf(ca, [HOST])),
    'services.yaml': serviceEntryYaml('echo', 'echo.internal', [{ port: up.port }]),
    'routes.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: all, namespace: default }
spec:
  hosts: ["${HOST}"]
  gateways: [istio-system/public]
  http:
  - route: [{ destination: { host: echo.internal } }]
`,
  });
  gw = await startGateway(dir, { args: ['--request-headers-timeout', '1s', '--idle-timeout', '2s', '--tls-handshake-timeout', '1s'] });
});

after(async () => {
  await gw?.stop();
  await up?.close();
});

/** A TLS connection (HTTP/1.1 by ALPN) to the HTTPS port; collects what it reads. */
function open(): Promise<{ socket: TLSSocket; text: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: HOST, ca: ca.certPem, ALPNProtocols: ['http/1.1'] }, () =>
      resolve({ socket, text: () => text, closed }),
    );
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.setEncoding('latin1').on('data', (d: string) => (text += d));
    socket.on('error', reject);
  });
}

/** Resolves true when `closed` settles within `ms`, false otherwise. */
function closesWithin(closed: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void closed.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

test('slowloris over TLS: headers trickling in are cut off at the header deadline and reach no upstream', async () => {
  const heads = up.hits.length;
  const c = await open();
  c.socket.on('error', () => undefined);
  c.socket.write(`GET /slow HTTP/1.1\r\nHost: ${HOST}\r\n`);
  // A header byte every 200 ms: activity must not extend the deadline (1 s; node checks every 250 ms).
  const trickle = setInterval(() => c.socket.writable && c.socket.write('X-A: b\r\n'), 200);
  try {
    assert.ok(await closesWithin(c.closed, 6000), 'the connection was still open 6 s after its headers began');
  } finally {
    clearInterval(trickle);
    c.socket.destroy();
  }
  assert.doesNotMatch(c.text(), /HTTP\/1\.1 200/);
  assert.equal(up.hits.length, heads, 'a trickled request reached the upstream');
});

test('an idle keep-alive connection over TLS is closed after the idle timeout', async () => {
  const c = await open();
  c.socket.write(`GET /idle HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  assert.ok(await closesWithin(c.closed, 6000), 'an idle keep-alive connection stayed open 6 s (idle timeout 2 s)');
  assert.match(c.text(), /^HTTP\/1\.1 200/, 'the request before the idle period was served');
});

test('request headers over node\'s 16 KiB default but within the edge limit are proxied over TLS', async () => {
  const c = await open();
  c.socket.write(`GET /big HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(30 * 1024)}\r\nConnection: close\r\n\r\n`);
  await closesWithin(c.closed, 5000);
  // The echo upstream itself keeps node's 16 KiB limit and may answer 431; what matters is that the
  // gateway passed the request on (its own refusal would carry no upstream service time).
  assert.match(c.text(), /^HTTP\/1\.1 \d{3}/, c.text().slice(0, 200));
  assert.match(c.text(), /x-envoy-upstream-service-time: \d+/i, `refused at the edge: ${c.text().slice(0, 200)}`);
});

test('--tls-handshake-timeout: a client that connects and never starts its handshake is closed at the deadline', async () => {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  // Node's own handshake timer would wait 120 s of silence.
  assert.ok(await closesWithin(closed, 6000), 'a silent connection was still open 6 s after it connected');
});
