// parseManifests: documents → located resources, with diagnostics for what cannot be read, and
// origin.at() pointing at the exact line and column of any field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldPath, parseFieldPath, parseManifests } from '../../routes/parse.js';
import type { ManifestFile } from '../../routes/parse.js';

/** Template literals start on the line after the backtick, so line 1 is the first line of YAML. */
function yaml(text: string): string {
  return text.replace(/^\n/, '');
}

/** 1-based line of the first line containing `marker`, so tests name lines by content, not by count. */
function lineOf(text: string, marker: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `marker ${marker} not in text`);
  return i + 1;
}

const opts = { defaultNamespace: 'default' };

test('multi-document files: --- separators, empty documents skipped, read order across files', () => {
  const a = yaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: g1}
---
---
# only a comment
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: g2, namespace: edge}
`);
  const b = yaml(`
---
apiVersion: v1
kind: Service
metadata: {name: s1}
spec: {ports: [{port: 80}]}
`);
  const files: ManifestFile[] = [
    { path: 'a.yaml', text: a },
    { path: 'b.yaml', text: b },
  ];
  const { resources, diagnostics } = parseManifests(files, { defaultNamespace: 'default', orderBase: 100 });
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(
    resources.map((r) => [r.origin.file, r.origin.doc, r.origin.order, r.object.kind, r.object.metadata.namespace, r.object.metadata.name]),
    [
      ['a.yaml', 0, 100, 'Gateway', 'default', 'g1'],
      ['a.yaml', 3, 101, 'Gateway', 'edge', 'g2'],
      ['b.yaml', 0, 102, 'Service', 'default', 's1'],
    ],
  );
  assert.deepEqual(resources[1]?.origin.source, { file: 'a.yaml', line: lineOf(a, 'name: g2') - 2, col: 1 });
  assert.equal(resources[2]?.origin.source.line, 2);
});

test('kind: List expands into its items, each located at its own item', () => {
  const text = yaml(`
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: first}
- apiVersion: v1
  kind: Service
  metadata:
    name: second
    namespace: apps
  spec:
    ports:
    - port: 8080 # second-port
metadata:
  resourceVersion: ""
`);
  const { resources, diagnostics } = parseManifests([{ path: 'list.yaml', text }], opts);
  assert.deepEqual(diagnostics, []);
  assert.equal(resources.length, 2);
  const [first, second] = resources;
  assert.equal(first?.object.metadata.name, 'first');
  assert.deepEqual(first?.origin.source, { file: 'list.yaml', line: lineOf(text, 'name: first') - 2, col: 3 });
  assert.equal(second?.object.metadata.namespace, 'apps');
  assert.deepEqual(second?.origin.source, { file: 'list.yaml', line: lineOf(text, 'name: second') - 3, col: 3 });
  assert.deepEqual(second?.origin.at('spec.ports[0].port'), { file: 'list.yaml', line: lineOf(text, 'second-port'), col: 7 });
  assert.notEqual(first?.origin.order, second?.origin.order);
  assert.equal(first?.origin.doc, 0);
  assert.equal(second?.origin.doc, 0);
});

test('a YAML syntax error is reported at its line and column; other documents and files still parse', () => {
  const bad = yaml(`
apiVersion: v1
kind: Service
metadata: {name: before}
---
apiVersion: v1
kind: Service
metadata:
  name: broken
  labels: {app: [unclosed
---
apiVersion: v1
kind: Service
metadata: {name: after}
`);
  const good = yaml(`
apiVersion: v1
kind: Service
metadata: {name: other-file}
`);
  const { resources, diagnostics } = parseManifests(
    [
      { path: 'bad.yaml', text: bad },
      { path: 'good.yaml', text: good },
    ],
    opts,
  );
  assert.deepEqual(
    resources.map((r) => r.object.metadata.name),
    ['before', 'after', 'other-file'],
  );
  assert.ok(diagnostics.length >= 1);
  for (const d of diagnostics) {
    assert.equal(d.code, 'GH_CFG_YAML');
    assert.equal(d.severity, 'error');
    assert.equal(d.source?.file, 'bad.yaml');
    assert.match(d.message, /^YAML syntax error: \S/);
    // The error is inside the broken document, not in the ones around it.
    assert.ok((d.source?.line ?? 0) >= lineOf(bad, 'name: broken') && (d.source?.line ?? 0) <= lineOf(bad, 'name: after'), `line ${d.source?.line}`);
  }
});

test('a duplicate key is a YAML error at the second key', () => {
  const text = yaml(`
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {}
spec: {}
`);
  const { resources, diagnostics } = parseManifests([{ path: 'dup.yaml', text }], opts);
  assert.equal(resources.length, 0);
  assert.equal(diagnostics.length, 1);
  assert.equal(diagnostics[0]?.code, 'GH_CFG_YAML');
  assert.equal(diagnostics[0]?.source?.line, 5);
});

test('envelope checks: no kind, unknown kind, unaccepted apiVersion, missing name', () => {
  const cases: Array<{ name: string; text: string; code: string; severity: string; line: number; message: RegExp }> = [
    { name: 'no kind', text: 'apiVersion: v1\nmetadata: {name: x}\n', code: 'GH_CFG_NO_KIND', severity: 'error', line: 1, message: /no kind/ },
    { name: 'kind not a string', text: 'apiVersion: v1\nkind: [Service]\nmetadata: {name: x}\n', code: 'GH_CFG_NO_KIND', severity: 'error', line: 2, message: /no kind/ },
    { name: 'no apiVersion', text: 'kind: Service\nmetadata: {name: x}\n', code: 'GH_CFG_NO_KIND', severity: 'error', line: 1, message: /no apiVersion/ },
    { name: 'scalar document', text: 'just text\n', code: 'GH_CFG_NO_KIND', severity: 'error', line: 1, message: /not a mapping/ },
    {
      name: 'unknown kind',
      text: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n',
      code: 'GH_CFG_UNKNOWN_KIND',
      severity: 'info',
      line: 1,
      message: /Deployment.*ignored/,
    },
    {
      name: 'wrong apiVersion for a known kind',
      text: 'kind: Gateway\napiVersion: gateway.networking.k8s.io/v1\nmetadata: {name: x}\n',
      code: 'GH_CFG_VALUE',
      severity: 'error',
      line: 2,
      message: /networking\.istio\.io\/v1, networking\.istio\.io\/v1beta1, networking\.istio\.io\/v1alpha3/,
    },
    { name: 'no metadata.name', text: 'apiVersion: v1\nkind: Service\nmetadata:\n  namespace: a\n', code: 'GH_CFG_NAME', severity: 'error', line: 3, message: /metadata\.name/ },
    { name: 'no metadata', text: 'apiVersion: v1\nkind: Service\n', code: 'GH_CFG_NAME', severity: 'error', line: 1, message: /metadata\.name/ },
  ];
  for (const c of cases) {
    const { resources, diagnostics } = parseManifests([{ path: 'c.yaml', text: c.text }], opts);
    assert.equal(resources.length, 0, c.name);
    assert.equal(diagnostics.length, 1, `${c.name}: ${JSON.stringify(diagnostics)}`);
    const d = diagnostics[0];
    assert.equal(d?.code, c.code, c.name);
    assert.equal(d?.severity, c.severity, c.name);
    assert.equal(d?.source?.line, c.line, c.name);
    assert.match(d?.message ?? '', c.message, c.name);
  }
});

test('object is plain data with metadata normalised; Secret data stays base64 as written', () => {
  const text = yaml(`
apiVersion: v1
kind: Secret
metadata:
  name: cert
type: kubernetes.io/tls
data:
  tls.crt: aGVsbG8=
`);
  const { resources } = parseManifests([{ path: 's.yaml', text }], { defaultNamespace: 'istio-system' });
  const secret = resources[0]?.object;
  assert.deepEqual(JSON.parse(JSON.stringify(secret)), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'cert', namespace: 'istio-system' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': 'aGVsbG8=' },
  });
});

test('origin.at(): keys, list items, quoted keys, fallbacks to the nearest ancestor and the document', () => {
  const text = yaml(`
# leading comment
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs
  labels:
    "app.kubernetes.io/name": shop
spec:
  hosts: [a.example.com, b.example.com]
  http:
  - match:
    - headers:
        x-canary:
          exact: "true"
      uri: {prefix: /api}
    route:
    - destination: {host: a}
    - destination:
        host: b
      weight: 50
`);
  const { resources } = parseManifests([{ path: 'vs.yaml', text }], opts);
  const at = resources[0]?.origin.at.bind(resources[0]?.origin);
  assert.ok(at);
  const cases: Array<[string, number, number]> = [
    ['', 2, 1],
    ['kind', 3, 1],
    ['metadata.name', 5, 3],
    ['metadata.labels["app.kubernetes.io/name"]', 7, 5],
    ['spec.hosts[1]', 9, 26],
    ['spec.http[0]', 11, 5],
    ['spec.http[0].match[0].headers["x-canary"].exact', 14, 11],
    ['spec.http[0].match[0].headers.x-canary.exact', 14, 11],
    ['spec.http[0].match[0].uri.prefix', 15, 13],
    ['spec.http[0].route[0].destination.host', 17, 21],
    ['spec.http[0].route[1]', 18, 7],
    ['spec.http[0].route[1].weight', 20, 7],
    // Missing fields fall back to the nearest existing ancestor.
    ['spec.http[0].route[1].headers.request', 18, 7],
    ['spec.http[3].route', 10, 3],
    ['spec.gateways[0]', 8, 1],
    ['nothing.here', 2, 1],
  ];
  for (const [path, line, col] of cases) {
    assert.deepEqual(at(path), { file: 'vs.yaml', line, col }, path);
  }
});

test('fieldPath and parseFieldPath are inverses, quoting keys that are not identifiers', () => {
  const cases: Array<[Array<string | number>, string]> = [
    [['spec', 'http', 0, 'route', 1, 'weight'], 'spec.http[0].route[1].weight'],
    [['metadata', 'labels', 'app.kubernetes.io/name'], 'metadata.labels["app.kubernetes.io/name"]'],
    [['spec', 'http', 0, 'match', 0, 'headers', 'x-canary', 'exact'], 'spec.http[0].match[0].headers.x-canary.exact'],
    [['data', 'tls.crt'], 'data["tls.crt"]'],
    [['ports', '80'], 'ports["80"]'],
    [['a', 'with "quote"'], 'a["with \\"quote\\""]'],
    [[], ''],
  ];
  for (const [segments, path] of cases) {
    assert.equal(fieldPath(segments), path);
    assert.deepEqual(parseFieldPath(path), segments, path);
  }
  assert.deepEqual(parseFieldPath('spec.http[0].match[0].headers["x-canary"].exact'), ['spec', 'http', 0, 'match', 0, 'headers', 'x-canary', 'exact']);
});

test('a file of thousands of documents parses whole, and the last document\'s positions are exact', () => {
  const doc = (i: number): string =>
    `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs-${i}}\nspec:\n  hosts: [h${i}.example.com]\n  http:\n  - route:\n    - destination: {host: svc-${i}}\n`;
  const text = Array.from({ length: 3000 }, (_, i) => doc(i)).join('---\n');
  const { resources, diagnostics } = parseManifests([{ path: 'big.yaml', text }], opts);
  assert.equal(diagnostics.length, 0);
  assert.equal(resources.length, 3000);
  assert.equal(resources[2999]?.origin.at('spec.http[0].route[0].destination.host').line, 2999 * 9 + 8);
});
