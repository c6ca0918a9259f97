import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigStore } from '../../control/store.js';
import { parseManifests } from '../../routes/parse.js';
import { serviceEntry } from './updates.js';

function update(...names: string[]) {
  const parsed = parseManifests(
    names.map((n) => ({ path: `${n}.yaml`, text: serviceEntry(n) })),
    { defaultNamespace: 'default' },
  );
  return { resources: parsed.resources, diagnostics: parsed.diagnostics };
}

test('the merged view is the source slices in source order, whatever order updates arrive in', () => {
  const store = new ConfigStore(2);
  assert.deepEqual(store.merged(), { resources: [], diagnostics: [] });
  store.replace(1, update('secret'));
  store.replace(0, update('a', 'b'));
  const names = () => store.merged().resources.map((r) => r.object.metadata.name);
  assert.deepEqual(names(), ['a', 'b', 'secret']);
  store.replace(0, update('c'));
  assert.deepEqual(names(), ['c', 'secret'], 'a replace drops the slice it replaces');
  store.replace(1, { resources: [], diagnostics: [{ severity: 'error', code: 'GH_CFG_READ', message: 'gone' }] });
  assert.deepEqual(names(), ['c']);
  assert.equal(store.merged().diagnostics[0]?.code, 'GH_CFG_READ');
  assert.equal(store.revision, 4);
  assert.throws(() => store.replace(2, update('x')), RangeError);
});
