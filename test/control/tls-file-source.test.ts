// The source that reads DestinationRule tls file paths: it learns them from the rules other sources hold,
// emits each file as a reserved Secret (or its read error), and emits again when a file appears or changes,
// including in a directory that did not exist at first (it cannot be watched until it exists).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SourceUpdate } from '../../control/source.js';
import { createTlsFileSource } from '../../control/sources/tls-files.js';
import { TLS_FILE_ERROR_ANNOTATION, tlsFileSecretName } from '../../routes/compile/tls-files.js';
import type { SecretResource } from '../../routes/model/index.js';
import type { Located } from '../../routes/model/resource.js';
import { waitFor } from '../support/wait.js';

function rule(name: string, tls: Record<string, unknown>): Located {
  const source = { file: 'rules.yaml', line: 1, col: 1 };
  return {
    object: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name, namespace: 'shop' }, spec: { host: `${name}.shop.svc.cluster.local`, trafficPolicy: { tls } } },
    origin: { file: 'rules.yaml', doc: 0, order: 0, source, at: () => source },
  };
}

function secretFor(update: SourceUpdate | undefined, path: string): SecretResource | undefined {
  return update?.resources.find((r) => r.object.metadata.name === tlsFileSecretName(path))?.object as SecretResource | undefined;
}

test('file paths from DestinationRules become reserved Secrets; a file in a directory created later is picked up', async () => {
  const base = mkdtempSync(join(tmpdir(), 'gatehouse-tls-file-source-'));
  const present = join(base, 'ca.pem');
  const later = join(base, 'later', 'client.pem');
  writeFileSync(present, 'CA TEXT\n');
  const updates: SourceUpdate[] = [];
  const source = createTlsFileSource({ namespace: 'istio-system', pollMs: 50, settleMs: 10, log: () => undefined });
  source.observe?.(0, [
    rule('a', { mode: 'MUTUAL', caCertificates: present, clientCertificate: later, privateKey: later }),
    // credentialName wins: its paths are never read.
    rule('b', { mode: 'SIMPLE', credentialName: 'x', caCertificates: join(base, 'ignored.pem') }),
  ]);
  await source.start((u) => updates.push(u));
  assert.equal(updates.length, 1, 'one full set before start resolves');
  assert.deepEqual(updates[0]?.resources.map((r) => r.object.metadata.namespace), ['istio-system', 'istio-system']);
  assert.equal(secretFor(updates[0], present)?.stringData?.['file'], 'CA TEXT\n');
  assert.match(secretFor(updates[0], later)?.metadata.annotations?.[TLS_FILE_ERROR_ANNOTATION] ?? '', /does not exist/);
  assert.equal(secretFor(updates[0], join(base, 'ignored.pem')), undefined);

  mkdirSync(join(base, 'later'));
  writeFileSync(later, 'CLIENT TEXT\n');
  await waitFor(() => secretFor(updates.at(-1), later)?.stringData?.['file'] === 'CLIENT TEXT\n', { what: 'the late file to be read' });

  writeFileSync(present, 'NEW CA TEXT\n');
  await waitFor(() => secretFor(updates.at(-1), present)?.stringData?.['file'] === 'NEW CA TEXT\n', { what: 'the changed file to be read' });

  source.observe?.(0, []);
  await waitFor(() => updates.at(-1)?.resources.length === 0, { what: 'no Secrets once no rule names a file' });
  await source.stop();
});
