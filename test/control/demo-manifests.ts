// Test support: the bundled demo manifests as ManifestFiles, the usual compile options, and a Secret for
// the demo's credentialName, so builds run over a realistic configuration.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompileOptions } from '../../routes/compile/index.js';
import type { ManifestFile } from '../../routes/parse.js';

/** dist/test/control → the checkout root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEMO_DIR = join(REPO_ROOT, 'examples', 'demo');

export function demoFiles(): ManifestFile[] {
  return readdirSync(DEMO_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ path: `examples/demo/${f}`, text: readFileSync(join(DEMO_DIR, f), 'utf8') }));
}

export const compileOptions: CompileOptions = {
  identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'gatehouse' },
  domainSuffix: 'cluster.local',
};

/** Replaces `from` with `to` in one file's text; fails loudly when the text is not there. */
export function edit(files: readonly ManifestFile[], path: string, from: string, to: string): ManifestFile[] {
  return files.map((f) => {
    if (!f.path.endsWith(path)) return f;
    if (!f.text.includes(from)) throw new Error(`${path} does not contain ${JSON.stringify(from)}`);
    return { path: f.path, text: f.text.replace(from, to) };
  });
}
