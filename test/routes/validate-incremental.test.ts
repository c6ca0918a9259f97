// Validation with its memo looks only at the resources between the unchanged head and tail of the list
// (and re-runs a cross-resource rule over everything only when that window holds a kind the rule reads).
// Over a series of edits through the directory source's parse cache, its diagnostics equal a validation
// of a fresh parse without any memo: own findings in head and tail, duplicates appearing and going,
// gateway and subset references breaking and resolving, read orders shifting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseCache, sha256 } from '../../control/sources/parse-cache.js';
import { parseManifests } from '../../routes/parse.js';
import type { ManifestFile } from '../../routes/parse.js';
import { createValidationMemo, validateResources } from '../../routes/validate/index.js';

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`;

const RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr, namespace: ns}
spec:
  host: svc1
  subsets:
  - name: v1
    labels: {version: v1}
`;

const vs = (i: number, extra = '') => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs${i}, namespace: ns}
spec:
  hosts: [h${i}.example.com]
  gateways: [gw]
  http:
  - route:
    - destination: {host: svc${i}}${extra}
`;

const many = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => vs(from + k)).join('');

function replace(files: ManifestFile[], path: string, from: string, to: string): ManifestFile[] {
  return files.map((f) => {
    if (f.path !== path) return f;
    assert.ok(f.text.includes(from), `${path} contains ${from}`);
    return { path, text: f.text.replace(from, to) };
  });
}

function put(files: ManifestFile[], path: string, text: string): ManifestFile[] {
  return [...files.filter((f) => f.path !== path), { path, text }].sort((a, b) => (a.path < b.path ? -1 : 1));
}

test('validation with its memo over a series of edits equals validation of a fresh parse', () => {
  const steps: { what: string; change: (f: ManifestFile[]) => ManifestFile[] }[] = [
    { what: 'an unknown field in a middle document (own finding)', change: (f) => replace(f, 'b-vs.yaml', 'host: svc12}', 'host: svc12}\n      bogus: 1') },
    { what: 'another edit in the tail file, the finding stays', change: (f) => replace(f, 'c-vs.yaml', 'host: svc25}', 'host: svc26}') },
    { what: 'a subset no rule defines', change: (f) => replace(f, 'c-vs.yaml', 'host: svc21}', 'host: svc21, subset: v9}') },
    { what: 'a gateway reference to a missing Gateway', change: (f) => replace(f, 'b-vs.yaml', 'name: vs15, namespace: ns}\nspec:\n  hosts: [h15.example.com]\n  gateways: [gw]', 'name: vs15, namespace: ns}\nspec:\n  hosts: [h15.example.com]\n  gateways: [gw, other]') },
    { what: 'the Gateway file removed (every reference breaks)', change: (f) => f.filter((x) => x.path !== 'a-gateway.yaml') },
    { what: 'the Gateway back', change: (f) => put(f, 'a-gateway.yaml', GATEWAY) },
    { what: 'the missing subset defined', change: (f) => replace(f, 'a-rule.yaml', 'host: svc1\n', 'host: svc21\n').map((x) => (x.path === 'a-rule.yaml' ? { path: x.path, text: x.text.replace('name: v1', 'name: v9') } : x)) },
    { what: 'a duplicate VirtualService in a new file', change: (f) => put(f, 'd-dup.yaml', vs(12)) },
    { what: 'an edit elsewhere while the duplicate is there', change: (f) => replace(f, 'c-vs.yaml', 'host: svc26}', 'host: svc27}') },
    { what: 'the duplicate renamed away', change: (f) => replace(f, 'd-dup.yaml', 'name: vs12,', 'name: vs99,') },
    { what: 'a duplicate made by renaming inside the window', change: (f) => replace(f, 'c-vs.yaml', 'name: vs23,', 'name: vs13,') },
    { what: 'and undone', change: (f) => replace(f, 'c-vs.yaml', 'name: vs13,', 'name: vs23,') },
    { what: 'a file added ahead of all (every order shifts)', change: (f) => put(f, '0-early.yaml', vs(50, '\n      alsoBogus: 2')) },
    { what: 'the unknown field fixed', change: (f) => replace(f, 'b-vs.yaml', 'host: svc12}\n      bogus: 1', 'host: svc12}') },
    { what: 'the early file removed', change: (f) => f.filter((x) => x.path !== '0-early.yaml') },
  ];
  let files: ManifestFile[] = [
    { path: 'a-gateway.yaml', text: GATEWAY },
    { path: 'a-rule.yaml', text: RULE },
    { path: 'b-vs.yaml', text: many(10, 20) },
    { path: 'c-vs.yaml', text: many(20, 30) },
  ];
  const cache = new ParseCache('default', 0);
  const memo = createValidationMemo();
  const viaCache = () => cache.parse(files.map((f) => ({ rel: f.path, display: f.path, text: f.text, hash: sha256(f.text) }))).resources;
  const fresh = () => validateResources(parseManifests(files, { defaultNamespace: 'default' }).resources);
  assert.deepEqual(validateResources(viaCache(), memo), fresh(), 'first validation');
  const seen = new Set<string>();
  for (const step of steps) {
    files = step.change(files);
    const got = validateResources(viaCache(), memo);
    const want = fresh();
    assert.deepEqual(got, want, `after "${step.what}"`);
    for (const d of want) seen.add(d.code);
  }
  // The series exercised every rule the window logic splices.
  for (const code of ['GH_CFG_UNKNOWN_FIELD', 'GH_CFG_DUPLICATE', 'GH_CFG_GATEWAY_NOT_FOUND', 'GH_CFG_SUBSET_NOT_FOUND']) {
    assert.ok([...seen].some((c) => c === code), `${code} appeared in some step (seen: ${[...seen].join(', ')})`);
  }
});

test('with two sources, findings in the second keep their place when the first gains or loses resources', () => {
  // The store lists each source's resources after the previous source's; the second source's objects
  // (and their Located) stay the same when the first changes size, so they are the unchanged tail.
  let first: ManifestFile[] = [{ path: 'a.yaml', text: `${GATEWAY}${many(1, 3)}` }];
  const second: ManifestFile[] = [{ path: 'z.yaml', text: `${vs(40, '\n      bogus: 1')}${many(41, 44)}` }];
  const cacheA = new ParseCache('default', 0);
  const cacheB = new ParseCache('default', 1000);
  const memo = createValidationMemo();
  const parse = (files: ManifestFile[], cache: ParseCache) => cache.parse(files.map((f) => ({ rel: f.path, display: f.path, text: f.text, hash: sha256(f.text) }))).resources;
  const fresh = () => [
    ...parseManifests(first, { defaultNamespace: 'default' }).resources,
    ...parseManifests(second, { defaultNamespace: 'default', orderBase: 1000 }).resources,
  ];
  const steps: { what: string; change: () => void }[] = [
    { what: 'the first source gains a VirtualService', change: () => (first = [{ path: 'a.yaml', text: `${first[0]?.text}${vs(5)}` }]) },
    { what: 'the second source edits the document with the finding', change: () => (second[0] = { path: 'z.yaml', text: (second[0]?.text ?? '').replace('host: svc40}', 'host: svc400}') }) },
    { what: 'the first source loses two', change: () => (first = [{ path: 'a.yaml', text: `${GATEWAY}${vs(1)}` }]) },
    { what: 'the second source again', change: () => (second[0] = { path: 'z.yaml', text: (second[0]?.text ?? '').replace('host: svc400}', 'host: svc4}') }) },
  ];
  assert.deepEqual(validateResources([...parse(first, cacheA), ...parse(second, cacheB)], memo), validateResources(fresh()));
  for (const step of steps) {
    step.change();
    const got = validateResources([...parse(first, cacheA), ...parse(second, cacheB)], memo);
    assert.deepEqual(got, validateResources(fresh()), `after "${step.what}"`);
    assert.equal(got.filter((d) => d.code === 'GH_CFG_UNKNOWN_FIELD').length, 1, `${step.what}: the one finding, once`);
  }
});
