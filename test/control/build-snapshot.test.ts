import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, canonicalJson } from '../../control/build.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { ManifestFile } from '../../routes/parse.js';
import { parseManifests } from '../../routes/parse.js';
import { compileOptions, demoFiles, edit } from './demo-manifests.js';

function build(files: readonly ManifestFile[], previous: Snapshot | undefined, options = compileOptions) {
  const parsed = parseManifests(files, { defaultNamespace: 'default' });
  return buildSnapshot(parsed.resources, parsed.diagnostics, options, previous);
}

function published(result: ReturnType<typeof build>): Snapshot {
  assert.equal(result.ok, true, `expected a snapshot, got ${JSON.stringify(result, null, 1).slice(0, 2000)}`);
  return (result as { snapshot: Snapshot }).snapshot;
}

test('the demo builds into a frozen, versioned snapshot; identical input is unchanged', () => {
  const first = published(build(demoFiles(), undefined));
  assert.equal(first.version, 1);
  assert.match(first.hash, /^[0-9a-f]{64}$/);
  assert.ok(Math.abs(Date.parse(first.builtAt) - Date.now()) < 60_000);
  assert.ok(first.listeners.length >= 2, 'ports 80 and 443');
  assert.ok(first.diagnostics.every((d) => d.severity === 'warning'), 'only warnings ride along');

  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.listeners) && Object.isFrozen(first.clusters));
  assert.throws(() => {
    (first as { version: number }).version = 99;
  }, TypeError);
  assert.throws(() => {
    (first.listeners as unknown as unknown[]).push({});
  }, TypeError);

  // Parsed afresh (new objects), with comments and key order changed: still the same configuration.
  const reordered = edit(demoFiles(), 'destinationrule.yaml', 'metadata:\n  name: demo-app\n  namespace: demo', 'metadata:\n  namespace: demo # moved\n  name: demo-app');
  assert.deepEqual(build(reordered, first), { ok: 'unchanged' });
});

test('versions increase by one per built snapshot, and a rejection leaves the previous one as it was', () => {
  const v1 = published(build(demoFiles(), undefined));
  const changed = edit(demoFiles(), 'virtualservice.yaml', 'weight: 90', 'weight: 80');
  const v2 = published(build(edit(changed, 'virtualservice.yaml', 'weight: 10', 'weight: 20'), v1));
  assert.equal(v2.version, 2);
  assert.notEqual(v2.hash, v1.hash);
  const before = JSON.stringify(v2);

  // A validation error (a weight that is not a number) rejects the candidate with a located diagnostic.
  const bad = edit(demoFiles(), 'virtualservice.yaml', 'weight: 90', 'weight: ninety');
  const rejected = build(bad, v2);
  assert.equal(rejected.ok, false);
  const errors = (rejected as { diagnostics: readonly { severity: string; source?: { file: string } }[] }).diagnostics.filter(
    (d) => d.severity === 'error',
  );
  assert.ok(errors.length > 0);
  assert.ok(errors.some((d) => d.source?.file === 'examples/demo/virtualservice.yaml'), 'the error points at the file');
  assert.equal(JSON.stringify(v2), before, 'previous snapshot untouched');

  // The next good build continues from the live version.
  const v3 = published(build(demoFiles(), v2));
  assert.equal(v3.version, 3);
  assert.equal(v3.hash, v1.hash, 'same input as v1, same hash');
});

test('source errors reject even when every parsed resource is valid', () => {
  const files = [...demoFiles(), { path: 'examples/demo/broken.yaml', text: 'kind: [unclosed\n' }];
  const result = build(files, undefined);
  assert.equal(result.ok, false);
  assert.ok((result as { diagnostics: readonly { code: string }[] }).diagnostics.some((d) => d.code === 'GH_CFG_YAML'));
});

test('different compile options are a different configuration', () => {
  const first = published(build(demoFiles(), undefined));
  const other = build(demoFiles(), first, { ...compileOptions, domainSuffix: 'corp.example' });
  assert.notEqual(other.ok, 'unchanged');
  // `now` changes on every build and is not part of the configuration.
  assert.deepEqual(build(demoFiles(), first, { ...compileOptions, now: new Date(0) }), { ok: 'unchanged' });
});

test('canonicalJson sorts keys at every level and keeps array order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null, e: undefined } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

// The input hash is a sha256 of this text: any change to it changes every snapshot's hash. The expected
// text is what the first implementation (map/filter/sort/join per level) wrote for the same value.
test('canonicalJson keeps its text for many keys, integer-like keys, holes, non-finite numbers, dates and escapes', () => {
  const holes: unknown[] = [1, , 3];
  holes[5] = 'x';
  const value = {
    zeta: 1,
    alpha: { '10': 'a', '2': 'b', b: [NaN, Infinity, -0, 1.5e300, undefined, null], a: true },
    mid: holes,
    é: 'ü\u0001"\\',
    Z: new Date(0),
    '': { y: 2, x: 1, w: 0, v: -1 },
  };
  assert.equal(
    canonicalJson(value),
    '{"":{"v":-1,"w":0,"x":1,"y":2},"Z":"1970-01-01T00:00:00.000Z","alpha":{"10":"a","2":"b","a":true,"b":[null,null,0,1.5e+300,null,null]},"mid":[1,,3,,,"x"],"zeta":1,"é":"ü\\u0001\\"\\\\"}',
  );
});
