// Config in → snapshot out. `GOLDEN_UPDATE=1` rewrites the *.out.json files; review them as a diff.
// Inputs are fixed (certificates valid until 2126) and the clock is pinned, so outputs never drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpSnapshot } from '../../core/snapshot.js';
import { compileSnapshot } from '../../routes/compile/index.js';
import { parseManifests } from '../../routes/parse.js';
import { DEFAULT_OPTIONS } from '../simulate/support.js';

// dist/test/golden → the source tree's test/golden, where inputs and expected outputs live.
const goldenDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'golden');
const update = process.env.GOLDEN_UPDATE === '1';
const inputs = fs.readdirSync(goldenDir).filter((f) => f.endsWith('.in.yaml')).sort();

test('golden inputs exist', () => {
  assert.ok(inputs.length >= 5, `found ${inputs.join(', ')}`);
});

for (const input of inputs) {
  test(`golden: ${input}`, () => {
    const text = fs.readFileSync(path.join(goldenDir, input), 'utf8');
    const parsed = parseManifests([{ path: input, text }], { defaultNamespace: 'default' });
    assert.deepEqual(parsed.diagnostics.filter((d) => d.severity === 'error'), []);
    const result = compileSnapshot(parsed.resources, { ...DEFAULT_OPTIONS, now: new Date('2030-01-01T00:00:00Z') });
    const actual = dumpSnapshot(result.body) + '\n';
    const outFile = path.join(goldenDir, input.replace(/\.in\.yaml$/, '.out.json'));
    if (update) {
      fs.writeFileSync(outFile, actual);
      return;
    }
    assert.ok(fs.existsSync(outFile), `${outFile} missing: run with GOLDEN_UPDATE=1`);
    assert.equal(actual, fs.readFileSync(outFile, 'utf8'));
  });
}
