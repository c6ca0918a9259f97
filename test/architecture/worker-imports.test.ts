// A `--workers` worker loads the data plane and nothing of the control plane: no YAML parser, no
// certificate building, no config sources, no fastify (raw data path), no prom-client (its istio_* series
// go to the primary as JSON from cli/worker-metrics.ts). Checked on the compiled modules a worker can reach through
// static imports from the entry point (the dynamic imports of other commands are not taken in a worker).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

/** Local modules (relative to dist) and packages reachable from the entries. */
function reach(entries: readonly string[]): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const todo = entries.map((e) => join(DIST, e));
  while (todo.length > 0) {
    const file = todo.pop()!;
    const rel = file.slice(DIST.length + 1);
    if (modules.has(rel)) continue;
    modules.add(rel);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return { modules, packages };
}

test('a worker reaches no control plane, YAML parser, certificate builder or prom-client', () => {
  const { modules, packages } = reach(['cli/main.js', 'cli/worker.js']);
  assert.ok(modules.has('gateway/index.js'), 'the walk follows the worker into the data plane');
  // fastify serves the primary's admin ports and the optional fastify data path, imported only when chosen.
  for (const pkg of ['yaml', 'node-forge', 'fastify', 'prom-client']) assert.ok(!packages.has(pkg), `${pkg} is not loaded by a worker`);
  const forbidden = [...modules].filter((m) => /^(control|certs|k8s)\/|^routes\/(parse|validate|compile)|^cli\/(serve|demo|certs|validate)\.js$/.test(m));
  assert.deepEqual(forbidden, []);
});
