// Malformed requests get a 4xx from the gateway and never reach an upstream half-parsed: raw bytes on a
// socket, as an attacker or a broken client would send them.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { freePort } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { gatewayYaml, serviceEntryYaml } from './manifests.js';

let gw: GatewayProcess;
let port: number;
let web: EchoUpstream;

before(async () => {
  web = await startEchoUpstream('web');
  port = await freePort();
  gw = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]),
      'se.yaml': serviceEntryYaml('web', 'web.internal', [{ port: web.port }]),
      'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web.example.com]
  gateways: [istio-system/edge]
  http:
  - route:
    - destination: { host: web.internal }
`,
    }),
  );
});

after(async () => {
  await gw?.stop();
  await web?.close();
});

/** Sends raw bytes, returns everything the gateway answered until it closed or went quiet. */
function raw(bytes: string, quietMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    };
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
      arm();
    });
    s.on('close', finish);
    s.on('error', finish);
    s.write(bytes);
    arm();
  });
}

const status = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

test('a well-formed request over a raw socket is proxied (the baseline for the cases below)', async () => {
  const r = await raw('GET /ok HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n');
  assert.equal(status(r), 200);
  assert.ok(web.hits.some((h) => h.url === '/ok'));
});

test('a malformed Host header gets 400 and reaches no upstream', async () => {
  const before = web.hits.length;
  for (const host of ['web.example.com:notaport', 'web example.com', 'web.example.com/path', '[::1']) {
    const r = await raw(`GET /bad-host HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.equal(status(r), 400, `Host: ${host} → ${r.split('\r\n')[0]}`);
  }
  assert.equal(web.hits.length, before);
});

test('a request without Host gets 400', async () => {
  const r = await raw('GET / HTTP/1.1\r\nConnection: close\r\n\r\n');
  assert.equal(status(r), 400);
});

test('an absolute-form target routes on its authority; an unknown one gets 404 and reaches no upstream', async () => {
  const known = await raw('GET http://web.example.com/abs HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n');
  assert.equal(status(known), 200);
  assert.ok(web.hits.some((h) => h.url === '/abs'), 'the upstream receives the origin-form path');
  const before = web.hits.length;
  const unknown = await raw('GET http://unknown.example.com/x HTTP/1.1\r\nHost: unknown.example.com\r\nConnection: close\r\n\r\n');
  assert.equal(status(unknown), 404);
  assert.equal(web.hits.length, before);
});

test('OPTIONS * gets 404 (absolute_path_rejected, as Envoy) and reaches no upstream', async () => {
  const before = web.hits.length;
  const r = await raw('OPTIONS * HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n');
  assert.equal(status(r), 404, r.split('\r\n')[0]);
  assert.equal(web.hits.length, before);
  // The connection serves the next request as usual.
  const next = await raw('OPTIONS * HTTP/1.1\r\nHost: web.example.com\r\n\r\nGET /after-asterisk HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n');
  assert.match(next, /^HTTP\/1\.1 404 [^]*HTTP\/1\.1 200 /);
  assert.ok(web.hits.some((h) => h.url === '/after-asterisk'));
});

test('request headers over the size limit get 431 and reach no upstream', async () => {
  const before = web.hits.length;
  const r = await raw(`GET /big HTTP/1.1\r\nHost: web.example.com\r\nX-Big: ${'a'.repeat(80 * 1024)}\r\nConnection: close\r\n\r\n`);
  assert.equal(status(r), 431);
  assert.equal(web.hits.length, before);
});

test('Content-Length together with Transfer-Encoding is refused with 400 and nothing is forwarded', async () => {
  const before = web.hits.length;
  const r = await raw(
    'POST /smuggle HTTP/1.1\r\nHost: web.example.com\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hidden HTTP/1.1\r\nHost: web.example.com\r\n\r\n',
  );
  assert.equal(status(r), 400);
  assert.equal(web.hits.length, before);
  assert.ok(!web.hits.some((h) => h.url === '/hidden'));
});
