// Routes share the pieces many of them have in common (routes/compile/shared-values.ts): a match list that
// tests the URI alone, and the forward action to one cluster with nothing else. Every route must still be
// exactly what it would be without sharing: each VirtualService here compiled alone (nothing to share
// with) must give the same routes as inside the whole config, where near-misses of the shared shapes
// (same URI but ignoreUriCase, a header match, a rewrite, destination header changes, a Host header,
// a weighted split) sit next to the shared ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Route, RouteTable } from '../../core/snapshot.js';
import { HTTP_GATEWAY_YAML, compileYaml } from '../simulate/support.js';

const SERVICE_ENTRIES = ['a', 'b'].map((s) => `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${s}, namespace: default}
spec:
  hosts: [${s}.example.internal]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.0.1}]
`).join('');

function vs(name: string, http: string): string {
  return `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${name}.com]
  gateways: [istio-system/gw]
  http:
${http}`;
}

const to = (svc: string): string => `{destination: {host: ${svc}.example.internal, port: {number: 80}}}`;

const VIRTUAL_SERVICES = [
  vs('plain1', `  - {name: p, match: [{uri: {prefix: /api/}}], route: [${to('a')}]}\n  - {name: q, match: [{uri: {exact: /x}}], route: [${to('b')}]}\n  - {name: all, route: [${to('a')}]}\n`),
  vs('plain2', `  - {name: p, match: [{uri: {prefix: /api/}}], route: [${to('a')}]}\n  - {name: q, match: [{uri: {exact: /x}}], route: [${to('b')}]}\n  - {name: all, route: [${to('a')}]}\n`),
  vs('nocase', `  - {name: p, match: [{uri: {prefix: /API/}, ignoreUriCase: true}], route: [${to('a')}]}\n  - {name: p2, match: [{uri: {prefix: /api/}, ignoreUriCase: true}], route: [${to('a')}]}\n`),
  vs('header', `  - {name: p, match: [{uri: {prefix: /api/}, headers: {x-v: {exact: "1"}}}], route: [${to('a')}]}\n`),
  vs('method', `  - {name: p, match: [{uri: {prefix: /api/}, method: {exact: GET}}], route: [${to('a')}]}\n`),
  vs('regex', `  - {name: p, match: [{uri: {regex: "/r/[0-9]+"}}], route: [${to('a')}]}\n  - {name: p2, match: [{uri: {regex: "/r/[a-z]+"}}], route: [${to('a')}]}\n`),
  vs('rewrite', `  - {name: p, match: [{uri: {prefix: /api/}}], rewrite: {uri: /v2/}, route: [${to('a')}]}\n`),
  vs('authority', `  - {name: p, match: [{uri: {prefix: /api/}}], headers: {request: {set: {host: up.example}}}, route: [${to('a')}]}\n`),
  vs('desthdr', `  - {name: p, match: [{uri: {prefix: /api/}}], route: [{destination: {host: a.example.internal, port: {number: 80}}, headers: {request: {set: {x-d: "1"}}}}]}\n`),
  vs('split', `  - {name: p, match: [{uri: {prefix: /api/}}], route: [{destination: {host: a.example.internal, port: {number: 80}}, weight: 30}, {destination: {host: b.example.internal, port: {number: 80}}, weight: 70}]}\n`),
  vs('routehdr', `  - {name: p, match: [{uri: {prefix: /api/}}], headers: {response: {add: {x-r: "1"}}}, route: [${to('a')}]}\n`),
];

function routesOf(tables: Readonly<Record<string, RouteTable>>): Map<string, readonly Route[]> {
  const out = new Map<string, readonly Route[]>();
  for (const t of Object.values(tables)) for (const vh of t.virtualHosts) out.set(`${t.name} ${vh.name}`, vh.routes);
  return out;
}

test('routes that share match lists and forward actions equal the routes each VirtualService compiles to alone', () => {
  const whole = compileYaml(HTTP_GATEWAY_YAML + SERVICE_ENTRIES + VIRTUAL_SERVICES.join(''));
  const all = routesOf(whole.body.routeTables);
  for (const one of VIRTUAL_SERVICES) {
    const alone = routesOf(compileYaml(HTTP_GATEWAY_YAML + SERVICE_ENTRIES + one).body.routeTables);
    for (const [key, routes] of alone) {
      if (key.endsWith('blackhole:80')) continue;
      assert.deepEqual(all.get(key), routes, `${key}: same routes as compiled alone`);
    }
  }
  // The common shapes are shared (one object for all their routes), the others are not.
  const [p1, q1, all1] = all.get('http.80 plain1.com:80') as Route[];
  const [p2, q2, all2] = all.get('http.80 plain2.com:80') as Route[];
  assert.ok(p1 && q1 && all1 && p2 && q2 && all2);
  assert.equal(p1.match, p2.match, 'prefix /api/ match list shared');
  assert.equal(q1.match, q2.match, 'exact /x match list shared');
  assert.notEqual(p1.match, q1.match);
  assert.equal(p1.action, p2.action, 'forward to a alone shared');
  assert.equal(p1.action, all1.action, 'the same cluster, the same action');
  assert.notEqual(p1.action, q1.action);
  const nocase = all.get('http.80 nocase.com:80') as Route[];
  assert.notEqual(nocase[0]?.match, p1.match, 'ignoreUriCase is part of the match');
  assert.equal(nocase[0]?.match, nocase[1]?.match, '/API/ and /api/ ignoring case are one match');
  // Route-level header changes live on the Route, so routehdr shares both (and still differs, above).
  for (const name of ['header', 'method', 'rewrite', 'authority', 'desthdr', 'split']) {
    const [r] = all.get(`http.80 ${name}.com:80`) as Route[];
    assert.ok(r);
    assert.ok(r.match !== p1.match || r.action !== p1.action, `${name}: not both shared with the plain route`);
  }
});
