// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Usage: node scripts/run-tests.mjs [substring ...]  — only files whose path contains one of the substrings.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/test';
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(root);
// tsc never deletes output: a test whose source was removed or renamed would still run from dist/.
const stale = files.filter((f) => !existsSync(join('test', relative(root, f)).replace(/\.js$/, '.ts')));
if (stale.length) console.log(`not running ${stale.length} compiled test file(s) whose source is gone: ${stale.map((f) => relative(root, f)).join(' ')}`);
for (const f of stale) files.splice(files.indexOf(f), 1);
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (selected.length === 0) {
  console.error(`no test files under ${root}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
console.log(`running ${selected.length} test files: ${selected.map((f) => relative(root, f)).join(' ')}`);
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', ...selected],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
