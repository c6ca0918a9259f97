// 10,000 hosts and 50,000 routes must compile well inside the reload budget. The bound here is loose
// (shared CI machines), but any quadratic scan over VirtualServices per server or per host blows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, Located, Origin } from '../../routes/model/resource.js';
import { compileSnapshot } from '../../routes/compile/index.js';
import { findVirtualHost, matchRoute } from '../../routes/match.js';
import { DEFAULT_OPTIONS } from '../simulate/support.js';

function located(object: KubeObject, order: number): Located {
  const source = { file: 'scale.yaml', line: order + 1, col: 1 };
  const origin: Origin = { file: 'scale.yaml', doc: order, order, source, at: () => source };
  return { object, origin };
}

test('10,000 hosts and 50,000 routes compile in bounded time, and route correctly', () => {
  const resources: Located[] = [];
  let order = 0;
  const hosts = Array.from({ length: 10_000 }, (_, i) => `h${i}.example.com`);
  resources.push(located({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'istio-system' },
    spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts }] } }, order++));
  for (let i = 0; i < 10_000; i++) {
    const http = Array.from({ length: 5 }, (_, j) => ({
      name: `r${j}`,
      match: [{ uri: { prefix: `/p${j}` }, headers: { 'x-version': { regex: 'v[0-9]+' } } }],
      route: [{ destination: { host: `svc${i % 500}`, port: { number: 8080 } } }],
    }));
    resources.push(located({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: `vs${i}`, namespace: `ns${i % 50}` },
      spec: { hosts: [`h${i}.example.com`], gateways: ['istio-system/gw'], http } }, order++));
  }
  for (let s = 0; s < 500; s++) {
    for (let n = 0; n < 50; n++) {
      resources.push(located({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: `svc${s}`, namespace: `ns${n}` },
        spec: { hosts: [`svc${s}.ns${n}.svc.cluster.local`], resolution: 'STATIC', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], endpoints: [{ address: `10.${n}.${s >> 8}.${s & 255}` }] } }, order++));
    }
  }
  const started = process.hrtime.bigint();
  const result = compileSnapshot(resources, DEFAULT_OPTIONS);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const table = result.body.routeTables['http.80'];
  assert.ok(table);
  assert.equal(table.virtualHosts.length, 10_000);
  assert.equal(table.virtualHosts.reduce((n, v) => n + v.routes.length, 0), 50_000);
  assert.equal(Object.keys(result.body.clusters).length, 500, 'one cluster per (service, namespace) referenced');
  const vh = findVirtualHost(table, 'h4321.example.com');
  const route = vh && matchRoute(vh, { host: 'h4321.example.com', path: '/p3/x', query: '', method: 'GET', scheme: 'http', port: 80, headers: { 'x-version': 'v2' } });
  assert.equal(route?.name, 'r3');
  assert.equal(route?.action.type === 'forward' ? route.action.destinations[0]?.cluster : undefined, 'outbound|8080||svc321.ns21.svc.cluster.local');
  assert.equal(result.diagnostics.length, 0);
  // All VirtualServices share one regex source: compiled once.
  const regexes = new Set(table.virtualHosts.flatMap((v) => v.routes.map((r) => r.match[0]?.headers[0]?.match)).map((m) => (m?.kind === 'regex' ? m.re : undefined)));
  assert.equal(regexes.size, 1);
  console.log(`# compile of 10,000 hosts / 50,000 routes: ${ms.toFixed(0)} ms`);
});
