// The dependency rule, kept by a test: core ← routes ← control ← k8s; core ← certs ← control;
// gateway ← core + routes/match; cli → everything. routes/ is pure (no fs, net, timers).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Which top-level folders each folder may import from (itself always allowed). */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  routes: ['core'],
  certs: ['core'],
  control: ['core', 'routes', 'certs'],
  k8s: ['core', 'routes', 'control', 'certs'],
  gateway: ['core', 'routes/match'],
  cli: ['core', 'routes', 'certs', 'control', 'k8s', 'gateway'],
};
const PURE = ['routes', 'core'];
const IMPURE_MODULES = /^(node:)?(fs|fs\/promises|net|tls|http|https|http2|dgram|dns|child_process|timers|timers\/promises|worker_threads)$/;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  // `import type` has no runtime effect (verbatimModuleSyntax erases it), so it does not count.
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s(?!type\s)[^;]*?from\s+['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  return specs;
}

test('each folder imports only the folders below it', () => {
  const violations: string[] = [];
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    const dir = join(ROOT, folder);
    let files: string[];
    try {
      files = sources(dir);
    } catch {
      continue;
    }
    for (const file of files) {
      for (const spec of imports(file)) {
        if (!spec.startsWith('.')) {
          if (PURE.includes(folder) && IMPURE_MODULES.test(spec)) violations.push(`${relative(ROOT, file)} imports ${spec} (must stay pure)`);
          continue;
        }
        const target = relative(ROOT, resolve(dirname(file), spec)).replace(/\.js$/, '');
        const top = target.split('/')[0]!;
        if (top === folder) continue;
        const ok = allowed.some((a) => target === a || target.startsWith(a + '/') || (a.includes('/') && target === a));
        if (!ok) violations.push(`${relative(ROOT, file)} imports ${spec} (${folder} may import ${allowed.join(', ') || 'nothing'})`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('the rule itself catches a violation', () => {
  // A test that cannot fail is a defect: check the matcher on a known-bad pair.
  const target = 'control/index';
  assert.equal(ALLOWED.gateway!.some((a) => target === a || target.startsWith(a + '/')), false);
});
