// Incremental builds equal builds from scratch. A series of edits (VirtualService modified, added,
// removed; DestinationRule subset; ServiceEntry port; Gateway server; Secret added and rotated; a file
// added ahead of the others so read order shifts) is applied twice: through the directory source's parse
// cache with each build given the live snapshot (unchanged resources keep their objects, so hashes,
// validation results and routes are reused), and from a fresh parse with no previous snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { buildSnapshot } from '../../control/build.js';
import { ParseCache, sha256 } from '../../control/sources/parse-cache.js';
import { dumpSnapshot } from '../../core/snapshot.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { ManifestFile } from '../../routes/parse.js';
import { parseManifests } from '../../routes/parse.js';
import { createCA, issueLeaf, tlsSecretYaml } from '../support/pki.js';
import { compileOptions, demoFiles, edit } from './demo-manifests.js';

const SECOND_VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: demo}
spec:
  hosts: [api.example.com]
  gateways: [istio-system/demo-gateway, istio-system/extra-gateway]
  http:
  - name: v3-only
    match: [{uri: {prefix: /v3}}]
    route: [{destination: {host: demo-app, subset: v3}}]
  - name: rest
    route: [{destination: {host: demo-app, subset: v1}}]
`;

const EXTRA_GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: extra-gateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 9090, name: http-extra, protocol: HTTP}
    hosts: ["*"]
`;

const EARLY_VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: early, namespace: demo}
spec:
  hosts: ["*"]
  gateways: [istio-system/demo-gateway]
  http:
  - name: early-status
    match: [{uri: {exact: /status}}]
    directResponse: {status: 204}
`;

/** Without version and build time, which differ between any two builds. */
function comparable(snapshot: Snapshot): string {
  const { version: _v, builtAt: _b, ...rest } = snapshot;
  return dumpSnapshot(rest);
}

function put(files: readonly ManifestFile[], path: string, text: string): ManifestFile[] {
  const others = files.filter((f) => f.path !== path);
  return [...others, { path, text }].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function remove(files: readonly ManifestFile[], path: string): ManifestFile[] {
  assert.ok(files.some((f) => f.path === path), `${path} is there to remove`);
  return files.filter((f) => f.path !== path);
}

function fromScratch(files: readonly ManifestFile[]): Snapshot {
  const parsed = parseManifests(files, { defaultNamespace: 'default' });
  const result = buildSnapshot(parsed.resources, parsed.diagnostics, compileOptions, undefined);
  assert.equal(result.ok, true, `full build: ${JSON.stringify(result).slice(0, 1500)}`);
  return (result as { snapshot: Snapshot }).snapshot;
}

/** The route named `name` in the HTTPS route table. */
function routeNamed(snapshot: Snapshot, name: string): object {
  const [table] = Object.keys(snapshot.routeTables).filter((t) => t.startsWith('https.'));
  for (const vh of snapshot.routeTables[table ?? '']?.virtualHosts ?? []) {
    const route = vh.routes.find((r) => r.name === name);
    if (route) return route;
  }
  assert.fail(`route ${name} not in ${table}`);
}

test('a series of edits built incrementally equals each configuration built from scratch', () => {
  const ca = createCA('incremental-build');
  try {
    const secretPath = 'examples/demo/secret.yaml';
    const secret = (hosts: string[]) => tlsSecretYaml('demo-localhost-tls', 'istio-system', issueLeaf(ca, hosts));
    const vsPath = 'examples/demo/virtualservice.yaml';
    const steps: { what: string; change: (f: ManifestFile[]) => ManifestFile[]; reused?: string; vhostReused?: string }[] = [
      { what: 'VirtualService weight', change: (f) => edit(edit(f, vsPath, 'weight: 90', 'weight: 80'), vsPath, 'weight: 10', 'weight: 20') },
      { what: 'VirtualService added', change: (f) => put(f, 'examples/demo/vs-api.yaml', SECOND_VS), reused: 'healthz' },
      {
        what: 'DestinationRule subset added',
        change: (f) => edit(f, 'destinationrule.yaml', '    - name: v2\n', '    - name: v3\n      labels:\n        version: v3\n    - name: v2\n'),
        reused: 'healthz',
        vhostReused: 'api.example.com:443',
      },
      { what: 'Secret added', change: (f) => put(f, secretPath, secret(['localhost'])), reused: 'healthz', vhostReused: 'api.example.com:443' },
      {
        what: 'Gateway server added',
        change: (f) => edit(f, 'gateway.yaml', '    - port:\n        number: 443', '    - port:\n        number: 8080\n        name: http-alt\n        protocol: HTTP\n      hosts:\n        - "*"\n    - port:\n        number: 443'),
        reused: 'healthz',
      },
      { what: 'Secret rotated', change: (f) => put(f, secretPath, secret(['localhost', 'demo.example.com'])), reused: 'healthz' },
      { what: 'Gateway added (a missing reference now resolves)', change: (f) => put(f, 'examples/demo/gateway-extra.yaml', EXTRA_GATEWAY), reused: 'healthz' },
      {
        what: 'ServiceEntry port added',
        change: (f) => edit(f, 'serviceentry.yaml', '      protocol: HTTP\n', '      protocol: HTTP\n    - number: 8081\n      name: http-alt\n      protocol: HTTP\n'),
      },
      { what: 'file added ahead of all others (read order shifts)', change: (f) => put(f, 'examples/demo/aaa-early.yaml', EARLY_VS) },
      { what: 'VirtualService removed', change: (f) => remove(f, 'examples/demo/vs-api.yaml'), reused: 'healthz' },
      { what: 'VirtualService edit reverted', change: (f) => edit(edit(f, vsPath, 'weight: 80', 'weight: 90'), vsPath, 'weight: 20', 'weight: 10') },
    ];

    const cache = new ParseCache('default', 0);
    const viaCache = (files: readonly ManifestFile[]) =>
      cache.parse(files.map((f) => ({ rel: f.path, display: f.path, text: f.text, hash: sha256(f.text) })));
    let files = demoFiles();
    // Every configuration's full build first: full builds in between would leave their own resource lists
    // in the build's caches (validation window, digest text, route environment) and hide those paths.
    const configs: ManifestFile[][] = [files];
    for (const step of steps) configs.push(step.change(configs[configs.length - 1] as ManifestFile[]));
    const scratch = configs.map((c) => {
      const s = fromScratch(c);
      return { dump: comparable(s), hash: s.hash };
    });
    let first = viaCache(files);
    let live = buildSnapshot(first.resources, first.diagnostics, compileOptions, undefined);
    assert.equal(live.ok, true);
    let snapshot = (live as { snapshot: Snapshot }).snapshot;
    assert.equal(comparable(snapshot), scratch[0]?.dump, 'first build');

    for (const [i, step] of steps.entries()) {
      files = configs[i + 1] as ManifestFile[];
      first = viaCache(files);
      const result = buildSnapshot(first.resources, first.diagnostics, compileOptions, snapshot);
      assert.equal(result.ok, true, `${step.what}: ${JSON.stringify(result).slice(0, 1500)}`);
      const next = (result as { snapshot: Snapshot }).snapshot;
      assert.equal(next.version, snapshot.version + 1, step.what);
      const expected = scratch[i + 1];
      assert.equal(comparable(next), expected?.dump, `after "${step.what}" the incremental snapshot differs from a full build`);
      assert.equal(next.hash, expected?.hash, step.what);
      if (step.reused) {
        // The unchanged VirtualService's route is the previous snapshot's own object, not a rebuilt copy.
        assert.equal(routeNamed(next, step.reused), routeNamed(snapshot, step.reused), `${step.what}: route reused`);
      }
      if (step.vhostReused) {
        const vhost = (s: Snapshot) => Object.values(s.routeTables).flatMap((t) => t.virtualHosts).find((v) => v.name === step.vhostReused);
        assert.ok(vhost(next), `${step.what}: ${step.vhostReused} exists`);
        assert.equal(vhost(next), vhost(snapshot), `${step.what}: virtual host reused`);
      }
      snapshot = next;
    }
  } finally {
    rmSync(ca.dir, { recursive: true, force: true });
  }
});

test('routes of an unchanged VirtualService are rebuilt when a ServiceEntry changes what they resolve to', () => {
  const files = demoFiles();
  const cache = new ParseCache('default', 0);
  const viaCache = (fs: readonly ManifestFile[]) => cache.parse(fs.map((f) => ({ rel: f.path, display: f.path, text: f.text, hash: sha256(f.text) })));
  const p1 = viaCache(files);
  const r1 = buildSnapshot(p1.resources, p1.diagnostics, compileOptions, undefined);
  assert.equal(r1.ok, true);
  const s1 = (r1 as { snapshot: Snapshot }).snapshot;
  // The service's only port moves from 80 to 8080: a destination without a port now names another cluster.
  const moved = edit(files, 'serviceentry.yaml', '    - number: 80\n', '    - number: 8080\n');
  const p2 = viaCache(moved);
  const r2 = buildSnapshot(p2.resources, p2.diagnostics, compileOptions, s1);
  assert.equal(r2.ok, true);
  const s2 = (r2 as { snapshot: Snapshot }).snapshot;
  const clustersOf = (s: Snapshot) => JSON.stringify(Object.values(s.routeTables).flatMap((t) => t.virtualHosts.flatMap((v) => v.routes.map((r) => r.action))));
  assert.notEqual(clustersOf(s2), clustersOf(s1));
  assert.equal(comparable(s2), comparable(fromScratch(moved)));
});
