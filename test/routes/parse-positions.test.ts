// Positions found by parsing a resource's document again (no YAML tree is kept after parsing): they must
// be the positions in the whole file, whatever came before the document, and survive directives that
// only the whole file carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests } from '../../routes/parse.js';

function lineOf(text: string, marker: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `marker ${marker} not in text`);
  return i + 1;
}

test('fields of a later document are located in the file, after block scalars and CRLF lines of earlier ones', () => {
  const text = [
    'apiVersion: v1',
    'kind: Secret',
    'metadata: {name: first}',
    'stringData:',
    '  note: |',
    '    line one',
    '    line two',
    '',
    '    line four',
    '---\r',
    '# a comment before the second document\r',
    'apiVersion: networking.istio.io/v1',
    'kind: VirtualService',
    'metadata:',
    '  name: second',
    'spec:',
    '  hosts: [a.example.com]',
    '  http:',
    '  - route:',
    '    - destination: {host: b, port: {number: 80}} # target',
    '      weight: 7',
    '',
  ].join('\n');
  const { resources, diagnostics } = parseManifests([{ path: 'f.yaml', text }], { defaultNamespace: 'default' });
  assert.deepEqual(diagnostics, []);
  const vs = resources[1];
  assert.equal(vs?.object.metadata.name, 'second');
  assert.deepEqual(vs?.origin.source, { file: 'f.yaml', line: lineOf(text, 'apiVersion: networking'), col: 1 });
  assert.deepEqual(vs?.origin.at('spec.http[0].route[0].weight'), { file: 'f.yaml', line: lineOf(text, 'weight: 7'), col: 7 });
  assert.deepEqual(vs?.origin.at('spec.http[0].route[0].destination.port.number'), {
    file: 'f.yaml',
    line: lineOf(text, '# target'),
    col: text.split('\n')[lineOf(text, '# target') - 1]!.indexOf('number') + 1,
  });
  // Asked twice (the tree is cached weakly, or parsed again): the same answer.
  assert.deepEqual(vs?.origin.at('spec.hosts[0]'), vs?.origin.at('spec.hosts[0]'));
  assert.equal(vs?.origin.at('spec.hosts[0]').line, lineOf(text, 'hosts: [a.example.com]'));
});

test('a document that needs the file\'s %TAG directive is located through the whole file', () => {
  const text = [
    '%TAG !k! tag:example.com,2000:',
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata: {name: tagged}',
    'spec:',
    '  ports:',
    '  - port: !k!int 80',
    '    name: http',
    '',
  ].join('\n');
  const { resources } = parseManifests([{ path: 't.yaml', text }], { defaultNamespace: 'default' });
  const svc = resources[0];
  assert.equal(svc?.object.metadata.name, 'tagged');
  assert.deepEqual(svc?.origin.at('spec.ports[0].name'), { file: 't.yaml', line: lineOf(text, 'name: http'), col: 5 });
});
