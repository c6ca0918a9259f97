// Listeners with one filter chain. When that chain serves any name, every connection starts in its
// context without the ClientHello being read first and without an SNI callback: the chain's TLS policy
// must still hold in the handshake itself (minimum version, client certificates), its sessions must
// resume on it and nowhere else, and the SNI a client sent must still reach the access log. A single
// chain that names its hosts still refuses an SNI it does not name.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { createCA, issueLeaf, tlsSecretYaml, type CertificateAuthority } from '../support/pki.js';
import { freePorts } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { serviceEntryYaml } from './manifests.js';

let gw: GatewayProcess;
let up: EchoUpstream;
let ca: CertificateAuthority;
let work: string;
/** Only chain hosts ["*"], TLS 1.3 only. */
let any13: number;
/** Only chain hosts ["*"], default versions, another certificate. */
let any12: number;
/** Only chain hosts ["*"], MUTUAL. */
let mutual: number;
/** Only chain hosts ["named.example.com"]. */
let named: number;

function gatewayYaml(): string {
  const server = (port: number, name: string, host: string, tls: string) =>
    `  - port: { number: ${port}, name: ${name}, protocol: HTTPS }\n    hosts: ["${host}"]\n    tls: { ${tls} }\n`;
  return 'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: { name: single, namespace: istio-system }\n' +
    'spec:\n  selector: { istio: ingressgateway }\n  servers:\n' +
    server(any13, 'https-any13', '*', 'mode: SIMPLE, credentialName: any-cert, minProtocolVersion: TLSV1_3') +
    server(any12, 'https-any12', '*', 'mode: SIMPLE, credentialName: other-cert') +
    server(mutual, 'https-mutual', '*', 'mode: MUTUAL, credentialName: m-cert') +
    server(named, 'https-named', 'named.example.com', 'mode: SIMPLE, credentialName: named-cert');
}

const ROUTES = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: all, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/single]
  http:
  - route: [{ destination: { host: echo.internal } }]
`;

before(async () => {
  [any13, any12, mutual, named] = (await freePorts(4)) as [number, number, number, number];
  work = mkdtempSync(join(tmpdir(), 'gatehouse-tls-single-'));
  ca = createCA('single-chain CA');
  const clientCa = createCA('single-chain client CA');
  up = await startEchoUpstream('echo');
  writeFileSync(join(work, 'ca.crt'), ca.certPem);
  const client = issueLeaf(clientCa, ['client.example.com'], { client: true });
  writeFileSync(join(work, 'client.crt'), client.certPem);
  writeFileSync(join(work, 'client.key'), client.keyPem);
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml(),
    'secrets.yaml': [
      tlsSecretYaml('any-cert', 'istio-system', issueLeaf(ca, ['any.example.com', 'sni-only.example.com'])),
      tlsSecretYaml('other-cert', 'istio-system', issueLeaf(ca, ['any.example.com'])),
      tlsSecretYaml('m-cert', 'istio-system', issueLeaf(ca, ['any.example.com']), clientCa.certPem),
      tlsSecretYaml('named-cert', 'istio-system', issueLeaf(ca, ['named.example.com'])),
    ].join('---\n'),
    'services.yaml': serviceEntryYaml('echo', 'echo.internal', [{ port: up.port }]),
    'routes.yaml': ROUTES,
  });
  gw = await startGateway(dir);
});

after(async () => {
  await gw?.stop();
  await up?.close();
});

/** `openssl s_client` sending one HTTP/1.1 request; resolves with everything it printed. `sni` undefined: no SNI. */
function sClient(port: number, sni: string | undefined, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const name = sni ? ['-servername', sni] : ['-noservername'];
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...name, '-CAfile', join(work, 'ca.crt'), '-alpn', 'http/1.1', '-ign_eof', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(`GET / HTTP/1.1\r\nHost: ${sni ?? 'any.example.com'}\r\nConnection: close\r\n\r\n`);
  });
}

const served = (out: string) => /HTTP\/1\.1 200 OK/.test(out);

test('the only chain of a listener, serving any name, refuses TLS 1.2 in the handshake when it is TLS 1.3-only, with SNI and without', async () => {
  for (const sni of ['any.example.com', undefined]) {
    const refused = await sClient(any13, sni, ['-tls1_2']);
    assert.match(refused, /alert protocol version/, `${sni ?? 'no SNI'}: ${refused}`);
    assert.ok(!served(refused), `${sni ?? 'no SNI'}: a TLS 1.2 client was served by a TLS 1.3-only chain`);
    const accepted = await sClient(any13, sni, ['-tls1_3']);
    assert.match(accepted, /New, TLSv1\.3/);
    assert.ok(served(accepted), accepted);
  }
  const other = await sClient(any12, 'any.example.com', ['-tls1_2']);
  assert.ok(served(other), `the listener without a version limit refused TLS 1.2: ${other}`);
});

test('sessions of a single-chain listener resume there, for TLS 1.2 and 1.3, and not on another listener', async () => {
  for (const [port, version] of [[any13, '-tls1_3'], [any12, '-tls1_2'], [any12, '-tls1_3']] as const) {
    const sess = join(work, `s-${port}${version}.pem`);
    const first = await sClient(port, 'any.example.com', [version, '-sess_out', sess]);
    assert.ok(served(first), first);
    const again = await sClient(port, 'any.example.com', [version, '-sess_in', sess]);
    assert.match(again, /Reused, TLSv1\.[23]/, `${version} on ${port}: not resumed\n${again}`);
    assert.ok(served(again), again);
    const elsewhere = await sClient(port === any13 ? any12 : any13, 'any.example.com', ['-tls1_3', '-sess_in', sess]);
    assert.doesNotMatch(elsewhere, /Reused, TLS/, `${version}: a session of port ${port} resumed on another listener`);
    const onMutual = await sClient(mutual, 'any.example.com', [version, '-sess_in', sess]);
    assert.doesNotMatch(onMutual, /Reused, TLS/, `${version}: a session of port ${port} resumed on the MUTUAL listener`);
    assert.ok(!served(onMutual), 'a client without a certificate was served by the MUTUAL listener');
  }
});

test('a MUTUAL only chain asks every client for a certificate and serves only one from its CA', async () => {
  for (const sni of ['any.example.com', undefined]) {
    const without = await sClient(mutual, sni, []);
    assert.match(without, /Acceptable client certificate CA names/, without);
    assert.ok(!served(without), `${sni ?? 'no SNI'}: served without a client certificate`);
    const withCert = await sClient(mutual, sni, ['-cert', join(work, 'client.crt'), '-key', join(work, 'client.key')]);
    assert.ok(served(withCert), withCert);
  }
  const simple = await sClient(any12, 'any.example.com', []);
  assert.doesNotMatch(simple, /Acceptable client certificate CA names/, 'a SIMPLE listener asked for a client certificate');
});

test('an only chain that names its hosts refuses an SNI it does not name and serves the one it does', async () => {
  const refused = await sClient(named, 'other.example.com', []);
  assert.ok(!served(refused), `an unnamed SNI was served: ${refused}`);
  assert.doesNotMatch(refused, /New, TLS/, refused);
  const accepted = await sClient(named, 'named.example.com', []);
  assert.ok(served(accepted), accepted);
});

test('the SNI a client sent to a single-chain listener is the requested server name in the access log', async () => {
  const res = await request({ port: any12, authority: 'any.example.com', path: '/sni-logged', tls: { servername: 'sni-only.example.com', ca: ca.certPem, rejectUnauthorized: false } });
  assert.equal(res.status, 200);
  await waitFor(() => gw.stdout().includes('/sni-logged'), { what: 'the access log line' });
  const line = gw.stdout().split('\n').find((l) => l.includes('/sni-logged')) ?? '';
  assert.match(line, / sni-only\.example\.com /, line);
});
