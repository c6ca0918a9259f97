// The directory source's per-file parse cache: after any sequence of edits the emitted set equals a fresh
// full read of the same directory (orders, positions, diagnostics), and unchanged files keep their objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDirectorySource } from '../../control/sources/directory.js';
import type { SourceUpdate } from '../../control/source.js';
import { UpdateQueue, names, serviceEntry } from './updates.js';

const ORDER_BASE = 1000;

function project(u: SourceUpdate): unknown {
  return {
    resources: u.resources.map((r) => ({
      id: `${r.object.kind}/${r.object.metadata.namespace}/${r.object.metadata.name}`,
      order: r.origin.order,
      file: r.origin.file,
      doc: r.origin.doc,
      source: r.origin.source,
      hosts: r.origin.at('spec.hosts'),
      json: JSON.parse(JSON.stringify(r.origin)) as unknown,
    })),
    diagnostics: u.diagnostics.map((d) => ({
      severity: d.severity,
      code: d.code,
      message: d.message,
      at: d.source ? `${d.source.file}:${d.source.line}:${d.source.col}` : undefined,
    })),
  };
}

async function freshRead(dir: string): Promise<SourceUpdate> {
  const q = new UpdateQueue();
  const source = createDirectorySource(dir, { defaultNamespace: 'team-a', orderBase: ORDER_BASE });
  await source.start(q.emit);
  await source.stop();
  return q.all[0]!;
}

const list = (...items: string[]): string =>
  ['apiVersion: v1', 'kind: List', 'items:', ...items.map((n) => `  - ${serviceEntry(n).trimEnd().split('\n').join('\n    ')}`), ''].join('\n');
const unknownKind = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n';
const badYaml = 'apiVersion: v1\nkind: [unclosed\n';

test('after a sequence of edits the cached source emits what a fresh full read emits; unchanged files keep their objects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dircache-'));
  const q = new UpdateQueue();
  const source = createDirectorySource(dir, { defaultNamespace: 'team-a', orderBase: ORDER_BASE });
  try {
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'b.yaml'), serviceEntry('b1') + '---\n' + unknownKind + '---\n' + serviceEntry('b2'));
    writeFileSync(join(dir, 'm', 'c.yaml'), list('c1', 'c2', 'c3'));
    writeFileSync(join(dir, 'z.yaml'), serviceEntry('z1') + '---\n' + badYaml);
    await source.start(q.emit);
    let prev = q.all[0]!;
    assert.deepEqual(project(prev), project(await freshRead(dir)));
    assert.deepEqual(names(prev), ['b1', 'b2', 'c1', 'c2', 'c3', 'z1']);
    assert.ok(prev.diagnostics.some((d) => d.severity === 'error' && d.source?.file === join(dir, 'z.yaml')));
    assert.ok(prev.diagnostics.some((d) => d.severity === 'info' && d.source?.file === join(dir, 'b.yaml')));

    const byName = (u: SourceUpdate) => new Map(u.resources.map((r) => [r.object.metadata.name, r]));
    const steps: Array<{
      what: string;
      edit: () => void;
      expect: string[];
      /** names whose Located must be the very same object as in the previous update */
      same: string[];
      /** names whose parsed object (not necessarily the Located) must be the same */
      sameObject: string[];
    }> = [
      {
        what: 'an edit of the last file only',
        edit: () => writeFileSync(join(dir, 'z.yaml'), serviceEntry('z1', '\n  exportTo: ["."]') + '---\n' + badYaml),
        expect: ['b1', 'b2', 'c1', 'c2', 'c3', 'z1'],
        same: ['b1', 'b2', 'c1', 'c2', 'c3'],
        sameObject: [],
      },
      {
        what: 'the first file gains a document: later orders shift',
        edit: () => writeFileSync(join(dir, 'b.yaml'), serviceEntry('b0') + '---\n' + serviceEntry('b1') + '---\n' + unknownKind + '---\n' + serviceEntry('b2')),
        expect: ['b0', 'b1', 'b2', 'c1', 'c2', 'c3', 'z1'],
        same: [],
        sameObject: ['c1', 'c2', 'c3', 'z1'],
      },
      {
        what: 'a new file sorts first',
        edit: () => writeFileSync(join(dir, 'a.yaml'), serviceEntry('a1') + '---\n' + badYaml),
        expect: ['a1', 'b0', 'b1', 'b2', 'c1', 'c2', 'c3', 'z1'],
        same: [],
        sameObject: ['b0', 'b1', 'b2', 'c1', 'c2', 'c3', 'z1'],
      },
      {
        what: 'a middle file loses a resource',
        edit: () => writeFileSync(join(dir, 'm', 'c.yaml'), list('c1', 'c3')),
        expect: ['a1', 'b0', 'b1', 'b2', 'c1', 'c3', 'z1'],
        same: ['a1', 'b0', 'b1', 'b2'],
        sameObject: [],
      },
      {
        what: 'the first two files are deleted',
        edit: () => {
          unlinkSync(join(dir, 'a.yaml'));
          unlinkSync(join(dir, 'b.yaml'));
        },
        expect: ['c1', 'c3', 'z1'],
        same: [],
        sameObject: ['c1', 'c3', 'z1'],
      },
      {
        what: 'the first file is back as it was first read: orders return to those first parsed',
        edit: () => writeFileSync(join(dir, 'b.yaml'), serviceEntry('b1') + '---\n' + unknownKind + '---\n' + serviceEntry('b2')),
        expect: ['b1', 'b2', 'c1', 'c3', 'z1'],
        same: [],
        sameObject: ['c1', 'c3', 'z1'],
      },
      {
        what: 'the last file gains a document',
        edit: () => writeFileSync(join(dir, 'z.yaml'), serviceEntry('z1') + '---\n' + serviceEntry('z2')),
        expect: ['b1', 'b2', 'c1', 'c3', 'z1', 'z2'],
        same: ['b1', 'b2', 'c1', 'c3'],
        sameObject: [],
      },
    ];
    for (const step of steps) {
      const seen = q.all.length;
      step.edit();
      const u = await q.next(seen, (x) => names(x).join() === step.expect.join());
      assert.deepEqual(project(u), project(await freshRead(dir)), step.what);
      const before = byName(prev);
      const after = byName(u);
      for (const n of step.same) assert.equal(after.get(n), before.get(n), `${step.what}: ${n} keeps its Located`);
      for (const n of [...step.same, ...step.sameObject]) {
        assert.equal(after.get(n)!.object, before.get(n)!.object, `${step.what}: ${n} keeps its object`);
      }
      const orders = u.resources.map((r) => r.origin.order);
      assert.deepEqual(orders, orders.map((_, i) => ORDER_BASE + i), `${step.what}: orders are a running index`);
      prev = u;
    }
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
