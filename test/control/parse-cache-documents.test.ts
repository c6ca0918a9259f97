// An edit inside one document of a many-document file re-parses that document only: the parse cache's
// output still equals a fresh parse of the whole file (objects, read orders, documents, positions of
// every field asked, origins' JSON, diagnostics), and the other documents keep their very objects. Edits
// the shortcut cannot take (a `---` line, a changed line count, directives, a document that reports
// something) parse the whole file, with the same result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseCache, sha256 } from '../../control/sources/parse-cache.js';
import type { Located } from '../../routes/model/resource.js';
import { parseManifests } from '../../routes/parse.js';

const vs = (i: number, prefix = `/p${i}`) => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs${i}, namespace: ns}
spec:
  hosts: [h${i}.example.com]
  gateways: [istio-system/gw]
  http:
  - match: [{uri: {prefix: ${prefix}}}]
    route:
    - destination: {host: svc${i}}
`;

const LIST = `---
apiVersion: v1
kind: List
items:
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata: {name: dr-a, namespace: ns}
  spec: {host: svc1}
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata: {name: dr-b, namespace: ns}
  spec: {host: svc2}
`;

const FILE = `# leading comment\n${vs(0)}${vs(1)}${LIST}${vs(2)}${vs(3)}`;

const PATHS = ['', 'spec.hosts', 'spec.http[0].match[0].uri.prefix', 'spec.http[0].route[0].destination.host', 'items', 'spec.host', 'metadata.name'];

function project(resources: readonly Located[]): unknown {
  return resources.map((r) => ({
    object: r.object,
    order: r.origin.order,
    file: r.origin.file,
    doc: r.origin.doc,
    source: r.origin.source,
    at: PATHS.map((p) => r.origin.at(p)),
    json: JSON.parse(JSON.stringify(r.origin)) as unknown,
  }));
}

test('edits through the parse cache equal a fresh parse; an edit inside one document re-parses only it', () => {
  const cache = new ParseCache('default', 7);
  const read = (text: string) => cache.parse([{ rel: 'a.yaml', display: 'cfg/a.yaml', text: 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n', hash: 'x' }, { rel: 'b.yaml', display: 'cfg/b.yaml', text, hash: sha256(text) }]);
  const fresh = (text: string) =>
    parseManifests(
      [
        { path: 'cfg/a.yaml', text: 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n' },
        { path: 'cfg/b.yaml', text },
      ],
      { defaultNamespace: 'default', orderBase: 7 },
    );
  const steps: { what: string; edit: (t: string) => string; onlyDocument: boolean }[] = [
    { what: 'a route prefix in a middle document, same lines', edit: (t) => t.replace('prefix: /p1}', 'prefix: /p1-longer}'), onlyDocument: true },
    { what: 'the last document', edit: (t) => t.replace('svc3}', 'svc33}'), onlyDocument: true },
    { what: 'an item of a List document', edit: (t) => t.replace('spec: {host: svc2}', 'spec: {host: svc22}'), onlyDocument: true },
    { what: 'the first document after a leading comment', edit: (t) => t.replace('prefix: /p0}', 'prefix: /zero}'), onlyDocument: true },
    { what: 'a line added inside a document (later lines move)', edit: (t) => t.replace('  gateways: [istio-system/gw]\n  http:\n  - match: [{uri: {prefix: /p1', '  gateways: [istio-system/gw]\n  exportTo: ["*"]\n  http:\n  - match: [{uri: {prefix: /p1'), onlyDocument: false },
    { what: 'a document split in two by a new `---` line', edit: (t) => t.replace(vs(2), `${vs(2)}${vs(4)}`), onlyDocument: false },
    { what: 'a List item added (one more resource, later orders shift)', edit: (t) => t.replace('  spec: {host: svc22}\n', '  spec: {host: svc22}\n- {apiVersion: networking.istio.io/v1, kind: DestinationRule, metadata: {name: dr-c, namespace: ns}, spec: {host: svc3}}\n'.replace('\n-', '\n-')), onlyDocument: false },
    { what: 'a document turned into an unknown kind (a diagnostic)', edit: (t) => t.replace('kind: VirtualService\nmetadata: {name: vs3', 'kind: Whatever\nmetadata: {name: vs3'), onlyDocument: false },
    { what: 'the unknown kind reverted (the file had a diagnostic: whole file)', edit: (t) => t.replace('kind: Whatever\nmetadata: {name: vs3', 'kind: VirtualService\nmetadata: {name: vs3'), onlyDocument: false },
    { what: 'a YAML error in one document', edit: (t) => t.replace('prefix: /p4}', 'prefix: [/p4}'), onlyDocument: false },
    { what: 'the YAML error fixed', edit: (t) => t.replace('prefix: [/p4}', 'prefix: /p4}'), onlyDocument: false },
    { what: 'an edit with the same line count again after all that', edit: (t) => t.replace('svc4}', 'svc44}'), onlyDocument: true },
    { what: 'a %YAML directive added', edit: (t) => `%YAML 1.2\n${t}`, onlyDocument: false },
    { what: 'an edit in a file with a directive', edit: (t) => t.replace('svc44}', 'svc4}'), onlyDocument: false },
  ];
  let text = FILE;
  let before = read(text);
  assert.deepEqual(project(before.resources), project(fresh(text).resources));
  for (const step of steps) {
    const next = step.edit(text);
    assert.notEqual(next, text, `${step.what}: the edit applies`);
    text = next;
    const got = read(text);
    const want = fresh(text);
    assert.deepEqual(project(got.resources), project(want.resources), `${step.what}: resources as a fresh parse`);
    assert.deepEqual(got.diagnostics, want.diagnostics, `${step.what}: diagnostics as a fresh parse`);
    assert.equal(cache.last.documents, step.onlyDocument ? 1 : 0, `${step.what}: only the document re-parsed`);
    if (step.onlyDocument) {
      const kept = got.resources.filter((r) => before.resources.some((b) => b.object === r.object));
      assert.equal(kept.length, got.resources.length - (step.what.includes('List') ? 2 : 1), `${step.what}: other documents keep their objects`);
    }
    before = got;
  }
});
