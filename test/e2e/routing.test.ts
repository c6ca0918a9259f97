// The real gateway process routes by host, path, headers and weights to the right upstream, applies the
// route's actions (redirect, direct response, rewrite, header operations), and answers 404 for what no
// route covers: all over real sockets.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { freePort } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { gatewayYaml, serviceEntryYaml } from './manifests.js';

let gw: GatewayProcess;
let port: number;
const up: Record<string, EchoUpstream> = {};

before(async () => {
  for (const name of ['web', 'api', 'api-v2', 'canary-a', 'canary-b']) up[name] = await startEchoUpstream(name);
  port = await freePort();
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP', hosts: ['*'] }]),
    'services.yaml': [
      serviceEntryYaml('web', 'web.shop.svc.cluster.local', [{ port: up.web!.port }], 'shop'),
      serviceEntryYaml('api', 'api.shop.svc.cluster.local', [
        { port: up.api!.port, labels: { version: 'v1' } },
        { port: up['api-v2']!.port, labels: { version: 'v2' } },
      ], 'shop'),
      serviceEntryYaml('canary', 'canary.shop.svc.cluster.local', [
        { port: up['canary-a']!.port, labels: { track: 'a' } },
        { port: up['canary-b']!.port, labels: { track: 'b' } },
      ], 'shop'),
    ].join('---\n'),
    'destination-rules.yaml': `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: shop }
spec:
  host: api
  subsets:
  - name: v1
    labels: { version: v1 }
  - name: v2
    labels: { version: v2 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: canary, namespace: shop }
spec:
  host: canary
  subsets:
  - name: a
    labels: { track: a }
  - name: b
    labels: { track: b }
`,
    'shop/virtualservice.yaml': `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: shop
  namespace: shop
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/edge]
  http:
  - name: api-canary
    match:
    - uri: { prefix: /api/ }
      headers:
        x-canary: { exact: "true" }
    route:
    - destination: { host: api, subset: v2 }
  - name: api
    match:
    - uri: { prefix: /api/ }
    rewrite: { uri: /v1/ }
    route:
    - destination: { host: api, subset: v1 }
  - name: moved
    match:
    - uri: { exact: /old }
    redirect: { uri: /new, redirectCode: 308 }
  - name: status
    match:
    - uri: { regex: "/status(/[a-z]+)?" }
      method: { exact: GET }
    directResponse:
      status: 200
      body: { string: "up" }
  - name: web
    headers:
      request:
        set: { x-gatehouse-test: "set-by-route" }
        remove: [x-secret]
      response:
        add: { x-served-by: gatehouse }
    route:
    - destination: { host: web }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: wildcard
  namespace: shop
spec:
  hosts: ["*.wild.example.com"]
  gateways: [istio-system/edge]
  http:
  - route:
    - destination: { host: api, subset: v2 }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: canary
  namespace: shop
spec:
  hosts: [canary.example.com]
  gateways: [istio-system/edge]
  http:
  - route:
    - destination: { host: canary, subset: a }
      weight: 80
    - destination: { host: canary, subset: b }
      weight: 20
    - destination: { host: web }
      weight: 0
`,
  });
  gw = await startGateway(dir);
});

after(async () => {
  await gw?.stop();
  await Promise.all(Object.values(up).map((u) => u.close()));
});

const get = (authority: string, path: string, headers: Record<string, string> = {}) =>
  request({ port, authority, path, headers });

test('a prefix match with a header condition picks the canary subset, without the header the stable one', async () => {
  const canary = await get('shop.example.com', '/api/items', { 'x-canary': 'true' });
  assert.equal(canary.status, 200);
  assert.equal(canary.headers['x-upstream'], 'api-v2');
  const stable = await get('shop.example.com', '/api/items');
  assert.equal(stable.headers['x-upstream'], 'api');
  assert.equal(stable.json().url, '/v1/items', 'rewrite replaces the matched prefix');
});

test('the Host header port is ignored for host matching and the catch-all route serves the rest', async () => {
  const r = await get(`shop.example.com:${port}`, '/index.html?q=1');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'web');
  assert.equal(r.json().url, '/index.html?q=1');
});

test('a redirect route answers with its code and Location, without reaching an upstream', async () => {
  const before = up.web!.hits.length;
  const r = await get('shop.example.com', '/old');
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, 'http://shop.example.com/new');
  assert.equal(up.web!.hits.length, before);
});

test('a direct response is answered by the gateway; the regex is a full match', async () => {
  const r = await get('shop.example.com', '/status/db');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'up');
  const partial = await get('shop.example.com', '/status/db/extra');
  assert.equal(partial.headers['x-upstream'], 'web', 'an anchored regex does not match a longer path');
});

test('route header operations: request set/remove reach the upstream, response add reaches the client', async () => {
  const r = await get('shop.example.com', '/h', { 'x-secret': 'hunter2', 'x-request-id': 'req-123' });
  const seen = r.json().headers;
  assert.equal(seen['x-gatehouse-test'], 'set-by-route');
  assert.equal(seen['x-secret'], undefined);
  assert.equal(seen['x-request-id'], 'req-123', "the client's request id is kept");
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.match(String(seen['x-forwarded-for']), /127\.0\.0\.1/);
  assert.equal(r.headers['x-served-by'], 'gatehouse');
});

test('a request id is generated when the client sends none', async () => {
  const r = await get('shop.example.com', '/id');
  assert.match(String(r.json().headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('hosts are matched case-insensitively and wildcard hosts match subdomains only', async () => {
  assert.equal((await get('SHOP.Example.COM', '/x')).headers['x-upstream'], 'web');
  assert.equal((await get('a.wild.example.com', '/')).headers['x-upstream'], 'api-v2');
  assert.equal((await get('wild.example.com', '/')).status, 404);
});

test('a host no VirtualService binds gets 404 from the gateway itself', async () => {
  const r = await get('unknown.example.com', '/');
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-upstream'], undefined);
});

test('weighted destinations split traffic by relative weight; weight 0 gets nothing', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const counts: Record<string, number> = {};
  const total = 400;
  try {
    for (let i = 0; i < total; i += 8) {
      const batch = await Promise.all(
        Array.from({ length: 8 }, () => request({ port, authority: 'canary.example.com', path: '/', agent })),
      );
      for (const r of batch) counts[String(r.headers['x-upstream'])] = (counts[String(r.headers['x-upstream'])] ?? 0) + 1;
    }
  } finally {
    agent.destroy();
  }
  const a = counts['canary-a'] ?? 0;
  const b = counts['canary-b'] ?? 0;
  assert.equal(a + b, total, `every request reached a weighted destination: ${JSON.stringify(counts)}`);
  // 80/20 over 400 draws: the standard deviation of a's share is 2%; 0.70–0.90 is five of them.
  assert.ok(a / total > 0.7 && a / total < 0.9, `share of a is ${a / total}`);
  assert.equal(counts.web, undefined);
});
