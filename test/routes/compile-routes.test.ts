import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ForwardAction, Route, RouteTable, VirtualHost } from '../../core/snapshot.js';
import { findVirtualHost } from '../../routes/match.js';
import { HTTP_GATEWAY_YAML, compileYaml } from '../simulate/support.js';

const GATEWAY = HTTP_GATEWAY_YAML;

function vs(name: string, body: string, extraMeta = ''): string {
  return `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
  namespace: default${extraMeta}
spec:
${body}`;
}

function table(yaml: string, name = 'http.80'): RouteTable {
  const r = compileYaml(yaml);
  const t = r.body.routeTables[name];
  assert.ok(t, `route table ${name} exists (have ${Object.keys(r.body.routeTables).join(', ')})`);
  return t;
}

function vhostRoutes(t: RouteTable, host: string): string[] {
  const vh = findVirtualHost(t, host) as VirtualHost;
  assert.ok(vh, `vhost for ${host}`);
  return vh.routes.map((r) => r.name);
}

test('VirtualServices on one host merge oldest first, then by read order, then by name', () => {
  const yaml =
    GATEWAY +
    vs('zeta', `  hosts: [a.com]\n  gateways: [istio-system/gw]\n  http:\n  - name: zeta\n    match: [{uri: {prefix: /z}}]\n    route: [{destination: {host: z}}]\n`, '\n  creationTimestamp: "2020-01-01T00:00:00Z"') +
    vs('alpha', `  hosts: [a.com]\n  gateways: [istio-system/gw]\n  http:\n  - name: alpha\n    match: [{uri: {prefix: /a}}]\n    route: [{destination: {host: a}}]\n`, '\n  creationTimestamp: "2021-01-01T00:00:00Z"') +
    vs('no-time-1', `  hosts: [a.com]\n  gateways: [istio-system/gw]\n  http:\n  - name: later\n    match: [{uri: {prefix: /l}}]\n    route: [{destination: {host: l}}]\n`) +
    vs('no-time-0', `  hosts: [a.com]\n  gateways: [istio-system/gw]\n  http:\n  - name: latest\n    match: [{uri: {prefix: /m}}]\n    route: [{destination: {host: m}}]\n`);
  // zeta is older than alpha; the two without timestamps come after, in read order.
  assert.deepEqual(vhostRoutes(table(yaml), 'a.com'), ['zeta', 'alpha', 'later', 'latest']);
});

test('catch-all routes move to the end of the merged vhost, keeping their relative order', () => {
  const yaml =
    GATEWAY +
    vs('first', `  hosts: [a.com]\n  gateways: [istio-system/gw]\n  http:\n  - name: first-all\n    route: [{destination: {host: f}}]\n`, '\n  creationTimestamp: "2020-01-01T00:00:00Z"') +
    vs('second', `  hosts: [a.com]\n  gateways: [istio-system/gw]\n  http:\n  - name: second-api\n    match: [{uri: {prefix: /api}}]\n    route: [{destination: {host: s}}]\n  - name: second-slash\n    match: [{uri: {prefix: /}}]\n    route: [{destination: {host: s}}]\n`, '\n  creationTimestamp: "2021-01-01T00:00:00Z"');
  assert.deepEqual(vhostRoutes(table(yaml), 'a.com'), ['second-api', 'first-all', 'second-slash']);
});

test('each match block is its own route; nothing after a catch-all block survives', () => {
  const yaml =
    GATEWAY +
    vs('v', `  hosts: [a.com]
  gateways: [istio-system/gw]
  http:
  - name: multi
    match:
    - uri: {prefix: /x}
      name: x
    - uri: {prefix: /}
    - uri: {prefix: /never}
    route: [{destination: {host: a}}]
  - name: unreachable
    route: [{destination: {host: b}}]
`);
  const t = table(yaml);
  const vh = findVirtualHost(t, 'a.com') as VirtualHost;
  assert.deepEqual(vh.routes.map((r) => r.name), ['multi.x', 'multi']);
  assert.equal(vh.routes[1]?.match[0]?.uri?.value, '/');
});

test('match blocks restricted to another gateway, port or source labels are dropped', () => {
  const yaml =
    GATEWAY +
    vs('v', `  hosts: [a.com]
  gateways: [istio-system/gw, mesh]
  http:
  - name: other-gw
    match: [{gateways: [mesh], uri: {prefix: /m}}]
    route: [{destination: {host: a}}]
  - name: this-gw
    match: [{gateways: [istio-system/gw], uri: {prefix: /g}}]
    route: [{destination: {host: a}}]
  - name: other-port
    match: [{port: 8080, uri: {prefix: /p}}]
    route: [{destination: {host: a}}]
  - name: this-port
    match: [{port: 80, uri: {prefix: /q}}]
    route: [{destination: {host: a}}]
  - name: other-labels
    match: [{sourceLabels: {app: sleep}, uri: {prefix: /s}}]
    route: [{destination: {host: a}}]
  - name: own-labels
    match: [{sourceLabels: {istio: ingressgateway}, uri: {prefix: /o}}]
    route: [{destination: {host: a}}]
`);
  assert.deepEqual(vhostRoutes(table(yaml), 'a.com'), ['this-gw', 'this-port', 'own-labels']);
});

test('unnamed routes are named <namespace>.<name>.<index>', () => {
  const yaml = GATEWAY + vs('v', `  hosts: [a.com]\n  gateways: [istio-system/gw]\n  http:\n  - match: [{uri: {exact: /one}}]\n    route: [{destination: {host: a}}]\n  - route: [{destination: {host: a}}]\n`);
  const vh = findVirtualHost(table(yaml), 'a.com') as VirtualHost;
  assert.deepEqual(vh.routes.map((r) => [r.name, r.virtualService]), [['default.v.0', 'default/v'], ['default.v.1', 'default/v']]);
});

test('VirtualService binding: gateway names, server host namespaces, exportTo, mesh-only', () => {
  const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["team-a/*.a.com", "./own.com", "*/shared.com"]
` +
    `---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: in-team-a, namespace: team-a}\nspec:\n  hosts: [x.a.com, shared.com]\n  gateways: [edge/gw]\n  http: [{route: [{destination: {host: a}}]}]\n` +
    `---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: in-team-b, namespace: team-b}\nspec:\n  hosts: [y.a.com]\n  gateways: [edge/gw]\n  http: [{route: [{destination: {host: b}}]}]\n` +
    `---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: own, namespace: edge}\nspec:\n  hosts: [own.com]\n  gateways: [gw]\n  http: [{route: [{destination: {host: o}}]}]\n` +
    `---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: private, namespace: team-a}\nspec:\n  hosts: [p.a.com]\n  gateways: [edge/gw]\n  exportTo: ["."]\n  http: [{route: [{destination: {host: p}}]}]\n` +
    `---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: exported, namespace: team-a}\nspec:\n  hosts: [e.a.com]\n  gateways: [edge/gw]\n  exportTo: [istio-system]\n  http: [{route: [{destination: {host: e}}]}]\n` +
    `---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: mesh-only, namespace: team-a}\nspec:\n  hosts: [m.a.com]\n  http: [{route: [{destination: {host: m}}]}]\n`;
  const t = table(yaml);
  const domains = t.virtualHosts.flatMap((v) => v.domains).sort();
  assert.deepEqual(domains, ['e.a.com', 'own.com', 'shared.com', 'x.a.com']);
});

test('Gateways apply only when their selector matches the workload labels', () => {
  const yaml = GATEWAY.replace('name: gw', 'name: other').replace('istio: ingressgateway', 'istio: egressgateway').replace('number: 80', 'number: 81') + '---\n' + GATEWAY;
  const r = compileYaml(yaml);
  assert.deepEqual(r.body.listeners.map((l) => l.port), [80]);
});

test('httpsRedirect servers produce requireTls vhosts even without VirtualServices; no server gives blackhole', () => {
  const redirect = compileYaml(GATEWAY.replace('hosts: ["*"]', 'hosts: ["a.com", "ns/b.com"]\n    tls: {httpsRedirect: true}'));
  const t = redirect.body.routeTables['http.80'] as RouteTable;
  assert.deepEqual(t.virtualHosts.map((v) => [v.name, v.requireTls, v.routes.length]), [['a.com:80', true, 0], ['b.com:80', true, 0]]);
  const empty = table(GATEWAY);
  assert.deepEqual(empty.virtualHosts.map((v) => [v.name, v.domains]), [['blackhole:80', ['*']]]);
  assert.equal(empty.catchAll, 0);
});

test('weights: single destination gets 100, weight-0 entries are dropped, others are relative', () => {
  const yaml = GATEWAY + vs('v', `  hosts: [a.com]
  gateways: [istio-system/gw]
  http:
  - match: [{uri: {prefix: /single}}]
    route: [{destination: {host: a}, weight: 0}]
  - route:
    - {destination: {host: a}, weight: 30}
    - {destination: {host: b}, weight: 0}
    - {destination: {host: c, subset: v2, port: {number: 8080}}, weight: 70}
`);
  const vh = findVirtualHost(table(yaml), 'a.com') as VirtualHost;
  const [single, split] = vh.routes.map((r) => r.action as ForwardAction);
  assert.deepEqual(single?.destinations.map((d) => [d.cluster, d.weight]), [['outbound|80||a.default.svc.cluster.local', 100]]);
  assert.equal(single?.totalWeight, 100);
  assert.deepEqual(split?.destinations.map((d) => [d.cluster, d.weight]), [
    ['outbound|80||a.default.svc.cluster.local', 30],
    ['outbound|8080|v2|c.default.svc.cluster.local', 70],
  ]);
  assert.equal(split?.totalWeight, 100);
});

test('actions: redirect, direct response, rewrite, header operations and timeout', () => {
  const yaml = GATEWAY + vs('v', `  hosts: [a.com]
  gateways: [istio-system/gw]
  http:
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: b.com, scheme: https, port: 443}
  - match: [{uri: {prefix: /keep}}]
    redirect: {uri: /k, derivePort: FROM_REQUEST_PORT, redirectCode: 308}
  - match: [{uri: {exact: /health}}]
    directResponse: {status: 503, body: {string: down}}
  - match: [{uri: {prefix: /tls}}]
    redirect: {derivePort: FROM_REQUEST_PORT, scheme: https}
  - match: [{uri: {prefix: /api}}]
    rewrite: {uri: /v2, authority: internal.svc}
    timeout: 1.5s
    headers:
      request: {set: {X-Env: prod, host: ignored}, add: {x-trace: "1"}, remove: [X-Debug]}
      response: {remove: [server]}
    route:
    - destination: {host: a}
      headers: {request: {set: {x-dest: a}}}
`);
  const vh = findVirtualHost(table(yaml), 'a.com') as VirtualHost;
  const [r0, r1, r2, r2b, r3] = vh.routes as Route[];
  assert.deepEqual(r2b?.action, { type: 'redirect', scheme: 'https', port: 80, code: 301 });
  // Port 443 is https's default: Istio leaves it out of the Location.
  assert.deepEqual(r0?.action, { type: 'redirect', uri: '/new', authority: 'b.com', scheme: 'https', code: 301 });
  // FROM_REQUEST_PORT is the server port, dropped here because it is http's default.
  assert.deepEqual(r1?.action, { type: 'redirect', uri: '/k', code: 308 });
  assert.deepEqual(r2?.action, { type: 'direct', status: 503, body: 'down' });
  const fwd = r3?.action as ForwardAction;
  assert.deepEqual(fwd.rewrite, { uri: '/v2', authority: 'internal.svc' });
  assert.equal(r3?.timeoutMs, 1500);
  assert.equal(r0?.timeoutMs, 0);
  assert.deepEqual(r3?.requestHeaders, { set: { 'x-env': 'prod' }, add: { 'x-trace': '1' }, remove: ['x-debug'] });
  assert.deepEqual(r3?.responseHeaders, { set: {}, add: {}, remove: ['server'] });
  assert.deepEqual(fwd.destinations[0]?.requestHeaders, { set: { 'x-dest': 'a' }, add: {}, remove: [] });
});

test('match translation: regex anchored and compiled once, presence and absence, ignoreUriCase not applied to regex', () => {
  const yaml = GATEWAY + vs('v', `  hosts: [a.com]
  gateways: [istio-system/gw]
  http:
  - match:
    - uri: {regex: "/items/[0-9]+"}
      ignoreUriCase: true
      headers: {X-Present: {}, x-exact: {exact: v}}
      withoutHeaders: {x-gone: {}, x-not-bad: {exact: bad}}
      queryParams: {q: {exact: "1"}, flag: {}}
      method: {exact: GET}
    route: [{destination: {host: a}}]
`);
  const m = (findVirtualHost(table(yaml), 'a.com') as VirtualHost).routes[0]?.match[0];
  assert.ok(m?.uri && m.uri.kind === 'regex');
  assert.equal(m.uri.re.source, '^(?:\\/items\\/[0-9]+)$');
  assert.equal(m.uri.re.flags, '', 'Envoy ignores case_sensitive for regex paths');
  assert.deepEqual(m.headers.map((h) => [h.name, h.match?.kind ?? null, h.absent ?? false]), [
    ['x-exact', 'exact', false],
    ['x-gone', null, true],
    ['x-not-bad', 'exact', true],
    ['x-present', null, false],
  ]);
  assert.deepEqual(m.queryParams.map((q) => [q.name, q.match?.value ?? null]), [['flag', null], ['q', '1']]);
  assert.equal(m.method?.value, 'GET');
});

test('conflicting protocols on a port: the first Gateway by name wins, the loser is reported', () => {
  const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: beta, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [foo.bar]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: alpha, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: tcp, protocol: TCP}
    hosts: [foo.bar]
`;
  const r = compileYaml(yaml);
  // alpha (TCP) sorts first and takes the port; Gatehouse does not serve TCP, so nothing listens.
  assert.deepEqual(r.body.listeners, []);
  // Plaintext servers merge only with the same protocol: GRPC after HTTP on one port loses.
  const mixed = compileYaml(GATEWAY + '---\n' + GATEWAY.replace('name: gw', 'name: zz').replace('protocol: HTTP', 'protocol: GRPC'));
  assert.ok(mixed.diagnostics.some((d) => d.code === 'GH_CFG_CONFLICT' && d.resource === 'Gateway/istio-system/zz'));
  const conflict = r.diagnostics.find((d) => d.code === 'GH_CFG_CONFLICT');
  assert.ok(conflict, 'a conflict diagnostic');
  assert.equal(conflict.resource, 'Gateway/default/beta');
  assert.equal(conflict.field, 'spec.servers[0].port');
  assert.ok(conflict.source && conflict.source.line > 1, 'points into the file');
});

test('HTTPS servers: one chain and one route table each, named as Istio names them', () => {
  const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https-a, protocol: HTTPS}
    hosts: [a.com]
    tls: {mode: SIMPLE, credentialName: a-cert}
  - port: {number: 443, name: https-b, protocol: HTTPS}
    hosts: [b.com, a.com]
    tls: {mode: SIMPLE, credentialName: b-cert}
  - port: {number: 443, name: https-c, protocol: HTTPS}
    hosts: [c.com]
    tls: {mode: MUTUAL, credentialName: c-cert, minProtocolVersion: TLSV1_3}
`;
  const r = compileYaml(yaml);
  const l = r.body.listeners[0];
  assert.equal(l?.protocol, 'HTTPS');
  assert.deepEqual(l?.filterChains.map((c) => [c.name, c.serverNames, c.routeTable, c.tls?.mode, c.tls?.minVersion, c.tls?.maxVersion]), [
    ['https.443.https-a.gw.default', ['a.com'], 'https.443.https-a.gw.default', 'SIMPLE', 'TLSv1.2', 'TLSv1.3'],
    ['https.443.https-c.gw.default', ['c.com'], 'https.443.https-c.gw.default', 'MUTUAL', 'TLSv1.3', 'TLSv1.3'],
  ]);
  assert.deepEqual(l?.filterChains[0]?.tls?.alpn, ['h2', 'http/1.1']);
  // a.com twice on one port: the later server is skipped whole (Istio), with a diagnostic naming it.
  assert.ok(r.diagnostics.some((d) => d.code === 'GH_CFG_CONFLICT' && d.field === 'spec.servers[1].hosts'));
  assert.equal(r.body.routeTables['https.443.https-b.gw.default'], undefined);
  // Secrets do not exist: warnings, and the chains refuse handshakes.
  assert.equal(l?.filterChains[0]?.tls?.secret, undefined);
  assert.ok(r.diagnostics.some((d) => d.code === 'GH_CFG_SECRET_NOT_FOUND'));
});

test('output does not depend on resource order where order has no meaning', () => {
  const docs = [
    GATEWAY,
    vs('a', `  hosts: [a.com]\n  gateways: [istio-system/gw]\n  http: [{route: [{destination: {host: a}}]}]\n`, '\n  creationTimestamp: "2020-01-01T00:00:00Z"').slice(4),
    vs('b', `  hosts: [b.com]\n  gateways: [istio-system/gw]\n  http: [{route: [{destination: {host: b}}]}]\n`, '\n  creationTimestamp: "2021-01-01T00:00:00Z"').slice(4),
  ];
  const one = compileYaml(docs.join('---\n'));
  const two = compileYaml([docs[2], docs[1], docs[0]].join('---\n'));
  assert.deepEqual(JSON.stringify(one.body.routeTables), JSON.stringify(two.body.routeTables));
  assert.deepEqual(Object.keys(one.body.clusters), Object.keys(two.body.clusters));
});
