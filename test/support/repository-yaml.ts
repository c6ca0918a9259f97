// The repository's own YAML (examples/ and the test fixtures), as manifest files with paths relative to
// the repository root: a corpus for tests that compare readers or encodings over real manifests.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ManifestFile } from '../../routes/parse.js';

/** The repository root (from dist/test/support). */
export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function repositoryYamlFiles(): ManifestFile[] {
  const files: ManifestFile[] = [];
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(entry.name)) files.push({ path: path.relative(REPOSITORY_ROOT, full), text: fs.readFileSync(full, 'utf8') });
    }
  };
  walk(path.join(REPOSITORY_ROOT, 'examples'));
  walk(path.join(REPOSITORY_ROOT, 'test'));
  return files;
}
