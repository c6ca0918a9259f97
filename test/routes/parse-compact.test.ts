// The parsed config is compacted as it is read (routes/compact-values.ts: arrays copied to exact length,
// short strings shared per file). What the rest of Gatehouse reads must be exactly yaml's own toJS,
// aliases included, and a `__proto__` key must stay an ordinary key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { parseManifests } from '../../routes/parse.js';

const FILE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: one, namespace: ns, labels: {app: web, tier: "1"}}
spec:
  hosts: &hosts [a.example.com, b.example.com]
  gateways: [istio-system/gw, mesh]
  http:
  - name: r0
    match: [{uri: {prefix: /api/v0/}}, {headers: {x-v: {exact: "2"}}, queryParams: {q: {regex: "[0-9]+"}}}]
    route: [{destination: {host: svc0, port: {number: 80}}, weight: 60}, {destination: {host: svc1}, weight: 40}]
    retries: {attempts: 3, retryOn: "5xx,reset"}
  - name: default
    route: [{destination: {host: svc0}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: two, namespace: ns, annotations: {__proto__: polluted, note: "r0"}}
spec:
  hosts: [a.example.com]
  exportTo: ["."]
  http:
  - name: r0
    match: [{uri: {prefix: /api/v0/}}]
    route: [{destination: {host: svc0, port: {number: 80}}}]
    empty: []
    nested: [[1, 2, [3]], [], {list: [null, true, 1.5, "s"]}]
`;

test('parsed resources equal yaml toJS, with aliases still one value and __proto__ an ordinary key', () => {
  const parsed = parseManifests([{ path: 'vs.yaml', text: FILE }], { defaultNamespace: 'default' });
  assert.deepEqual(parsed.diagnostics, []);
  const expected = parseAllDocuments(FILE).map((d) => (Array.isArray(d) ? undefined : d.toJS()));
  assert.equal(parsed.resources.length, 2);
  parsed.resources.forEach((r, i) => assert.deepEqual(r.object, expected[i], `document ${i}`));
  const two = parsed.resources[1]?.object as unknown as { metadata: { annotations: Record<string, string> } };
  const annotations = two.metadata.annotations;
  assert.equal(Object.getPrototypeOf(annotations), Object.prototype);
  assert.deepEqual(Object.keys(annotations), ['__proto__', 'note']);
  assert.equal(Object.getOwnPropertyDescriptor(annotations, '__proto__')?.value, 'polluted');
});

test('an alias of a sequence within a document stays one array after compaction', () => {
  const text = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: g, namespace: ns}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: &h ["*.example.com", "example.com"]
  - port: {number: 8080, name: http2, protocol: HTTP}
    hosts: *h
`;
  const parsed = parseManifests([{ path: 'gw.yaml', text }], { defaultNamespace: 'default' });
  const servers = (parsed.resources[0]?.object as unknown as { spec: { servers: { hosts: string[] }[] } }).spec.servers;
  assert.deepEqual(servers[0]?.hosts, ['*.example.com', 'example.com']);
  assert.equal(servers[0]?.hosts, servers[1]?.hosts, 'both servers hold the one aliased array');
});

test('documents read one at a time are the documents parseAllDocuments finds: markers, directives, errors, empty ones', () => {
  const vsDoc = (name: string): string => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ${name}, namespace: ns}\nspec: {hosts: [${name}.com]}\n`;
  const files = [
    `${vsDoc('a')}---\n${vsDoc('b')}...\n---\n# only a comment\n---\n${vsDoc('c')}`,
    `%YAML 1.2\n---\n${vsDoc('d')}...\n%TAG !e! tag:example.com,2000:\n---\n${vsDoc('e')}`,
    `${vsDoc('f')}---\nspec: {hosts: [unclosed\n---\n${vsDoc('g')}---\nkey: [1, 2]\n  bad indent: 3\n---\n${vsDoc('h')}`,
    '',
    '# nothing but a comment\n',
    `--- ${vsDoc('i').replace(/\n/g, '\n    ').trimEnd()}\n`,
  ];
  files.forEach((text, f) => {
    const parsed = parseManifests([{ path: `f${f}.yaml`, text }], { defaultNamespace: 'default' });
    const documents = parseAllDocuments(text, { prettyErrors: false, merge: true });
    const docs = Array.isArray(documents) ? documents : [];
    const expected: { doc: number; object: unknown }[] = [];
    let errors = 0;
    docs.forEach((d, i) => {
      errors += d.errors.length;
      const object: unknown = d.errors.length === 0 ? d.toJS() : null;
      if (object !== null && object !== undefined) expected.push({ doc: i, object });
    });
    const got = parsed.resources.map((r) => ({ doc: r.origin.doc, object: r.object as unknown }));
    assert.deepEqual(got, expected, `file ${f}: same resources from the same documents`);
    assert.equal(parsed.diagnostics.filter((d) => d.code === 'GH_CFG_YAML').length, errors, `file ${f}: one diagnostic per YAML error`);
  });
});
