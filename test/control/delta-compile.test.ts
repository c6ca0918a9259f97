// Delta compiles (routes/compile/route-delta.ts) equal full compiles. A configuration made to stress what
// a delta patches: hosts shared by several VirtualServices whose merge order is their age (not read
// order), wildcard hosts, one route table with two servers (one a redirect server with hosts of its own),
// two HTTPS tables of the same Gateway and port (routes built once per scope), a second Gateway, clusters
// whose first referrer changes (their warnings point at it), unused VirtualServices, delegate routes
// (their warnings are reported per table in visiting order). Every expected snapshot is built from scratch
// first; then the same edits go through the parse cache, each build given the live snapshot, and each
// result must equal its full build (dump and hash) and, where the Gateways did not change, be a delta.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, compileStats } from '../../control/build.js';
import { ParseCache, sha256 } from '../../control/sources/parse-cache.js';
import { dumpSnapshot } from '../../core/snapshot.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { ManifestFile } from '../../routes/parse.js';
import { parseManifests } from '../../routes/parse.js';
import { compileOptions } from './demo-manifests.js';

const GATEWAYS = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/*.example.com"]
  - port: {number: 80, name: http-redirect, protocol: HTTP}
    hosts: ["*/redirect.example.org", "*/only-redirect.example.org"]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https-a, protocol: HTTPS}
    hosts: ["*/a.example.com"]
    tls: {mode: SIMPLE, credentialName: not-there}
  - port: {number: 443, name: https-b, protocol: HTTPS}
    hosts: ["*/shared.example.com"]
    tls: {mode: SIMPLE, credentialName: not-there}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw2, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http-alt, protocol: HTTP}
    hosts: ["*"]
`;

const SERVICES = [1, 2, 3]
  .map(
    (i) => `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc${i}, namespace: demo}
spec:
  hosts: [svc${i}.demo.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.0.${i}}]
`,
  )
  .join('');

function vs(name: string, created: string, hosts: string[], gateways: string[], routes: string): string {
  return `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: demo, creationTimestamp: "${created}"}
spec:
  hosts: [${hosts.join(', ')}]
  gateways: [${gateways.join(', ')}]
  http:
${routes}`;
}

const to = (host: string, prefix?: string) =>
  `  - ${prefix ? `match: [{uri: {prefix: ${prefix}}}]\n    ` : ''}route: [{destination: {host: ${host}}}]\n`;

const GW = 'istio-system/gw';
const GW2 = 'istio-system/gw2';

const VS_A =
  vs('vs1', '2024-01-01T00:00:00Z', ['a.example.com', 'shared.example.com'], [GW], to('svc1', '/one') + to('svc2')) +
  vs('vs2', '2023-06-01T00:00:00Z', ['shared.example.com'], [GW], to('svc2', '/two')) +
  vs('vs3', '2024-02-01T00:00:00Z', ['b.example.com'], [GW, GW2], to('missing.demo.svc.cluster.local')) +
  vs('vs4', '2024-03-01T00:00:00Z', ['nomatch.other.org'], [GW], to('svc1'));

const VS_B =
  vs('vs5', '2024-04-01T00:00:00Z', ['"*.example.com"'], [GW], to('svc3', '/wild') + to('svc3')) +
  vs('vs6', '2024-05-01T00:00:00Z', ['redirect.example.org'], [GW], to('svc2')) +
  vs('vs8', '2024-06-01T00:00:00Z', ['shared.example.com', 'a.example.com'], [GW], `  - name: delegated\n    delegate: {name: elsewhere}\n${to('svc1', '/eight')}`);

const VS_EARLY = vs('vs7', '2020-01-01T00:00:00Z', ['c.example.com'], [GW, GW2], to('missing.demo.svc.cluster.local', '/seven'));

function change(files: readonly ManifestFile[], path: string, from: string, into: string): ManifestFile[] {
  return files.map((f) => {
    if (f.path !== path) return f;
    assert.ok(f.text.includes(from), `${path} contains ${JSON.stringify(from)}`);
    return { path, text: f.text.replace(from, into) };
  });
}

function put(files: readonly ManifestFile[], path: string, text: string): ManifestFile[] {
  return [...files.filter((f) => f.path !== path), { path, text }].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function comparable(snapshot: Snapshot): string {
  const { version: _v, builtAt: _b, ...rest } = snapshot;
  return dumpSnapshot(rest);
}

export const DELTA_STEPS: { what: string; change: (f: ManifestFile[]) => ManifestFile[]; delta: boolean }[] = [
  { what: 'a route of vs1 edited', change: (f) => change(f, 'vs-a.yaml', 'prefix: /one', 'prefix: /uno'), delta: true },
  { what: 'vs2 gains a host of its own (host added)', change: (f) => change(f, 'vs-a.yaml', 'hosts: [shared.example.com]', 'hosts: [shared.example.com, c.example.com]'), delta: true },
  { what: 'vs2 loses it again (host removed)', change: (f) => change(f, 'vs-a.yaml', 'hosts: [shared.example.com, c.example.com]', 'hosts: [shared.example.com]'), delta: true },
  { what: 'vs3 moves from gw to gw2 only', change: (f) => change(f, 'vs-a.yaml', `gateways: [${GW}, ${GW2}]\n  http:\n  - route: [{destination: {host: missing`, `gateways: [${GW2}]\n  http:\n  - route: [{destination: {host: missing`), delta: true },
  { what: 'vs3 routes to a known service (the missing cluster goes)', change: (f) => change(f, 'vs-a.yaml', 'host: missing.demo.svc.cluster.local}', 'host: svc1}'), delta: true },
  { what: 'vs3 back to the missing host, on both Gateways', change: (f) => change(change(f, 'vs-a.yaml', `gateways: [${GW2}]`, `gateways: [${GW}, ${GW2}]`), 'vs-a.yaml', 'name: vs3, namespace: demo, creationTimestamp: "2024-02-01T00:00:00Z"}\nspec:\n  hosts: [b.example.com]\n  gateways: [istio-system/gw, istio-system/gw2]\n  http:\n  - route: [{destination: {host: svc1}}]', 'name: vs3, namespace: demo, creationTimestamp: "2024-02-01T00:00:00Z"}\nspec:\n  hosts: [b.example.com]\n  gateways: [istio-system/gw, istio-system/gw2]\n  http:\n  - route: [{destination: {host: missing.demo.svc.cluster.local}}]'), delta: true },
  { what: 'an older VirtualService naming the missing host in a file read first (new first referrer)', change: (f) => put(f, 'a-early.yaml', VS_EARLY), delta: true },
  { what: 'it goes (the first referrer falls back to vs3)', change: (f) => f.filter((x) => x.path !== 'a-early.yaml'), delta: true },
  { what: 'vs4 now names a.example.com (unused no more; shares a host with vs1 and vs8)', change: (f) => change(f, 'vs-a.yaml', 'hosts: [nomatch.other.org]', 'hosts: [a.example.com]'), delta: true },
  { what: 'vs1 made older than vs2 (merge order on the shared host flips)', change: (f) => change(f, 'vs-a.yaml', 'name: vs1, namespace: demo, creationTimestamp: "2024-01-01T00:00:00Z"', 'name: vs1, namespace: demo, creationTimestamp: "2023-01-01T00:00:00Z"'), delta: true },
  { what: 'the delegate route of vs8 edited (its warnings move)', change: (f) => change(f, 'vs-b.yaml', 'delegate: {name: elsewhere}', 'delegate: {name: elsewhere2}'), delta: true },
  { what: 'the older vs1 gains a delegate route too (its warning goes before vs8\'s)', change: (f) => change(f, 'vs-a.yaml', '  - match: [{uri: {prefix: /uno}}]', '  - name: delegated-too\n    delegate: {name: other}\n  - match: [{uri: {prefix: /uno}}]'), delta: true },
  { what: 'vs6 leaves the redirect host (it stays, routeless, for the redirect server)', change: (f) => change(f, 'vs-b.yaml', 'hosts: [redirect.example.org]', 'hosts: [only-redirect.example.org]'), delta: true },
  { what: 'the wildcard vs5 removed', change: (f) => change(f, 'vs-b.yaml', VS_B.slice(0, VS_B.indexOf('---', 3)), ''), delta: true },
  { what: 'two VirtualServices edited in two files at once', change: (f) => change(change(f, 'vs-a.yaml', 'prefix: /two', 'prefix: /deux'), 'vs-b.yaml', 'prefix: /eight', 'prefix: /huit'), delta: true },
  { what: 'a document added ahead (every later read order shifts)', change: (f) => put(f, 'a-early.yaml', vs('vs9', '2024-07-01T00:00:00Z', ['d.example.com'], [GW], to('svc2'))), delta: true },
  { what: 'vs2 hidden from the gateway (exportTo another namespace)', change: (f) => change(f, 'vs-a.yaml', 'hosts: [shared.example.com]\n  gateways', 'exportTo: [elsewhere]\n  hosts: [shared.example.com]\n  gateways'), delta: true },
  { what: 'a Gateway server added (a full compile)', change: (f) => change(f, 'gateway.yaml', '    hosts: ["*"]\n', '    hosts: ["*"]\n  - port: {number: 9090, name: http-more, protocol: HTTP}\n    hosts: ["*/*.example.com"]\n'), delta: false },
  { what: 'after the full compile, a delta again', change: (f) => change(f, 'vs-a.yaml', 'prefix: /uno', 'prefix: /un'), delta: true },
  { what: 'vs2 visible again', change: (f) => change(f, 'vs-a.yaml', 'exportTo: [elsewhere]\n  ', ''), delta: true },
];

test('delta compiles over a series of edits equal full compiles, dump and hash', () => {
  const initial: ManifestFile[] = [
    { path: 'gateway.yaml', text: GATEWAYS },
    { path: 'services.yaml', text: SERVICES },
    { path: 'vs-a.yaml', text: VS_A },
    { path: 'vs-b.yaml', text: VS_B },
  ];
  // Every configuration of the series, and its full build, first: full builds in between would leave
  // their own resource lists in the build's caches and hide the incremental paths.
  const configs: ManifestFile[][] = [initial];
  for (const step of DELTA_STEPS) configs.push(step.change(configs[configs.length - 1] as ManifestFile[]));
  const expected = configs.map((files, i) => {
    const parsed = parseManifests(files, { defaultNamespace: 'default' });
    const result = buildSnapshot(parsed.resources, parsed.diagnostics, compileOptions, undefined);
    assert.equal(result.ok, true, `config ${i}: ${JSON.stringify(result).slice(0, 1200)}`);
    const snapshot = (result as { snapshot: Snapshot }).snapshot;
    return { dump: comparable(snapshot), hash: snapshot.hash, snapshot };
  });
  // The series covers what the delta patches.
  const warnings = new Set(expected.flatMap((e) => e.snapshot.diagnostics.map((d) => d.code)));
  for (const code of ['GH_CFG_HOST_NOT_FOUND', 'GH_CFG_UNUSED', 'GH_CFG_UNSUPPORTED']) assert.ok(warnings.has(code), `some configuration warns ${code}`);

  const cache = new ParseCache('default', 0);
  const viaCache = (files: readonly ManifestFile[]) => cache.parse(files.map((f) => ({ rel: f.path, display: f.path, text: f.text, hash: sha256(f.text) })));
  let parsed = viaCache(initial);
  let result = buildSnapshot(parsed.resources, parsed.diagnostics, compileOptions, undefined);
  let live = (result as { snapshot: Snapshot }).snapshot;
  assert.equal(comparable(live), expected[0]?.dump);
  DELTA_STEPS.forEach((step, i) => {
    parsed = viaCache(configs[i + 1] as ManifestFile[]);
    result = buildSnapshot(parsed.resources, parsed.diagnostics, compileOptions, live);
    assert.equal(result.ok, true, `${step.what}: ${JSON.stringify(result).slice(0, 1200)}`);
    const next = (result as { snapshot: Snapshot }).snapshot;
    assert.equal(comparable(next), expected[i + 1]?.dump, `after "${step.what}" the incremental snapshot differs from a full build`);
    assert.equal(next.hash, expected[i + 1]?.hash, `${step.what}: hash`);
    assert.equal(compileStats(next)?.delta, step.delta, `${step.what}: a delta compile`);
    live = next;
  });
});
