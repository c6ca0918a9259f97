// TLS posture of the real gateway, seen through `openssl s_client` as an operator would check it: a
// chain's minProtocolVersion refuses older clients in the handshake itself while other chains on the
// same port accept them; sessions resume per chain (never across chains, never into a MUTUAL chain)
// and stop resuming when the chain's certificate changes; a Secret's OCSP response is stapled; HSTS is
// added on TLS listeners only, never over an upstream's or a VirtualService's own.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import http2 from 'node:http2';
import { request } from '../support/client.js';
import { GATEHOUSE_BIN, makeConfigDir, startGateway, writeConfig, type GatewayProcess } from '../support/gateway-process.js';
import { createCA, issueLeaf, tlsSecretYaml, type CertificateAuthority, type LeafCertificate } from '../support/pki.js';
import { freePorts } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { serviceEntryYaml } from './manifests.js';

const HSTS = 'max-age=31536000; includeSubDomains';
let gw: GatewayProcess;
let httpPort: number;
let httpsPort: number;
let ca: CertificateAuthority;
let clientCa: CertificateAuthority;
let up: EchoUpstream;
let hstsUpstream: Server;
let work: string;
let staple: Buffer;
let leafA: LeafCertificate;

/** An OCSP response for `leaf` (status good, valid one day), signed by a responder certificate the CA issued. */
function makeOcspResponse(authority: CertificateAuthority, leaf: LeafCertificate, dir: string): Buffer {
  const run = (args: string[]) => spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  writeFileSync(join(dir, 'leaf.crt'), leaf.certPem);
  writeFileSync(join(dir, 'resp.ext'), 'extendedKeyUsage=OCSPSigning\n');
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'resp.key', '-out', 'resp.csr', '-subj', '/CN=test-ocsp-responder']);
  run(['x509', '-req', '-in', 'resp.csr', '-CA', authority.certFile, '-CAkey', authority.keyFile, '-CAcreateserial', '-out', 'resp.crt', '-days', '5', '-extfile', 'resp.ext']);
  const serial = run(['x509', '-in', 'leaf.crt', '-noout', '-serial']).stdout.trim().split('=')[1];
  writeFileSync(join(dir, 'index.txt'), `V\t301231235959Z\t\t${serial}\tunknown\t/CN=o.example.com\n`);
  run(['ocsp', '-issuer', authority.certFile, '-cert', 'leaf.crt', '-no_nonce', '-reqout', 'req.der']);
  const r = run(['ocsp', '-index', 'index.txt', '-rsigner', 'resp.crt', '-rkey', 'resp.key', '-CA', authority.certFile, '-reqin', 'req.der', '-respout', 'resp.der', '-ndays', '1']);
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(join(dir, 'resp.der'));
}

function secretWithStaple(name: string, leaf: LeafCertificate, der: Buffer): string {
  return `${tlsSecretYaml(name, 'istio-system', leaf)}  tls.ocsp-staple: ${der.toString('base64')}\n`;
}

function gatewayYaml(): string {
  const server = (name: string, host: string, tls: string) =>
    `  - port: { number: ${httpsPort}, name: ${name}, protocol: HTTPS }\n    hosts: ["${host}"]\n    tls: { ${tls} }\n`;
  return [
    'apiVersion: networking.istio.io/v1',
    'kind: Gateway',
    'metadata: { name: public, namespace: istio-system }',
    'spec:',
    '  selector: { istio: ingressgateway }',
    '  servers:',
    `  - port: { number: ${httpPort}, name: http, protocol: HTTP }`,
    '    hosts: ["*"]',
  ].join('\n') + '\n' +
    server('https-a', 'a.example.com', 'mode: SIMPLE, credentialName: a-cert') +
    server('https-v13', 'v13.example.com', 'mode: SIMPLE, credentialName: v13-cert, minProtocolVersion: TLSV1_3') +
    server('https-m', 'm.example.com', 'mode: MUTUAL, credentialName: m-cert') +
    server('https-o', 'o.example.com', 'mode: SIMPLE, credentialName: o-cert') +
    server('https-u', 'u.example.com', 'mode: SIMPLE, credentialName: a-cert') +
    server('https-upload', 'upload.example.com', 'mode: SIMPLE, credentialName: a-cert') +
    server('https-c', 'c.example.com', 'mode: SIMPLE, credentialName: c-cert, cipherSuites: [ECDHE-ECDSA-AES256-GCM-SHA384]');
}

const ROUTES = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: upload
  namespace: default
  annotations: { gatehouse.io/request-body-timeout: 1s }
spec:
  hosts: ["upload.example.com"]
  gateways: [istio-system/public]
  http:
  - route: [{ destination: { host: echo.internal } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: all, namespace: default }
spec:
  hosts: ["a.example.com", "v13.example.com", "m.example.com", "o.example.com", "c.example.com", "plain.example.com"]
  gateways: [istio-system/public]
  http:
  - match: [{ uri: { prefix: /vs-hsts } }]
    headers: { response: { set: { strict-transport-security: max-age=60 } } }
    route: [{ destination: { host: echo.internal } }]
  - route: [{ destination: { host: echo.internal } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: own-hsts, namespace: default }
spec:
  hosts: ["u.example.com"]
  gateways: [istio-system/public]
  http:
  - route: [{ destination: { host: hsts.internal } }]
`;

before(async () => {
  [httpPort, httpsPort] = (await freePorts(2)) as [number, number];
  work = mkdtempSync(join(tmpdir(), 'gatehouse-tls-posture-'));
  ca = createCA('posture CA');
  clientCa = createCA('posture client CA');
  up = await startEchoUpstream('echo');
  // An upstream that sets its own Strict-Transport-Security, which the gateway must pass through as is.
  hstsUpstream = createServer((_req, res) => {
    res.writeHead(200, { 'strict-transport-security': 'max-age=7' });
    res.end('own');
  });
  await new Promise<void>((r) => hstsUpstream.listen(0, '127.0.0.1', r));
  leafA = issueLeaf(ca, ['a.example.com', 'u.example.com', 'upload.example.com']);
  const leafO = issueLeaf(ca, ['o.example.com']);
  staple = makeOcspResponse(ca, leafO, work);
  writeFileSync(join(work, 'ca.crt'), ca.certPem);
  const client = issueLeaf(clientCa, ['client.example.com'], { client: true });
  writeFileSync(join(work, 'client.crt'), client.certPem);
  writeFileSync(join(work, 'client.key'), client.keyPem);
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml(),
    'secrets.yaml': [
      tlsSecretYaml('a-cert', 'istio-system', leafA),
      tlsSecretYaml('v13-cert', 'istio-system', issueLeaf(ca, ['v13.example.com'])),
      tlsSecretYaml('m-cert', 'istio-system', issueLeaf(ca, ['m.example.com']), clientCa.certPem),
      secretWithStaple('o-cert', leafO, staple),
      tlsSecretYaml('c-cert', 'istio-system', issueLeaf(ca, ['c.example.com'])),
    ].join('---\n'),
    'services.yaml': [
      serviceEntryYaml('echo', 'echo.internal', [{ port: up.port }]),
      serviceEntryYaml('hsts', 'hsts.internal', [{ port: (hstsUpstream.address() as AddressInfo).port }]),
    ].join('---\n'),
    'routes.yaml': ROUTES,
  });
  gw = await startGateway(dir, { args: ['--hsts', HSTS] });
});

after(async () => {
  await gw?.stop();
  await up?.close();
  await new Promise<void>((r) => (hstsUpstream ? hstsUpstream.close(() => r()) : r()));
});

/**
 * `openssl s_client` to the HTTPS port; sends one HTTP/1.1 request for `sni` and waits for the gateway
 * to close. Resolves with everything it printed (the handshake summary on stdout, alerts on stderr).
 */
function sClient(sni: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-servername', sni, '-CAfile', join(work, 'ca.crt'), '-alpn', 'http/1.1', '-ign_eof', ...args], {
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
    child.stdin.end(`GET / HTTP/1.1\r\nHost: ${sni}\r\nConnection: close\r\n\r\n`);
  });
}

// stdout and stderr interleave, so nothing is anchored to a line start.
const served = (out: string) => /HTTP\/1\.1 200 OK/.test(out);

test('a chain with minProtocolVersion TLSV1_3 refuses a TLS 1.2 client in the handshake; other chains on the port accept TLS 1.2', async () => {
  const refused = await sClient('v13.example.com', ['-tls1_2']);
  assert.match(refused, /alert protocol version/, refused);
  assert.ok(!served(refused), 'a TLS 1.2 client was served by a TLS 1.3-only chain');
  const v13 = await sClient('v13.example.com', ['-tls1_3']);
  assert.match(v13, /New, TLSv1\.3/);
  assert.ok(served(v13), v13);
  const a12 = await sClient('a.example.com', ['-tls1_2']);
  assert.match(a12, /New, TLSv1\.2/);
  assert.ok(served(a12), a12);
});

test('a chain\'s cipherSuites bound its TLS 1.2 suites in the handshake; other chains keep the defaults', async () => {
  const refused = await sClient('c.example.com', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
  assert.match(refused, /handshake failure/, refused);
  assert.ok(!served(refused));
  const named = await sClient('c.example.com', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
  assert.ok(served(named), named);
  const other = await sClient('a.example.com', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
  assert.ok(served(other), other);
});

test('sessions resume on their own chain for TLS 1.2 and 1.3, and not under another SNI or a MUTUAL chain', async () => {
  for (const version of ['-tls1_2', '-tls1_3']) {
    const sess = join(work, `a${version}.pem`);
    const first = await sClient('a.example.com', [version, '-sess_out', sess]);
    assert.ok(served(first), first);
    assert.match(first, /New, TLS/);
    const again = await sClient('a.example.com', [version, '-sess_in', sess]);
    assert.match(again, /Reused, TLSv1\.[23]/, `${version}: not resumed on its own chain\n${again}`);
    assert.ok(served(again), again);
    const elsewhere = await sClient('v13.example.com', ['-tls1_3', '-sess_in', sess]);
    assert.doesNotMatch(elsewhere, /Reused, TLS/, `${version}: chain a's session resumed on chain v13`);
    const mutual = await sClient('m.example.com', [version, '-sess_in', sess]);
    assert.doesNotMatch(mutual, /Reused, TLS/, `${version}: chain a's session resumed on the MUTUAL chain`);
    assert.ok(!served(mutual), `${version}: a client without a certificate was served by the MUTUAL chain`);
  }
  const m = join(work, 'm.pem');
  const withCert = ['-cert', join(work, 'client.crt'), '-key', join(work, 'client.key')];
  const full = await sClient('m.example.com', [...withCert, '-sess_out', m]);
  assert.ok(served(full), full);
  const resumed = await sClient('m.example.com', [...withCert, '-sess_in', m]);
  assert.match(resumed, /Reused, TLS/, 'the MUTUAL chain did not resume its own session');
  assert.ok(served(resumed), resumed);
});

test('a Secret carrying tls.ocsp-staple has its OCSP response stapled; a chain without one sends none', async () => {
  const stapled = await sClient('o.example.com', ['-status']);
  assert.match(stapled, /OCSP Response Status: successful/, stapled);
  assert.match(stapled, /Cert Status: good/);
  assert.ok(served(stapled));
  const none = await sClient('a.example.com', ['-status']);
  assert.match(none, /OCSP response: no response sent/, none);
});

test('an OCSP response for another certificate is not stapled and is reported with its code and line', async () => {
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml(),
    'secrets.yaml': [
      tlsSecretYaml('a-cert', 'istio-system', leafA),
      tlsSecretYaml('v13-cert', 'istio-system', leafA),
      tlsSecretYaml('m-cert', 'istio-system', leafA, clientCa.certPem),
      secretWithStaple('o-cert', leafA, staple),
    ].join('---\n'),
  });
  const r = spawnSync(process.execPath, [GATEHOUSE_BIN, 'validate', dir], { encoding: 'utf8', timeout: 30_000 });
  const text = r.stdout + r.stderr;
  assert.match(text, /secrets\.yaml:\d+:\d+: GH_CFG_OCSP_STAPLE/, text);
  assert.match(text, /no response for this certificate/);
});

test('HSTS is added on the TLS listener only, and never replaces an upstream or VirtualService value', async () => {
  const tls = { ca: ca.certPem };
  const https = await request({ port: httpsPort, authority: 'a.example.com', path: '/', tls });
  assert.equal(https.status, 200);
  assert.equal(https.headers['strict-transport-security'], HSTS);
  const local = await request({ port: httpsPort, authority: 'a.example.com', path: '/', tls: { ...tls, servername: 'a.example.com' }, headers: { host: 'nowhere.example.com' } });
  assert.equal(local.status, 404);
  assert.equal(local.headers['strict-transport-security'], HSTS, 'a local reply on TLS carries HSTS too');
  const plain = await request({ port: httpPort, authority: 'plain.example.com', path: '/' });
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['strict-transport-security'], undefined, 'HSTS sent over plain HTTP');
  const byRoute = await request({ port: httpsPort, authority: 'a.example.com', path: '/vs-hsts', tls });
  assert.equal(byRoute.headers['strict-transport-security'], 'max-age=60');
  const byUpstream = await request({ port: httpsPort, authority: 'u.example.com', path: '/', tls });
  assert.equal(byUpstream.status, 200);
  assert.equal(byUpstream.headers['strict-transport-security'], 'max-age=7');
});

test('over HTTP/2, a request body not whole at the route deadline gets 408 and never reaches the upstream whole', async () => {
  const session = http2.connect(`https://upload.example.com:${httpsPort}`, { host: '127.0.0.1', servername: 'upload.example.com', ca: ca.certPem } as http2.SecureClientSessionOptions);
  session.on('error', () => undefined);
  try {
    const outcome = await new Promise<{ status: number | undefined; closed: boolean }>((resolve) => {
      const stream = session.request({ ':method': 'POST', ':path': '/h2-slow', 'content-length': '100' });
      let status: number | undefined;
      const timer = setTimeout(() => resolve({ status, closed: false }), 5000);
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('error', () => undefined);
      stream.on('close', () => {
        clearTimeout(timer);
        resolve({ status, closed: true });
      });
      stream.resume();
      stream.write(Buffer.alloc(10, 120));
    });
    assert.equal(outcome.status, 408);
    assert.equal(outcome.closed, true, 'the stream stayed open after the 408');
    assert.equal(up.hits.filter((h) => h.url === '/h2-slow').length, 0, 'the upstream received the whole request');
  } finally {
    session.destroy();
  }
});

test('a new certificate for a chain ends resumption of its old sessions', async () => {
  const sess = join(work, 'rotate.pem');
  assert.ok(served(await sClient('a.example.com', ['-tls1_3', '-sess_out', sess])));
  assert.match(await sClient('a.example.com', ['-tls1_3', '-sess_in', sess]), /Reused, TLS/);
  const renewed = issueLeaf(ca, ['a.example.com', 'u.example.com']);
  const original = readFileSync(join(gw.configDir, 'secrets.yaml'), 'utf8');
  const aSecret = tlsSecretYaml('a-cert', 'istio-system', leafA);
  writeConfig(gw.configDir, { 'secrets.yaml': original.replace(aSecret, tlsSecretYaml('a-cert', 'istio-system', renewed)) });
  const fingerprint = () =>
    new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: httpsPort, servername: 'a.example.com', ca: ca.certPem }, () => {
        resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
        s.destroy();
      });
      s.on('error', () => resolve(''));
    });
  const { X509Certificate } = await import('node:crypto');
  const want = new X509Certificate(renewed.certPem).fingerprint256;
  await waitFor(async () => (await fingerprint()) === want, { timeoutMs: 15_000, what: 'the renewed certificate to be served' });
  const after = await sClient('a.example.com', ['-tls1_3', '-sess_in', sess]);
  assert.doesNotMatch(after, /Reused, TLS/, 'a session made with the old certificate resumed');
  assert.ok(served(after), after);
});

test('an --hsts value without max-age, or with a directive twice, stops serve with a usage error', () => {
  for (const bad of ['includeSubDomains', 'max-age=1; max-age=2', 'max-age=soon']) {
    const r = spawnSync(process.execPath, [GATEHOUSE_BIN, 'serve', '--config', gw.configDir, '--hsts', bad], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /GH_ERR_USAGE: --hsts/);
  }
});
