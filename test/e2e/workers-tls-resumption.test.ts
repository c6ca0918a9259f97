// Under `--workers 2` the kernel hands each new connection to either worker, so a TLS session made on
// one must resume on the other: the workers derive each chain's ticket keys from one seed the primary
// gives them. Proven with real handshakes: every reconnection resumes, and both workers took some.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { createCA, issueLeaf, tlsSecretYaml, type CertificateAuthority } from '../support/pki.js';
import { freePorts } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { gatewayYaml, serviceEntryYaml } from './manifests.js';

let gw: GatewayProcess;
let httpsPort: number;
let ca: CertificateAuthority;
let upstream: EchoUpstream;

before(async () => {
  [httpsPort] = (await freePorts(1)) as [number];
  ca = createCA('resumption CA');
  upstream = await startEchoUpstream('app');
  gw = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('public', [
        { port: httpsPort, protocol: 'HTTPS', hosts: ['a.example.com'], credentialName: 'a-cert', portName: 'https-a' },
        { port: httpsPort, protocol: 'HTTPS', hosts: ['b.example.com'], credentialName: 'b-cert', portName: 'https-b' },
      ]),
      'secrets.yaml': [
        tlsSecretYaml('a-cert', 'istio-system', issueLeaf(ca, ['a.example.com'])),
        tlsSecretYaml('b-cert', 'istio-system', issueLeaf(ca, ['b.example.com'])),
      ].join('---\n'),
      'services.yaml': serviceEntryYaml('app', 'app.internal', [{ port: upstream.port }]),
      'routes.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: app, namespace: default }
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [istio-system/public]
  http:
  - route:
    - destination: { host: app.internal }
`,
    }),
    { args: ['--workers', '2'] },
  );
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

interface Visit {
  readonly reused: boolean;
  readonly session: Buffer | undefined;
  readonly status: string;
}

/** One TLS 1.3 connection for `servername`, offering `session`; one GET; the ticket it was given. */
async function visit(servername: string, session?: Buffer): Promise<Visit> {
  const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, servername, ca: ca.certPem, minVersion: 'TLSv1.3', ALPNProtocols: ['http/1.1'], ...(session ? { session } : {}) });
  let ticket: Buffer | undefined;
  socket.on('session', (s: Buffer) => (ticket = s));
  await once(socket, 'secureConnect');
  const reused = socket.isSessionReused();
  socket.write(`GET / HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  await once(socket, 'end');
  socket.destroy();
  return { reused, session: ticket, status: text.slice(0, text.indexOf('\r\n')) };
}

async function requestsPerWorker(): Promise<number[]> {
  const body = (await request({ port: gw.adminPort, path: '/workers' })).json<{ workers: { requestsTotal: number }[] }>();
  return body.workers.map((w) => w.requestsTotal);
}

test('a TLS session made on one worker resumes on the other', async () => {
  const first = await visit('a.example.com');
  assert.equal(first.status, 'HTTP/1.1 200 OK');
  assert.equal(first.reused, false);
  assert.ok(first.session, 'the gateway issued a session ticket');
  const before = await requestsPerWorker();
  assert.equal(before.length, 2);
  // The kernel picks the worker: reconnect until both have served a resumed connection (bounded).
  let resumed = 0;
  for (let i = 0; i < 60; i++) {
    const again = await visit('a.example.com', first.session);
    assert.equal(again.status, 'HTTP/1.1 200 OK');
    assert.equal(again.reused, true, `reconnection ${i + 1} was a full handshake`);
    resumed++;
    const now = await requestsPerWorker();
    if (now.every((n, w) => n > (before[w] ?? 0))) break;
  }
  const after = await requestsPerWorker();
  assert.ok(after.every((n, w) => n > (before[w] ?? 0)), `both workers served resumed connections (${before.join(',')} → ${after.join(',')}, ${resumed} resumed)`);
});

test('the shared seed keeps chains apart: a ticket from one chain is a full handshake on another', async () => {
  const a = await visit('a.example.com');
  assert.ok(a.session);
  const b = await visit('b.example.com', a.session);
  assert.equal(b.status, 'HTTP/1.1 200 OK');
  assert.equal(b.reused, false);
});
